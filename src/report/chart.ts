import { oneLine } from "../text.js";
import { formatInteger, formatMetric, formatPercent, shortCommit, truncate } from "./format.js";
import { describeDirection, gain } from "../metric/index.js";
import { type ReportExperiment, type SessionData, analyze } from "./model.js";
import { formatRate, formatShare, workersView } from "./workers.js";

/**
 * The progress chart, like Karpathy's progress.png: every experiment a point (kept highlighted
 * and labelled, discarded faded, crashes as marks on the x axis), the running best as a step
 * line. Built as an SVG string; `png.ts` rasterises it. Every mark has class `pt` plus its
 * kind, so tests and tools can count them.
 */

export interface ChartOptions {
  width?: number;
  height?: number;
  /** Above this many discarded (or crashed) points, they are thinned per pixel column. */
  maxPoints?: number;
  /** Kept experiments labelled with their description (the biggest gains first). */
  maxLabels?: number;
  /** Per-point tooltips (<title>) up to this many experiments. */
  maxTooltips?: number;
}

export const CHART_FONT = "DejaVu Sans, Liberation Sans, Noto Sans, Arial, Helvetica, sans-serif";

const COLORS = {
  keep: "#2ca02c",
  keepStroke: "#1b5e20",
  discard: "#7d858d",
  crash: "#d62728",
  best: "#2ca02c",
  baseline: "#1f77b4",
  grid: "#e6e6e6",
  axis: "#444444",
  text: "#222222",
  muted: "#666666",
};

