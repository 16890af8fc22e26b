import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { type ExperimentSummary, keepCaveat } from "../../src/dashboard/model.js";
import { fill, h } from "./dom.js";
import { isBetter } from "../../src/metric/compare.js";
import { type Direction, delta, fmtDelta, fmtMetric } from "./format.js";

/** The noise band's lower edge: a series of its own, with no legend entry (an empty label would read "Value"). */
const LOWER_EDGE = "noise band, lower edge";

const COLORS = { keep: "#1a9850", discard: "#9e9e9e", crash: "#d73027", best: "#2166ac", baseline: "#7f7f7f", band: "rgba(33,102,172,0.10)" };

export interface ChartInput {
  experiments: ExperimentSummary[];
  direction: Direction;
  metricName: string;
  noise: number | null;
  onOpen: (id: number) => void;
}

/**
 * The progress chart (uPlot): every experiment a point by status, crashes drawn on the running
 * best line (they have no metric), the running best as steps, the baseline and, when the noise
 * is known, a band of ±1 noise around the running best. Drag to zoom to a range of
 * experiments, double-click or "Reset zoom" to see all; hover for details; click to open one.
 */
export class ProgressChart {
  readonly root: HTMLElement;
  private readonly tip: HTMLElement;
  private plot: uPlot | null = null;
  private zoomed = false;
  private input: ChartInput;
  private byIndex: ExperimentSummary[] = [];
  private downX = 0;
  private hasBand = false;

  constructor(input: ChartInput) {
    this.input = input;
    this.tip = h("div", { class: "chart-tip", hidden: true });
    const reset = h("button", { type: "button", class: "small", onclick: () => this.resetZoom() }, "Reset zoom");
    this.root = h("section", { class: "card chart-card" }, h("div", { class: "card-head" }, h("h2", {}, "Progress"), h("span", { class: "hint" }, "drag to zoom · double-click to reset · click a point to open it"), reset), this.tip);
  }

