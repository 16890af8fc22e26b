import type { ExperimentRecord } from "../../src/types.js";
import { h } from "./dom.js";
import { isBetter } from "../../src/metric/compare.js";
import { describeThroughput } from "../../src/metric/throughput.js";
import { type Direction, fmtCost, fmtDelta, fmtDuration, fmtMetric, fmtTime } from "./format.js";

export interface ExperimentDetail {
  record: ExperimentRecord & Record<string, unknown>;
  patch: string | null;
  logBytes: number;
}

export interface ExperimentPageDeps {
  metricName: string;
  direction: Direction;
  /** GETs text from the server (the log). */
  fetchText: (path: string) => Promise<{ text: string; truncated: boolean }>;
  logUrl: (id: number, tail: string) => string;
  backHref: string;
  /** Link to another experiment's page (a re-run's original). */
  experimentHref: (id: number) => string;
}

const TAIL_BYTES = 64 * 1024;

/** An experiment's page: what was tried and why, the decision, the numbers, the diff and the log. */
export function experimentPage(detail: ExperimentDetail, deps: ExperimentPageDeps): HTMLElement {
  const r = detail.record;
  const d = r.metric !== null && r.bestBefore !== null && r.status !== "crash" ? r.metric - r.bestBefore : null;
  const fields: [string, string | Node][] = [
    ["status", h("span", { class: `status ${r.status}` }, r.status)],
    ["decision", `${r.reason}${r.detail && r.detail !== r.reason ? ` — ${r.detail}` : ""}`],
    [deps.metricName, r.status === "crash" ? "—" : fmtMetric(r.metric)],
    ["Δ vs best before", d === null ? "—" : h("span", { class: isBetter(d, 0, deps.direction) ? "better" : "worse" }, `${fmtDelta(d)} (best before ${fmtMetric(r.bestBefore)})`)],
    ["category", r.category],
    ["memory", r.memGb === null ? "—" : `${r.memGb.toFixed(1)} GB`],
    ["params", r.params === null ? "—" : r.params.toLocaleString()],
    ["duration", fmtDuration(r.durationSec)],
    ["throughput", describeThroughput(r) ?? "—"],
    ["started", fmtTime(r.startedAt)],
    ["commit", r.commit],
    ["parent", r.parent],
    ["proposer", r.proposer],
    ["tokens", r.usage ? `${r.usage.inputTokens.toLocaleString()} in / ${r.usage.outputTokens.toLocaleString()} out` : "—"],
    ["cost", typeof r.costUsd === "number" ? fmtCost(r.costUsd) : "—"],
  ];
  if (r.worker !== undefined) fields.push(["worker", `w${r.worker}`]);
  if (r.device !== undefined && r.device !== null) fields.push(["device", r.device]);
  if (r.host !== undefined) fields.push(["host", r.host]);
  if (r.pendingSec !== undefined) fields.push(["pending in queue", fmtDuration(r.pendingSec)]);
  if (r.rebaseOf !== undefined) fields.push(["re-run of", h("a", { href: deps.experimentHref(r.rebaseOf) }, `#${r.rebaseOf}`)]);
  if (r.oomRetryOf !== undefined) fields.push(["retry of", `#${r.oomRetryOf} (out of memory)`]);
  if (r.planStep !== undefined) fields.push(["plan step", String(r.planStep)]);
  if (r.agentViolations?.length) fields.push(["agent touched", r.agentViolations.join(", ")]);
  if (r.load) fields.push(["load", `${r.load.loadStart} → ${r.load.loadEnd} on ${r.load.cores} cores${r.load.otherGpuProcesses !== undefined ? `; ${r.load.otherGpuProcesses} other GPU processes` : ""}`]);
  if (r.contendedRuns?.length) fields.push(["re-run for contention", r.contendedRuns.map((c) => `seed ${c.seed}: ${fmtMetric(c.metric)}, ${describeThroughput(c) ?? "no steps"}`).join("; ")]);

  // Confirmation runs and checks, when the session recorded any (their shape belongs to the loop).
  const extras = (["runs", "contendedRuns", "checks", "confirmations"] as const).filter((k) => r[k] !== undefined && r[k] !== null);

  return h(
    "article",
    { class: "experiment" },
    h("p", {}, h("a", { href: deps.backHref }, "← all experiments")),
    h("h2", {}, `#${r.id} `, h("span", { class: "desc-title" }, r.description)),
    r.rationale ? h("section", { class: "card" }, h("h3", {}, "Rationale"), h("p", { class: "prose" }, r.rationale)) : null,
    r.direction ? h("p", { class: "muted" }, `Direction: ${r.direction}`) : null,
    h("section", { class: "card" }, h("dl", { class: "fields" }, ...fields.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
    ...extras.map((k) => h("section", { class: "card" }, h("h3", {}, k === "checks" ? "Checks" : "Confirmation runs"), h("pre", { class: "code" }, JSON.stringify(r[k], null, 2)))),
    h("section", { class: "card" }, h("h3", {}, "Diff"), detail.patch === null ? h("p", { class: "muted" }, "no diff recorded") : diffView(detail.patch)),
    logSection(r.id, detail.logBytes, deps),
  );
}

/** The patch with added, removed, hunk and file lines marked (each line is text). */
export function diffView(patch: string): HTMLElement {
  const lines = patch.replace(/\n$/, "").split("\n");
  return h(
    "pre",
    { class: "code diff" },
    ...lines.map((line) => {
      const cls = line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ") || line.startsWith("index ") ? "file" : line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "ctx";
      return h("span", { class: `line ${cls}` }, `${line}\n`);
    }),
  );
}

function logSection(id: number, logBytes: number, deps: ExperimentPageDeps): HTMLElement {
  const pre = h("pre", { class: "code log" }, "loading…");
  const note = h("span", { class: "muted" });
  const search = h("input", { type: "search", placeholder: "search the log…", "aria-label": "search the log" });
  const full = h("button", { type: "button", class: "small" }, "Load full log");
  let text = "";
  const show = () => {
    const q = search.value.trim().toLowerCase();
    const lines = text.split("\n");
    if (!q) {
      pre.replaceChildren(text);
      return;
    }
    const hits = lines.filter((l) => l.toLowerCase().includes(q));
    pre.replaceChildren(...hits.map((l) => h("span", { class: "line hit" }, `${l}\n`)));
    note.textContent = ` ${hits.length} matching line${hits.length === 1 ? "" : "s"}`;
  };
  const load = async (tail: string) => {
    try {
      const res = await deps.fetchText(deps.logUrl(id, tail));
      text = res.text;
      note.textContent = res.truncated ? ` last ${(TAIL_BYTES / 1024).toFixed(0)} KB of ${(logBytes / 1024).toFixed(0)} KB` : ` ${(logBytes / 1024).toFixed(1)} KB`;
      full.hidden = !res.truncated;
      show();
    } catch (error) {
      pre.replaceChildren(`could not load the log: ${(error as Error).message}`);
    }
  };
  search.addEventListener("input", show);
  full.addEventListener("click", () => {
    full.disabled = true;
    void load("all");
  });
  if (logBytes === 0) pre.replaceChildren("no log recorded");
  else void load(String(TAIL_BYTES));
  full.hidden = true;
  return h("section", { class: "card" }, h("div", { class: "card-head" }, h("h3", {}, "Run log"), search, full, note), pre);
}