/** Escaped for XML text and attributes; characters XML cannot hold at all are removed first. */
function esc(text: string): string {
  return oneLine(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function n(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * Width in px of 11 px DejaVu Sans text (the chart's first font), rounded up per character
 * class from measured advances: a label placed with this width stays inside the picture.
 */
export function labelWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    if (/[MWmw@%…]/.test(ch)) w += 11;
    else if (/[ .,:;'!|ijlI()[\]]/.test(ch)) w += 4;
    else if (/[a-z]/.test(ch)) w += 6.5;
    else if (/[0-9]/.test(ch)) w += 7.1;
    else w += 7.7; // capitals, symbols and anything else: as wide as a capital
  }
  return w;
}

/** The longest cut of `text` (with an ellipsis) whose width fits `room`, or null below 8 characters. */
function fitLabel(text: string, room: number): string | null {
  const length = Array.from(text).length;
  for (let chars = length; chars >= Math.min(8, length); chars--) {
    const cut = truncate(text, chars);
    if (labelWidth(cut) <= room) return cut;
  }
  return null;
}

/** "Nice" ticks (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power) as number;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function tickLabel(value: number, step: number): string {
  if (step >= 1 && Number.isInteger(value)) return String(value);
  const decimals = Math.min(8, Math.max(0, Math.ceil(-Math.log10(step)) + 1));
  return value.toFixed(decimals);
}

interface Mark {
  e: ReportExperiment;
  x: number;
  y: number;
  clipped: "" | "above" | "below";
}

export function renderChartSvg(data: SessionData, options: ChartOptions = {}): string {
  const W = options.width ?? 1200;
  const H = options.height ?? 640;
  const maxPoints = options.maxPoints ?? 2000;
  const maxLabels = options.maxLabels ?? 30;
  const maxTooltips = options.maxTooltips ?? 2000;
  const a = analyze(data);
  const experiments = data.experiments;
  const left = 96;
  const right = W - 36;
  const top = 84;
  const bottom = H - 78;

  // x domain: experiment numbers.
  const lastX = Math.max(1, a.lastIteration, ...(experiments.length > 0 ? [(experiments[0] as ReportExperiment).iteration] : []));
  const firstX = Math.min(0, experiments[0]?.iteration ?? 0);
  const xPad = (lastX - firstX) * 0.02 || 0.5;
  const xLo = firstX - xPad;
  const xHi = lastX + xPad;
  const sx = (v: number) => left + ((v - xLo) / (xHi - xLo)) * (right - left);

  // y domain: every metric, but far outliers are clipped to the edge (drawn as triangles).
  let allLo = Number.POSITIVE_INFINITY;
  let allHi = Number.NEGATIVE_INFINITY;
  let keptLo = Number.POSITIVE_INFINITY;
  let keptHi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < experiments.length; i++) {
    const e = experiments[i] as ReportExperiment;
    if (e.metric === null) continue;
    if (e.metric < allLo) allLo = e.metric;
    if (e.metric > allHi) allHi = e.metric;
    if (i === 0 || e.status === "keep") {
      if (e.metric < keptLo) keptLo = e.metric;
      if (e.metric > keptHi) keptHi = e.metric;
    }
  }
  const hasMetric = Number.isFinite(allLo);
  let yLo = 0;
  let yHi = 1;
  if (hasMetric) {
    if (!Number.isFinite(keptLo)) {
      keptLo = allLo;
      keptHi = allHi;
    }
    const span = keptHi - keptLo || allHi - allLo || Math.abs(keptLo) * 0.01 || 1;
    // Far outliers (a diverged run) are clipped; the range then fits the remaining points.
    const limitLo = keptLo - 3 * span;
    const limitHi = keptHi + 3 * span;
    yLo = keptLo;
    yHi = keptHi;
    for (const e of experiments) {
      if (e.metric === null || e.metric < limitLo || e.metric > limitHi) continue;
      if (e.metric < yLo) yLo = e.metric;
      if (e.metric > yHi) yHi = e.metric;
    }
    if (yHi - yLo < 1e-12) {
      const pad = Math.abs(yLo) * 0.01 || 0.5;
      yLo -= pad;
      yHi += pad;
    }
    const yPad = (yHi - yLo) * 0.06;
    yLo -= yPad;
    yHi += yPad;
  }
  const sy = (v: number) => bottom - ((v - yLo) / (yHi - yLo)) * (bottom - top);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${CHART_FONT}">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
  );

  // Title and subtitle.
  const title = `AutoResearch Progress: ${formatInteger(a.iterations)} Experiment${a.iterations === 1 ? "" : "s"}, ${formatInteger(a.kept.length)} Kept Improvement${a.kept.length === 1 ? "" : "s"}`;
  const better = describeDirection(data.direction);
  const subtitleParts = [`${data.metricName} (${better})`];
  if (a.best && a.baseline) {
    subtitleParts.push(`baseline ${formatMetric(a.baselineMetric)}`);
    subtitleParts.push(`best ${formatMetric(a.bestMetric)} at #${a.best.iteration} (${shortCommit(a.best.commit)}, ${formatPercent(a.improvementPct)})`);
  }
  if (a.counts.crash > 0) subtitleParts.push(`${formatInteger(a.counts.crash)} crashed`);
  out.push(
    `<text x="${W / 2}" y="30" text-anchor="middle" font-size="20" font-weight="bold" fill="${COLORS.text}">${esc(title)}</text>`,
    `<text x="${W / 2}" y="52" text-anchor="middle" font-size="13" fill="${COLORS.muted}">${esc(subtitleParts.join("  ·  "))}</text>`,
  );

  // Grid, ticks and axes.
  const yTicks = hasMetric ? niceTicks(yLo, yHi, 6) : [];
  const yStep = yTicks.length > 1 ? (yTicks[1] as number) - (yTicks[0] as number) : 1;
  const xTicks = niceTicks(Math.max(0, xLo), xHi, 10).filter((t) => Number.isInteger(t) && t >= firstX && t <= lastX);
  out.push(`<g stroke="${COLORS.grid}" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${left}" x2="${right}" y1="${n(sy(t))}" y2="${n(sy(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${n(sx(t))}" x2="${n(sx(t))}" y1="${top}" y2="${bottom}"/>`);
  out.push("</g>");
  out.push(
    `<g stroke="${COLORS.axis}" stroke-width="1.2" fill="none"><line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}"/><line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}"/></g>`,
  );
  out.push(`<g font-size="12" fill="${COLORS.text}">`);
  for (const t of yTicks) out.push(`<text x="${left - 8}" y="${n(sy(t) + 4)}" text-anchor="end">${esc(tickLabel(t, yStep))}</text>`);
  for (const t of xTicks) out.push(`<text x="${n(sx(t))}" y="${bottom + 22}" text-anchor="middle">${t}</text>`);
  out.push("</g>");
  out.push(
    `<text x="${(left + right) / 2}" y="${H - 38}" text-anchor="middle" font-size="14" fill="${COLORS.text}">Experiment #</text>`,
    `<text x="22" y="${(top + bottom) / 2}" text-anchor="middle" font-size="14" fill="${COLORS.text}" transform="rotate(-90 22 ${(top + bottom) / 2})">${esc(`${data.metricName} (${better})`)}</text>`,
  );
  if (!hasMetric) {
    out.push(
      `<text x="${(left + right) / 2}" y="${(top + bottom) / 2}" text-anchor="middle" font-size="16" fill="${COLORS.muted}">${experiments.length === 0 ? "no experiments yet" : "no metric recorded: every experiment crashed"}</text>`,
    );
  }

  // Points.
  const marks = (e: ReportExperiment): Mark | null => {
    if (e.metric === null) return null;
    const clipped = e.metric > yHi ? "above" : e.metric < yLo ? "below" : "";
    const v = Math.min(yHi, Math.max(yLo, e.metric));
    return { e, x: sx(e.iteration), y: sy(v), clipped };
  };
  const tooltips = experiments.length <= maxTooltips;
  const tip = (e: ReportExperiment) =>
    tooltips ? `<title>${esc(`#${e.iteration}${e.worker !== undefined ? ` (w${e.worker})` : ""} ${shortCommit(e.commit)} ${formatMetric(e.metric)} ${e.status}: ${truncate(e.description, 120)}`)}</title>` : "";
  const point = (m: Mark, cls: string, r: number) =>
    m.clipped
      ? `<path class="pt ${cls}" data-iter="${m.e.iteration}" data-clipped="${m.clipped}" d="M${n(m.x)} ${n(m.clipped === "above" ? m.y - r - 1 : m.y + r + 1)}l${r} ${m.clipped === "above" ? 2 * r : -2 * r}h${-2 * r}z">${tip(m.e)}</path>`
      : `<circle class="pt ${cls}" data-iter="${m.e.iteration}" cx="${n(m.x)}" cy="${n(m.y)}" r="${r}">${tip(m.e)}</circle>`;

  const discarded: ReportExperiment[] = [];
  const crashed: ReportExperiment[] = [];
  const kept: Mark[] = [];
  // Kept nodes in another branch of the research tree: they beat their own parent but the
  // research branch does not hold them, so they are drawn hollow and off the best's line.
  const keptOff: Mark[] = [];
  const onLineage = new Set(a.lineage.map((e) => e.iteration));
  let baselineMark: Mark | null = null;
  for (let i = 0; i < experiments.length; i++) {
    const e = experiments[i] as ReportExperiment;
    if (e.status === "crash" || e.metric === null) {
      crashed.push(e);
      continue;
    }
    if (i === 0) baselineMark = marks(e);
    else if (e.status === "keep") (onLineage.has(e.iteration) ? kept : keptOff).push(marks(e) as Mark);
    else discarded.push(e);
  }

  const totalDiscarded = discarded.length;
  // Mark objects only for what is drawn: 100k sessions stay light on memory.
  const shownDiscarded = (totalDiscarded > maxPoints ? thinExperiments(discarded, sx) : discarded).map((e) => marks(e) as Mark);
  // Grey but solid, with a white ring: visible on the grid and where points overlap.
  out.push(`<g class="discarded" fill="${COLORS.discard}" stroke="#ffffff" stroke-width="0.75">`);
  for (const m of shownDiscarded) out.push(point(m, "discard", 4));
  out.push("</g>");

  // The best's lineage: a step line from the baseline through every step of the research
  // branch (root to head); with one chain of keeps that is every kept experiment.
  // Steps within the same pixel column collapse into one (the path stays small at any size).
  const steps: Mark[] = [];
  if (baselineMark) steps.push(baselineMark);
  for (const m of kept) {
    const previous = steps[steps.length - 1];
    if (previous && steps.length > 1 && Math.round(previous.x) === Math.round(m.x)) steps[steps.length - 1] = m;
    else steps.push(m);
  }
  if (steps.length > 0) {
    const first = steps[0] as Mark;
    const parts = [`M${n(first.x)} ${n(first.y)}`];
    for (let i = 1; i < steps.length; i++) {
      const m = steps[i] as Mark;
      parts.push(`H${n(m.x)}V${n(m.y)}`);
    }
    parts.push(`H${n(sx(lastX))}`);
    const d = parts.join("");
    out.push(`<path class="running-best" d="${d}" fill="none" stroke="${COLORS.best}" stroke-width="2" stroke-opacity="0.8"/>`);
  }

  // Crashes: marks on the x axis (they have no metric).
  const shownCrashes = crashed.length > maxPoints ? thinCrashes(crashed, sx) : crashed;
  out.push(`<g class="crashes" stroke="${COLORS.crash}" stroke-width="2" fill="none">`);
  for (const e of shownCrashes) {
    const x = sx(e.iteration);
    out.push(
      `<path class="pt crash" data-iter="${e.iteration}" d="M${n(x - 4)} ${bottom - 4}l8 8m-8 0l8 -8">${tip(e)}</path>`,
    );
  }
  out.push("</g>");

  // Kept points and the baseline on top.
  if (keptOff.length > 0) {
    out.push(`<g class="kept-off-lineage" fill="#ffffff" stroke="${COLORS.keepStroke}" stroke-width="1.5">`);
    for (const m of keptOff.length > maxPoints ? thinByColumn(keptOff) : keptOff) out.push(point(m, "keep off-lineage", 4.5));
    out.push("</g>");
  }
  out.push(`<g class="kept" fill="${COLORS.keep}" stroke="${COLORS.keepStroke}" stroke-width="1">`);
  const shownKept = kept.length > maxPoints ? thinByColumn(kept) : kept;
  for (const m of shownKept) out.push(point(m, "keep", 5));
  out.push("</g>");
  if (baselineMark) {
    out.push(`<g fill="${COLORS.baseline}" stroke="#0d3c61" stroke-width="1">${point(baselineMark, "baseline", 5.5)}</g>`);
  }

  // Labels for kept changes, largest own gains first; a label that would overlap one already
  // placed is dropped, and labels are cut to stay inside the plot.
  const labelled = [...kept]
    .sort((x, y) => (gain(y.e.metric, y.e.bestBefore, data.direction) ?? 0) - (gain(x.e.metric, x.e.bestBefore, data.direction) ?? 0))
    .slice(0, maxLabels * 4);
  const placed: Segment[] = [];
  const angle = (28 * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  out.push(`<g class="labels" font-size="11" fill="${COLORS.keepStroke}">`);
  for (const m of labelled) {
    if (placed.length >= maxLabels) break;
    const description = oneLine(m.e.description);
    const wanted = truncate(description, 36);
    const y0 = m.y - 7;
    // Up and to the right of the point; near the right edge, up and to the left instead.
    const rightRoom = Math.min((W - 8 - (m.x + 6)) / cos, (y0 - top) / sin);
    const leftRoom = Math.min((m.x - 6 - left) / cos, (y0 - top) / sin);
    const toLeft = labelWidth(wanted) > rightRoom && leftRoom > rightRoom;
    const text = fitLabel(wanted, toLeft ? leftRoom : rightRoom);
    if (text === null) continue;
    const w = labelWidth(text);
    const x0 = toLeft ? m.x - 6 : m.x + 6;
    const segment: Segment = { x1: x0, y1: y0, x2: x0 + (toLeft ? -w : w) * cos, y2: y0 - w * sin };
    if (placed.some((p) => segmentDistance(p, segment) < 12)) continue;
    placed.push(segment);
    const x = n(x0);
    const y = n(y0);
    out.push(
      toLeft
        ? `<text class="label" x="${x}" y="${y}" text-anchor="end" transform="rotate(28 ${x} ${y})">${esc(text)}</text>`
        : `<text class="label" x="${x}" y="${y}" transform="rotate(-28 ${x} ${y})">${esc(text)}</text>`,
    );
  }
  if (baselineMark) {
    // Below the point, or above it when the point sits at the bottom of the picture.
    const y = baselineMark.y + 16 <= H - 4 ? baselineMark.y + 16 : baselineMark.y - 10;
    out.push(`<text class="label" x="${n(baselineMark.x + 8)}" y="${n(y)}" fill="${COLORS.baseline}">baseline</text>`);
  }
  out.push("</g>");

  // Legend.
  const ly = 72;
  let lx = left + 4;
  const legend: string[] = [];
  legend.push(`<circle cx="${lx}" cy="${ly - 4}" r="5" fill="${COLORS.keep}" stroke="${COLORS.keepStroke}"/>`);
  legend.push(`<text x="${lx + 10}" y="${ly}">kept</text>`);
  lx += 56;
  if (keptOff.length > 0) {
    legend.push(`<circle cx="${lx}" cy="${ly - 4}" r="4.5" fill="#ffffff" stroke="${COLORS.keepStroke}" stroke-width="1.5"/>`);
    legend.push(`<text x="${lx + 10}" y="${ly}">kept, another branch</text>`);
    lx += 150;
  }
  legend.push(`<circle cx="${lx}" cy="${ly - 4}" r="4" fill="${COLORS.discard}"/>`);
  legend.push(`<text x="${lx + 10}" y="${ly}">discarded</text>`);
  lx += 86;
  legend.push(`<circle cx="${lx}" cy="${ly - 4}" r="5" fill="${COLORS.baseline}" stroke="${COLORS.text}" stroke-width="0.75"/>`);
  legend.push(`<text x="${lx + 10}" y="${ly}">baseline</text>`);
  lx += 78;
  legend.push(`<path d="M${lx - 4} ${ly - 8}l8 8m-8 0l8 -8" stroke="${COLORS.crash}" stroke-width="2"/>`);
  legend.push(`<text x="${lx + 10}" y="${ly}">crash (no metric)</text>`);
  lx += 130;
  legend.push(`<line x1="${lx - 6}" x2="${lx + 14}" y1="${ly - 4}" y2="${ly - 4}" stroke="${COLORS.best}" stroke-width="2"/>`);
  legend.push(`<text x="${lx + 20}" y="${ly}">${keptOff.length > 0 ? "best's lineage" : "running best"}</text>`);
  out.push(`<g class="legend" font-size="12" fill="${COLORS.text}">${legend.join("")}</g>`);

  const notes: string[] = [];
  if (shownDiscarded.length < totalDiscarded) notes.push(`showing ${formatInteger(shownDiscarded.length)} of ${formatInteger(totalDiscarded)} discarded points`);
  if (shownKept.length < kept.length) notes.push(`showing ${formatInteger(shownKept.length)} of ${formatInteger(kept.length)} kept points`);
  if (shownCrashes.length < crashed.length) notes.push(`${formatInteger(shownCrashes.length)} marks for ${formatInteger(crashed.length)} crashes`);
  let clippedCount = kept.filter((m) => m.clipped).length;
  for (const e of discarded) if ((e.metric as number) > yHi || (e.metric as number) < yLo) clippedCount++;
  if (clippedCount > 0) notes.push(`${formatInteger(clippedCount)} outlier${clippedCount === 1 ? "" : "s"} drawn as triangles at the edge`);
  if (notes.length > 0) {
    out.push(`<text x="${right}" y="${H - 12}" text-anchor="end" font-size="11" fill="${COLORS.muted}">${esc(notes.join(" · "))}</text>`);
  }
  // Several workers: one note line, not a colour per worker (colour already says kept/discarded);
  // each point's tooltip names its worker.
  const workers = workersView(experiments, { startedAt: a.startedAt });
  if (workers) {
    const text = `workers (experiments/hour, busy): ${workers.workers.map((w) => `w${w.worker} ${formatRate(w.perHour)}/h ${formatShare(w.utilisation)}`).join(" · ")}`;
    out.push(`<text class="workers" x="${left}" y="${H - 12}" font-size="11" fill="${COLORS.muted}">${esc(truncate(text, notes.length > 0 ? 80 : 160))}</text>`);
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

interface Segment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

function pointSegmentDistance(px: number, py: number, s: Segment): number {
  const dx = s.x2 - s.x1;
  const dy = s.y2 - s.y1;
  const length2 = dx * dx + dy * dy;
  const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - s.x1) * dx + (py - s.y1) * dy) / length2));
  return Math.hypot(px - (s.x1 + t * dx), py - (s.y1 + t * dy));
}

/** Shortest distance between two line segments (labels are thin slanted strips). */
function segmentDistance(a: Segment, b: Segment): number {
  const cross = (ax: number, ay: number, bx: number, by: number) => ax * by - ay * bx;
  const d1 = cross(b.x2 - b.x1, b.y2 - b.y1, a.x1 - b.x1, a.y1 - b.y1);
  const d2 = cross(b.x2 - b.x1, b.y2 - b.y1, a.x2 - b.x1, a.y2 - b.y1);
  const d3 = cross(a.x2 - a.x1, a.y2 - a.y1, b.x1 - a.x1, b.y1 - a.y1);
  const d4 = cross(a.x2 - a.x1, a.y2 - a.y1, b.x2 - a.x1, b.y2 - a.y1);
  if (d1 * d2 < 0 && d3 * d4 < 0) return 0;
  return Math.min(
    pointSegmentDistance(a.x1, a.y1, b),
    pointSegmentDistance(a.x2, a.y2, b),
    pointSegmentDistance(b.x1, b.y1, a),
    pointSegmentDistance(b.x2, b.y2, a),
  );
}

/** Per pixel column, the highest and the lowest metric: the cloud keeps its shape. */
function thinExperiments(list: ReportExperiment[], sx: (v: number) => number): ReportExperiment[] {
  const columns = new Map<number, { lo: ReportExperiment; hi: ReportExperiment }>();
  for (const e of list) {
    const key = Math.round(sx(e.iteration));
    const c = columns.get(key);
    if (!c) columns.set(key, { lo: e, hi: e });
    else {
      if ((e.metric as number) < (c.lo.metric as number)) c.lo = e;
      if ((e.metric as number) > (c.hi.metric as number)) c.hi = e;
    }
  }
  const out: ReportExperiment[] = [];
  for (const c of columns.values()) {
    out.push(c.hi);
    if (c.lo !== c.hi) out.push(c.lo);
  }
  return out;
}

/** Keeps, per pixel column, the highest and lowest point: the cloud keeps its shape. */
function thinByColumn(points: Mark[]): Mark[] {
  const columns = new Map<number, { lo: Mark; hi: Mark }>();
  for (const m of points) {
    const key = Math.round(m.x);
    const c = columns.get(key);
    if (!c) columns.set(key, { lo: m, hi: m });
    else {
      if (m.y > c.lo.y) c.lo = m;
      if (m.y < c.hi.y) c.hi = m;
    }
  }
  const out: Mark[] = [];
  for (const c of columns.values()) {
    out.push(c.hi);
    if (c.lo !== c.hi) out.push(c.lo);
  }
  return out;
}

function thinCrashes(crashes: ReportExperiment[], sx: (v: number) => number): ReportExperiment[] {
  const seen = new Set<number>();
  const out: ReportExperiment[] = [];
  for (const e of crashes) {
    const key = Math.round(sx(e.iteration) / 3);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