  /** Draws into the page (uPlot needs the element in the document to measure it). */
  mount(): void {
    this.hasBand = this.input.noise !== null;
    const data = this.data();
    const width = Math.max(320, this.root.clientWidth - 32);
    const opts: uPlot.Options = {
      width,
      height: 320,
      scales: { x: { time: false } },
      // Experiments are whole numbers: no ticks between them.
      axes: [{ label: "experiment", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] }, { label: this.input.metricName, size: 80 }],
      legend: { show: true, live: false },
      cursor: { drag: { x: true, y: false, setScale: true }, points: { show: false } },
      series: [
        { label: "experiment" },
        pointSeries("kept", COLORS.keep, 8),
        pointSeries("discarded", COLORS.discard, 7),
        pointSeries("crashed", COLORS.crash, 8),
        { label: "running best", stroke: COLORS.best, width: 2, paths: uPlot.paths.stepped?.({ align: 1 }), points: { show: false } },
        { label: "baseline", stroke: COLORS.baseline, dash: [6, 4], width: 1, points: { show: false } },
        ...(this.hasBand ? [bandEdge("noise band (±1σ)"), bandEdge(LOWER_EDGE)] : []),
      ],
      bands: this.hasBand ? [{ series: [6, 7], fill: COLORS.band }] : [],
      hooks: {
        setCursor: [(u) => this.hover(u)],
        setSelect: [() => (this.zoomed = true)],
        ready: [(u) => this.wire(u)],
      },
    };
    this.plot = new uPlot(opts, data, this.root);
  }

  update(input: ChartInput): void {
    this.input = input;
    if (!this.plot) return;
    if ((input.noise !== null) !== this.hasBand) {
      // The noise became known (or the session changed): the band is a pair of series.
      this.plot.destroy();
      this.plot = null;
      this.mount();
      return;
    }
    // Keep the user's zoom while new points arrive; otherwise follow the data.
    this.plot.setData(this.data(), !this.zoomed);
  }

  resize(): void {
    if (this.plot) this.plot.setSize({ width: Math.max(320, this.root.clientWidth - 32), height: 320 });
  }

  private resetZoom(): void {
    this.zoomed = false;
    this.plot?.setData(this.data(), true);
  }

  private wire(u: uPlot): void {
    // The band's lower edge needs no legend entry of its own. Found by its label: the legend has
    // no row for the x series when it is not live, so a position would name another entry.
    for (const row of u.root.querySelectorAll<HTMLElement>(".u-legend .u-series")) {
      if (row.querySelector(".u-label")?.textContent === LOWER_EDGE) row.style.display = "none";
    }
    u.over.addEventListener("dblclick", () => (this.zoomed = false));
    u.over.addEventListener("mousedown", (e) => (this.downX = e.clientX));
    u.over.addEventListener("click", (e) => {
      if (Math.abs(e.clientX - this.downX) > 3) return; // that was a drag (zoom)
      const idx = u.cursor.idx;
      const exp = idx === null || idx === undefined ? undefined : this.byIndex[idx];
      if (exp) this.input.onOpen(exp.id);
    });
    u.over.addEventListener("mouseleave", () => (this.tip.hidden = true));
  }

  private hover(u: uPlot): void {
    const idx = u.cursor.idx;
    const exp = idx === null || idx === undefined ? undefined : this.byIndex[idx];
    if (!exp || u.cursor.left === undefined || u.cursor.left < 0) {
      this.tip.hidden = true;
      return;
    }
    const d = delta(exp);
    fill(this.tip, 
      h("div", { class: "tip-title" }, `#${exp.id} `, h("span", { class: `status ${exp.status}` }, exp.status)),
      h("div", { class: "tip-desc" }, exp.description),
      h("div", {}, `${this.input.metricName} ${fmtMetric(exp.metric)}${d === null ? "" : `  (${fmtDelta(d)} vs best)`}`),
      exp.status === "keep" ? null : h("div", { class: "muted" }, exp.detail ?? exp.reason),
      ((caveat) => (caveat ? h("div", { class: "within-noise" }, `⚠ ${caveat}`) : null))(keepCaveat(exp, this.input.direction, this.input.noise)),
    );
    this.tip.hidden = false;
    const left = (u.cursor.left ?? 0) + u.over.offsetLeft;
    const top = (u.cursor.top ?? 0) + u.over.offsetTop;
    const flip = left > u.over.clientWidth * 0.6;
    this.tip.style.left = `${flip ? left - this.tip.offsetWidth - 12 : left + 12}px`;
    this.tip.style.top = `${Math.max(0, top - 10)}px`;
  }

  private data(): uPlot.AlignedData {
    const { experiments, noise } = this.input;
    const sorted = [...experiments].sort((a, b) => a.id - b.id);
    this.byIndex = sorted;
    const n = sorted.length;
    const x = new Array<number>(n);
    const kept = new Array<number | null>(n).fill(null);
    const discarded = new Array<number | null>(n).fill(null);
    const crashed = new Array<number | null>(n).fill(null);
    const best = new Array<number | null>(n).fill(null);
    const baseline = new Array<number | null>(n).fill(null);
    const lo = new Array<number | null>(n).fill(null);
    const hi = new Array<number | null>(n).fill(null);
    const base = sorted.find((e) => e.id === 0)?.metric ?? null;
    let running: number | null = null;
    for (let i = 0; i < n; i++) {
      const e = sorted[i] as ExperimentSummary;
      x[i] = e.id;
      if (e.status === "keep" && e.metric !== null) {
        // The best so far is the research tree's head: a keep beat its own parent, which is not
        // always the best (a node in another branch can be better).
        if (running === null || isBetter(e.metric, running, this.input.direction)) running = e.metric;
        kept[i] = e.metric;
      } else if (e.status === "discard") discarded[i] = e.metric;
      else if (e.status === "crash") crashed[i] = running ?? base;
      best[i] = running;
      baseline[i] = base;
      if (noise !== null && running !== null) {
        lo[i] = running - noise;
        hi[i] = running + noise;
      }
    }
    return this.hasBand ? [x, kept, discarded, crashed, best, baseline, hi, lo] : [x, kept, discarded, crashed, best, baseline];
  }
}

function bandEdge(label: string): uPlot.Series {
  // No fill of its own (that would fill down to the axis): the band fills between the two edges.
  return { label, stroke: COLORS.band, width: 1, paths: uPlot.paths.stepped?.({ align: 1 }), points: { show: false } };
}

function pointSeries(label: string, color: string, size: number): uPlot.Series {
  return { label, stroke: color, fill: color, paths: () => null, points: { show: true, size, stroke: color, fill: color, space: 0 } };
}
