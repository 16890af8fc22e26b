import type { LiveState } from "../../src/dashboard/live.js";
import { h } from "./dom.js";
import { fmtDuration, fmtMetric } from "./format.js";

const MAX_LOG_CHARS = 64 * 1024;

/**
 * What is running now: per run, the experiment, elapsed / budget as a bar, the last metric seen
 * and its log tail as it streams; the proposal in progress. Redrawn every 250 ms for the clocks.
 */
export class LivePanel {
  readonly root: HTMLElement;
  private state: LiveState | null = null;
  private running = false;
  private metricName = "metric";
  private readonly logs = new Map<number, string>();
  private readonly logEls = new Map<number, HTMLPreElement>();
  private readonly timer: number;

  constructor() {
    this.root = h("section", { class: "card live", hidden: true });
    this.timer = window.setInterval(() => this.tick(), 250);
  }

  dispose(): void {
    window.clearInterval(this.timer);
  }

  set(state: LiveState, running: boolean, metricName: string): void {
    this.state = state;
    this.running = running;
    this.metricName = metricName;
    for (const id of [...this.logs.keys()]) if (!state.runs.some((r) => r.iteration === id)) this.logs.delete(id);
    this.render();
  }

  appendLog(id: number, text: string): void {
    const next = ((this.logs.get(id) ?? "") + text).slice(-MAX_LOG_CHARS);
    this.logs.set(id, next);
    const el = this.logEls.get(id);
    if (el) {
      const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
      el.textContent = next;
      if (atBottom) el.scrollTop = el.scrollHeight;
    }
  }

  private render(): void {
    const s = this.state;
    this.logEls.clear();
    if (!s || !this.running || (s.runs.length === 0 && !s.proposal && !s.pipeline)) {
      this.root.hidden = true;
      this.root.replaceChildren();
      return;
    }
    this.root.hidden = false;
    const children: HTMLElement[] = [h("h2", {}, "Now")];
    if (s.pipeline) {
      const p = s.pipeline;
      children.push(h("div", { class: "pipeline muted" }, `proposing ${p.proposing} · ready ${p.ready} · running ${p.running}/${p.workers}`));
    }
    if (s.proposal) {
      const p = s.proposal;
      children.push(
        h(
          "div",
          { class: "proposal" },
          h("span", { class: "spinner", "aria-hidden": "true" }),
          ` experiment ${p.iteration}: `,
          p.description ? h("span", {}, "applying ", h("q", {}, p.description)) : "proposing a change…",
          h("span", { class: "muted clock", "data-since": p.since ?? "" }),
          p.rejected ? h("div", { class: "muted" }, "refused: ", p.rejected) : null,
        ),
      );
    }
    // By worker when the session has several, so each keeps its place as runs come and go.
    const runs = [...s.runs].sort((a, b) => (a.worker ?? 0) - (b.worker ?? 0) || a.iteration - b.iteration);
    for (const run of runs) {
      const log = h("pre", { class: "code log live-log" }, this.logs.get(run.iteration) ?? "");
      this.logEls.set(run.iteration, log);
      const where = [run.host, run.device].filter((p) => p !== null && p !== "").join(":");
      const worker = run.worker === null ? null : h("span", { class: "worker" }, `w${run.worker}${where ? ` [${where}]` : ""}`);
      const progress = run.pendingJob
        ? h("div", { class: "pending" }, `pending in queue (job ${run.pendingJob})`, h("span", { class: "muted clock", "data-since": run.since ?? "" }))
        : h("div", { class: "bar" }, h("div", { class: "fill", "data-since": run.since ?? "", "data-budget": run.budgetSec }));
      children.push(
        h(
          "div",
          { class: "run", "data-iteration": run.iteration, ...(run.worker !== null && { "data-worker": run.worker }) },
          h("div", { class: "run-head" }, worker, worker ? " " : null, h("strong", {}, `#${run.iteration}`), " ", h("span", {}, run.description), " ", h("code", {}, run.commit.slice(0, 7))),
          progress,
          h("div", { class: "muted" }, run.pendingJob ? null : h("span", { class: "clock", "data-since": run.since ?? "", "data-budget": run.budgetSec }), ` · last ${this.metricName}: ${fmtMetric(run.lastMetric)}`),
          log,
        ),
      );
    }
    this.root.replaceChildren(...children);
    this.tick();
    for (const el of this.logEls.values()) el.scrollTop = el.scrollHeight;
  }

  private tick(): void {
    if (this.root.hidden) return;
    const now = Date.now();
    for (const el of this.root.querySelectorAll<HTMLElement>("[data-since]")) {
      const since = Date.parse(el.dataset.since ?? "");
      if (Number.isNaN(since)) continue;
      const elapsed = Math.max(0, (now - since) / 1000);
      const budget = Number(el.dataset.budget ?? "0");
      if (el.classList.contains("fill")) el.style.width = `${Math.min(100, (elapsed / Math.max(budget, 1)) * 100)}%`;
      else el.textContent = budget > 0 ? `${fmtDuration(elapsed)} / ${fmtDuration(budget)}` : ` ${fmtDuration(elapsed)}`;
    }
  }
}
