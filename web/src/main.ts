import { emptyLive, foldLive, type LiveState, type StampedEvent } from "../../src/dashboard/live.js";
import { type ExperimentSummary, gainCaveat, showsCost, summarize } from "../../src/dashboard/model.js";
import type { SessionSnapshot } from "../../src/dashboard/read.js";
import { finalizeSection } from "./finalize.js";
import type { SessionListing } from "../../src/dashboard/sessions.js";
import { ProgressChart } from "./chart.js";
import { clear, fill, h } from "./dom.js";
import { type ExperimentDetail, experimentPage } from "./experiment.js";
import { isBetter } from "../../src/metric/compare.js";
import { type Direction, fmtCost, fmtDelta, fmtMetric, fmtTime } from "./format.js";
import { LivePanel } from "./live.js";
import { ResultsTable } from "./table.js";
import { TreeView } from "./tree.js";
import { headSummary } from "../../src/dashboard/tree-layout.js";
import "./style.css";

type PublicListing = Omit<SessionListing, "dir" | "paths" | "lock" | "reportDir">;

const params = new URLSearchParams(location.search);
const sessionId = params.get("s") ?? "current";

function api(path: string, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams({ s: sessionId, ...extra });
  return `${path}?${q}`;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
  return (await res.json()) as T;
}

async function getText(url: string): Promise<{ text: string; truncated: boolean }> {
  const res = await fetch(url, { credentials: "same-origin" });
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
  return { text: await res.text(), truncated: res.headers.get("X-Log-Truncated") === "1" };
}

/** The whole page for one session: header, live runs, chart, table; or one experiment's page. */
class App {
  private readonly root = document.getElementById("app") as HTMLElement;
  private snapshot: SessionSnapshot | null = null;
  private experiments: ExperimentSummary[] = [];
  private readonly ids = new Set<number>();
  private live: LiveState = emptyLive();
  private sessions: PublicListing[] = [];
  private events: EventSource | null = null;
  private chart: ProgressChart | null = null;
  private table: ResultsTable | null = null;
  private tree: TreeView | null = null;
  private readonly livePanel = new LivePanel();
  private readonly headerEl = h("section", { class: "card session-head" });
  private readonly summaryEl = h("section", { class: "card summary", hidden: true });
  private readonly finalizeEl = h("section", { class: "card finalize", hidden: true });
  private finalizePoll: number | null = null;
  private readonly overview = h("div", { class: "overview" });
  private readonly detailEl = h("div", { class: "detail" });
  private readonly loopBadge = h("span", { class: "badge" });
  private pending = false;

  async start(): Promise<void> {
    window.addEventListener("hashchange", () => this.route());
    window.addEventListener("resize", () => this.chart?.resize());
    for (;;) {
      try {
        const [list] = await Promise.all([getJson<{ sessions: PublicListing[] }>("/api/sessions"), this.load()]);
        this.sessions = list.sessions;
        break;
      } catch (error) {
        // `run --dashboard` serves before the session's first record exists: wait for it.
        const waiting = (error as Error).message.startsWith("404");
        this.root.replaceChildren(h("p", { class: waiting ? "loading" : "error" }, waiting ? "Waiting for the session to start…" : `Could not load the session: ${(error as Error).message}`));
        if (!waiting) return;
        await new Promise((resolve) => window.setTimeout(resolve, 1000));
      }
    }
    this.layout();
    this.route();
    this.connect();
  }

  private async load(): Promise<void> {
    const snap = await getJson<SessionSnapshot>(api("/api/session"));
    this.snapshot = snap;
    this.experiments = snap.experiments;
    this.ids.clear();
    for (const e of snap.experiments) this.ids.add(e.id);
    this.live = snap.live;
  }

  private get direction(): Direction {
    return this.snapshot?.info?.config.direction ?? "min";
  }

  private get metricName(): string {
    return this.snapshot?.info?.config.metric ?? "metric";
  }

  private layout(): void {
    const picker = h("select", { "aria-label": "session", class: "picker" });
    for (const s of this.sessions) {
      const label = `${s.archived ? "archived: " : "current: "}${s.tag ?? s.id}${s.startedAt ? ` (${fmtTime(s.startedAt)})` : ""}`;
      picker.append(h("option", { value: s.id, selected: s.id === sessionId }, label));
    }
    picker.addEventListener("change", () => {
      const next = new URLSearchParams(location.search);
      next.set("s", picker.value);
      location.search = next.toString();
    });
    const top = h("header", { class: "top" }, h("h1", {}, "autoresearch"), picker, this.loopBadge);
    this.chart = new ProgressChart(this.chartInput());
    this.table = new ResultsTable(this.direction, (id) => `#/exp/${id}`);
    this.tree = new TreeView((id) => (location.hash = `#/exp/${id}`));
    this.overview.replaceChildren(this.finalizeEl, h("div", { class: "charts" }, this.chart.root, this.tree.root), this.table.root);
    this.root.replaceChildren(top, this.headerEl, this.summaryEl, this.livePanel.root, this.overview, this.detailEl);
    this.chart.mount();
    this.refresh();
  }

  private chartInput() {
    return { experiments: this.experiments, direction: this.direction, metricName: this.metricName, noise: this.snapshot?.noise ?? null, onOpen: (id: number) => (location.hash = `#/exp/${id}`) };
  }

  private route(): void {
    const match = /^#\/exp\/(\d+)$/.exec(location.hash);
    if (match) {
      this.overview.hidden = true;
      this.detailEl.hidden = false;
      window.scrollTo(0, 0);
      void this.showExperiment(Number(match[1]));
    } else {
      this.detailEl.hidden = true;
      clear(this.detailEl);
      this.overview.hidden = false;
      this.chart?.resize();
    }
  }

  private async showExperiment(id: number): Promise<void> {
    this.detailEl.replaceChildren(h("p", { class: "loading" }, "Loading…"));
    try {
      const detail = await getJson<ExperimentDetail>(api("/api/experiment", { id: String(id) }));
      this.detailEl.replaceChildren(
        experimentPage(detail, {
          metricName: this.metricName,
          direction: this.direction,
          fetchText: getText,
          logUrl: (n, tail) => api("/api/log", { id: String(n), tail }),
          backHref: "#/",
          experimentHref: (n) => `#/exp/${n}`,
        }),
      );
    } catch (error) {
      this.detailEl.replaceChildren(h("p", {}, h("a", { href: "#/" }, "← all experiments")), h("p", { class: "error" }, `Experiment ${id}: ${(error as Error).message}`));
    }
  }

  /** Redraws what depends on the experiments, at most once per frame however many events arrive. */
  private refresh(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderHeader();
      this.chart?.update(this.chartInput());
      this.tree?.update(this.experiments, this.direction);
      this.table?.setData(this.experiments, this.direction, this.snapshot?.noise ?? null, this.snapshot?.finalize?.verdicts ?? {});
      this.renderFinalize();
      const running = this.snapshot?.loop.state === "running";
      this.livePanel.set(this.live, running, this.metricName);
    });
  }

  private renderHeader(): void {
    const snap = this.snapshot;
    if (!snap) return;
    const info = snap.info;
    const loop = snap.loop;
    this.loopBadge.className = `badge ${loop.state}`;
    this.loopBadge.textContent = snap.archived ? "archived" : loop.state === "running" ? "running" : loop.state === "unknown" ? "unknown" : "stopped";
    this.loopBadge.title = loop.text;
    const exps = this.experiments;
    const baseline = exps.find((e) => e.id === 0) ?? null;
    // The best is the research tree's head (where the branch points), not the last keep.
    const best = headSummary(exps, this.direction);
    const counts = { keep: 0, discard: 0, crash: 0 };
    for (const e of exps) if (e.id > 0) counts[e.status]++;
    const done = exps.length - (baseline ? 1 : 0);
    const starts = exps.map((e) => Date.parse(e.startedAt ?? "")).filter((t) => !Number.isNaN(t));
    const ends = exps.map((e) => Date.parse(e.finishedAt ?? "")).filter((t) => !Number.isNaN(t));
    const first = starts.length ? Math.min(...starts) : Number.NaN;
    const last = loop.state === "running" ? Date.now() : ends.length ? Math.max(...ends) : Number.NaN;
    const hours = (last - first) / 3_600_000;
    const perHour = hours > 0 && done > 0 ? (done / hours).toFixed(1) : "—";
    const cost = exps.reduce((a, e) => a + (e.costUsd ?? 0), 0) + snap.rejected.costUsd;
    const improvement = best?.metric != null && baseline?.metric != null ? best.metric - baseline.metric : null;
    const pct = improvement !== null && baseline?.metric ? (improvement / Math.abs(baseline.metric)) * 100 : null;
    const cfg = info?.config;
    const stat = (label: string, value: string | Node, cls = "") => h("div", { class: `stat ${cls}` }, h("div", { class: "label" }, label), h("div", { class: "value" }, value));
    const direction = this.live.direction ?? [...exps].reverse().find((e) => e.direction)?.direction ?? null;
    fill(this.headerEl, 
      h(
        "div",
        { class: "title" },
        h("h2", {}, info?.branch ?? snap.id),
        cfg ? h("span", { class: "muted" }, ` ${cfg.metric} (${cfg.direction === "min" ? "lower is better" : "higher is better"}) · ${cfg.budgetSec}s per run · proposer ${cfg.proposer}${cfg.model ? ` (${cfg.model})` : ""}`) : null,
      ),
      h(
        "div",
        { class: "stats" },
        stat(`best ${this.metricName}`, best ? `${fmtMetric(best.metric)} (#${best.id})` : "—"),
        stat("baseline", fmtMetric(baseline?.metric)),
        stat(
          "vs baseline",
          improvement === null
            ? "—"
            : h(
                "span",
                {},
                `${fmtDelta(improvement)}${pct === null ? "" : ` (${pct >= 0 ? "+" : ""}${pct.toFixed(2)}%)`}`,
                // The best could be luck: within the noise floor of the baseline, or never re-measured.
                ((caveat) => (caveat ? h("span", { class: "within-noise" }, ` ⚠ ${caveat}`) : null))(best && best.id !== 0 ? gainCaveat(best.metric, baseline?.metric ?? null, this.direction, this.snapshot?.noise ?? null) : null),
              ),
          improvement !== null && isBetter(improvement, 0, this.direction) ? "better" : "",
        ),
        stat("experiments", `${done} · ${counts.keep} kept · ${counts.discard} discarded · ${counts.crash} crashed`),
        stat("per hour", perHour),
        // A proposer that costs nothing (builtin, plan) has no cost to show.
        showsCost(cfg?.proposer, cost) ? stat("cost so far", fmtCost(cost)) : null,
        stat("platform", info?.platform ? `${info.platform.label}${info.platform.detail ? ` — ${info.platform.detail}` : ""}` : "—", "wide"),
      ),
      direction ? h("p", {}, h("strong", {}, "Current direction: "), direction) : null,
      cfg
        ? h(
            "details",
            { class: "config" },
            h("summary", {}, "Config"),
            h("dl", { class: "fields" }, ...Object.entries(cfg).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "string" ? v : JSON.stringify(v))])),
            h("p", { class: "muted" }, `started ${fmtTime(info?.startedAt)} from ${info?.baseBranch ?? info?.baseCommit.slice(0, 7) ?? "?"}`),
          )
        : null,
    );
    const ended = this.live.ended;
    if (snap.summary || (ended && loop.state !== "running")) {
      this.summaryEl.hidden = false;
      fill(this.summaryEl, 
        h("h2", {}, "Session ended"),
        ended ? h("p", {}, ended.reason) : null,
        snap.summary ? h("details", {}, h("summary", {}, "autoresearch-summary.md"), h("pre", { class: "code prose" }, snap.summary)) : null,
      );
    } else this.summaryEl.hidden = true;
  }

  /** The finalize panel; while finalize runs, its progress is read again every few seconds (it writes no events). */
  private renderFinalize(): void {
    const f = this.snapshot?.finalize ?? null;
    this.finalizeEl.hidden = f === null;
    if (f) fill(this.finalizeEl, ...finalizeSection(f, (id) => `#/exp/${id}`));
    if (f?.progress === "running" && this.finalizePoll === null) {
      this.finalizePoll = window.setTimeout(() => void this.pollFinalize(), 5000);
    }
  }

  private async pollFinalize(): Promise<void> {
    try {
      const snap = await getJson<SessionSnapshot>(api("/api/session"));
      if (this.snapshot) this.snapshot.finalize = snap.finalize;
    } catch {
      // the next poll tries again
    }
    this.finalizePoll = null;
    this.refresh();
  }

  /** The live feed: every event of the session as it is written, and the logs of runs in flight. */
  private connect(): void {
    const snap = this.snapshot;
    if (!snap || snap.archived) return;
    this.events?.close();
    const source = new EventSource(api("/api/events", { from: String(snap.eventsOffset) }), { withCredentials: false });
    this.events = source;
    source.addEventListener("session", (msg) => this.onEvent(JSON.parse((msg as MessageEvent<string>).data) as StampedEvent));
    source.addEventListener("log", (msg) => {
      const { id, text } = JSON.parse((msg as MessageEvent<string>).data) as { id: number; text: string };
      this.livePanel.appendLog(id, text);
    });
    source.addEventListener("loop", (msg) => {
      if (this.snapshot) this.snapshot.loop = JSON.parse((msg as MessageEvent<string>).data);
      this.refresh();
    });
    source.addEventListener("reset", () => void this.reload());
    // A dropped feed cannot resume from where it was by itself: start again from a fresh snapshot.
    source.onerror = () => {
      source.close();
      window.setTimeout(() => void this.reload(), 1000);
    };
  }

  private async reload(): Promise<void> {
    this.events?.close();
    try {
      await this.load();
    } catch {
      window.setTimeout(() => void this.reload(), 2000);
      return;
    }
    this.refresh();
    this.connect();
  }

  private onEvent(event: StampedEvent): void {
    this.live = foldLive(this.live, event);
    if (event.type === "experiment" && !this.ids.has(event.record.id)) {
      this.ids.add(event.record.id);
      this.experiments.push(summarize(event.record));
    }
    if (event.type === "session-start" && this.snapshot) this.snapshot.loop = { ...this.snapshot.loop, state: "running" };
    if (event.type === "session-end" && this.snapshot) {
      this.snapshot.loop = { ...this.snapshot.loop, state: "stopped", text: `session ended: ${event.reason}` };
      // The summary is written after the last event: fetch it once the loop had time to write it
      // (with `run --dashboard` the server may be gone by then; the page keeps what it has).
      window.setTimeout(() => void this.reload(), 1500);
    }
    this.refresh();
  }
}

void new App().start();
