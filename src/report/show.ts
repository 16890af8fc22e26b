import { join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import type { SessionPaths } from "../ledger/paths.js";
import type { ExperimentRecord, RunSample } from "../types.js";
import { describeThroughput } from "../metric/index.js";
import { describeLoad } from "../platform/load.js";
import { formatDelta, formatMetric } from "./format.js";
import { fitWidth } from "../text.js";
import { readRecordsReadOnly, readSessionReadOnly } from "../ledger/read.js";
import type { ChangeVerdict } from "../ledger/finalize-records.js";
import { childrenOf, headOf, lineageOf, measuredOf, nodeAt } from "../ledger/tree.js";
import { describeVerdict, type FinalizeView, finalizeLine, loadFinalizeView, verdictOf } from "./finalize-view.js";

/** A neighbour in the research tree, as `show` names it. */
export interface TreeNeighbour {
  id: number;
  commit: string;
  status: ExperimentRecord["status"];
  metric: number | null;
  description: string;
}

export interface ShownExperiment {
  record: ExperimentRecord;
  /** The node it was built on and decided against (null for the baseline, the root). */
  parent: TreeNeighbour | null;
  /** The experiments built on it, in decision order. */
  children: TreeNeighbour[];
  /** The kept experiments whose changes it applied onto its parent (a combination; empty otherwise). */
  combines: TreeNeighbour[];
  /** The experiment's diff against the best it was built on (none for the baseline). */
  patch: string | null;
  /** The last lines of its run log. */
  logTail: string[];
  logPath: string;
  patchPath: string | null;
  /** True when it is the session's head (the best kept node, where the research branch points). */
  head?: boolean;
  /** What decisions compare with now (metric/noise.ts measuredMeans): the mean of its runs, or its parent's plus its pairs' or load-adjusted difference. */
  measured?: number | null;
  /** Kept changes on the head's lineage (what finalize measures). */
  lineageChanges?: number;
  /** What finalize says of it (a kept change it measured) and of the session; null when never finalized. */
  finalize?: ShownFinalize | null;
}

/** Finalize, as `show` tells it. */
export interface ShownFinalize {
  progress: FinalizeView["progress"];
  /** "finalized <when>: 4 of 14 kept changes matter, table in <path>", or how far it is. */
  line: string;
  finishedAt: string | null;
  tablePath: string;
  /** It measured an earlier best (the session kept more since). */
  stale: boolean | null;
  /** True when this experiment is one of the kept changes it measures. */
  measured: boolean;
  /** Its verdict, once finalize finished. */
  verdict: ChangeVerdict | null;
  /** The verdict in words (`describeVerdict`). */
  verdictText: string | null;
}

/**
 * Experiment `id` of the session at `paths` (null: the head, the best kept node), with its diff,
 * the tail of its log and what finalize says of it (read-only).
 */
export function loadExperiment(paths: SessionPaths, id: number | null, tailLines = 30): ShownExperiment {
  const records = readRecordsReadOnly(paths);
  const direction = readSessionReadOnly(paths)?.config?.direction ?? "min";
  const head = records.length > 0 ? headOf(records, direction) : null;
  if (id === null) {
    if (!head) throw new UsageError("this session has no recorded experiment yet", `If it is running, wait for its baseline to finish; a session that failed to start has none (its logs are in ${join(paths.dir, "runs")}).`);
    id = head.id;
  }
  const record = records.find((e) => e.id === id);
  if (!record) {
    const last = records.at(-1)?.id;
    throw new UsageError(`no experiment ${id} in this session`, last === undefined ? "The session has no recorded experiment yet." : `Experiments are numbered 0 (the baseline) to ${last}.`);
  }
  const patchPath = id === 0 ? null : paths.patch(id);
  const patch = patchPath && existsSync(patchPath) ? readFileSync(patchPath, "utf8") : null;
  const logPath = paths.runLog(id);
  const log = existsSync(logPath) ? readFileSync(logPath, "utf8") : "";
  const logTail = log.replace(/\n$/, "").split("\n").slice(-tailLines);
  const parentNode = id === 0 ? undefined : nodeAt(records, record.parent);
  const byId = new Map(records.map((r) => [r.id, r]));
  return {
    record,
    parent: parentNode ? neighbour(parentNode) : null,
    children: childrenOf(records, record).map(neighbour),
    combines: (record.combines ?? []).flatMap((c) => (byId.has(c) ? [neighbour(byId.get(c) as ExperimentRecord)] : [])),
    patch,
    logTail: log === "" ? [] : logTail,
    logPath,
    patchPath,
    head: head?.id === id,
    measured: record.status === "crash" ? null : measuredOf(records, record),
    lineageChanges: head ? lineageOf(records, head).length - 1 : 0,
    finalize: shownFinalize(loadFinalizeView(paths, head), id),
  };
}

function shownFinalize(view: FinalizeView | null, id: number): ShownFinalize | null {
  if (!view) return null;
  const verdict = verdictOf(view, id);
  return {
    progress: view.progress,
    line: finalizeLine(view),
    finishedAt: view.finishedAt,
    tablePath: view.tablePath,
    stale: view.stale,
    measured: view.changeIds.includes(id),
    verdict,
    verdictText: verdict && view.result ? describeVerdict(verdict, view.result) : null,
  };
}

function neighbour(r: ExperimentRecord): TreeNeighbour {
  return { id: r.id, commit: r.commit, status: r.status, metric: r.status === "crash" ? null : r.metric, description: r.description };
}

/** " (-0.010000 vs its parent)": the change the keep rule decided on. */
function againstParent(e: ExperimentRecord, parent: TreeNeighbour | null): string {
  if (e.status === "crash" || e.metric === null || !parent || parent.metric === null) return "";
  return ` (${formatDelta(e.metric - parent.metric)} vs its parent)`;
}

/** How a node's measured metric is made (metric/noise.ts measuredMeans), in words. */
function measuredHow(e: ExperimentRecord): string {
  const confirm = e.confirmRuns?.length ? ", with the runs `autoresearch confirm` made of it" : "";
  if (e.loadDelta !== undefined) return `its parent's measured metric plus its difference at the same load (load-adjusted)${confirm}`;
  if (e.parentRuns?.length) return `its parent's measured metric plus the mean difference of its pairs${confirm}`;
  return "the mean of every run of its code (its decision's, its runs as a parent in later pairs, and confirm's)";
}

/** "  seed 1: 0.970000, 400 steps in 30.0s of training (13.3 steps/s), load ..." and what `note` adds. */
function runLine(r: RunSample, note: string): string {
  const rate = describeThroughput(r);
  return `  seed ${r.seed}: ${formatMetric(r.metric)}${rate ? `, ${rate}` : ""}${r.load ? `, ${describeLoad(r.load)}` : ""}${note}`;
}

function nodeLabel(n: TreeNeighbour): string {
  return `#${n.id} ${n.status === "crash" ? "crash" : `${n.status} ${formatMetric(n.metric)}`}`;
}

/**
 * What `show` with no number says first: the session's best and its finalize ("finalized <when>:
 * 4 of 14 kept changes matter, table in <path>"), or that it was never finalized.
 */
export function renderSessionLine(shown: ShownExperiment, tag: string, width?: number): string {
  const changes = shown.lineageChanges ?? 0;
  const finalize = shown.finalize
    ? shown.finalize.line
    : changes > 0
      ? `not finalized: \`autoresearch finalize\` measures which of its ${changes} kept change${changes === 1 ? "" : "s"} matter`
      : "nothing kept yet: the best is the baseline";
  return `${fitWidth(`Session ${tag}: the best is #${shown.record.id}; ${finalize}`, width, "  ")}\n`;
}

/** The width of show's labels ("Decision:   "), under which a broken line goes on. */
const LABEL = 12;

/**
 * The text `autoresearch show N` prints. With `width`, each labelled line is broken to it and goes
 * on under its text; the diff and the log tail are left whole (code and a script's output).
 */
export function renderExperiment(shown: ShownExperiment, metricName: string, width?: number): string {
  const e = shown.record;
  const lines = [
    `Experiment ${e.id}: ${e.description}`,
    `Decision:   ${e.status}${e.reason ? ` (${e.reason})` : ""}${e.detail && e.detail !== e.reason ? ` — ${e.detail}` : ""}`,
    `Metric:     ${metricName} ${e.status === "crash" ? "—" : formatMetric(e.metric)}${againstParent(e, shown.parent)}`,
    `Commit:     ${e.commit}${e.parent && e.parent !== e.commit ? ` (on ${e.parent.slice(0, 7)})` : ""}`,
    `Category:   ${e.category}; proposer ${e.proposer}; ${e.durationSec}s`,
    `Parent:     ${shown.parent ? `#${shown.parent.id} ${formatMetric(shown.parent.metric)} (${shown.parent.commit.slice(0, 7)}, ${shown.parent.description})` : "none (the baseline is the root of the research tree)"}`,
  ];
  if (shown.combines.length > 0) {
    // A proposal made on a combination while it ran: its own change comes on top of the combined ones.
    const own = e.onCombination ? ", then its own change (a proposal made on that combination while it ran)" : "";
    lines.push(`Combines:   ${shown.combines.map((c) => `#${c.id} (${c.description})`).join(", ")}: their changes applied onto the parent${own}`);
  }
  lines.push(`Children:   ${shown.children.length > 0 ? shown.children.map(nodeLabel).join(", ") : "none yet"}`);
  const throughput = describeThroughput(e);
  if (throughput || e.load) lines.push(`Throughput: ${[throughput ?? "steps not printed", e.load && describeLoad(e.load)].filter(Boolean).join("; ")}`);
  // Every run behind the metric, those re-run because the machine was busy (never in the metric),
  // and those `autoresearch confirm` made later (in its measured metric, not in its decision).
  const runs = [
    ...(e.runs ?? []).map((r) => ({ ...r, note: "" })),
    ...(e.contendedRuns ?? []).map((r) => ({ ...r, note: " — contended, re-run" })),
    ...(e.confirmRuns ?? []).map((r) => ({ ...r, note: " — autoresearch confirm" })),
  ];
  if (runs.length > 1 || e.contendedRuns?.length || e.confirmRuns?.length) {
    const more = [e.contendedRuns?.length && `${e.contendedRuns.length} re-run for contention`, e.confirmRuns?.length && `${e.confirmRuns.length} by \`autoresearch confirm\``].filter(Boolean);
    lines.push(`Runs:       ${e.runs?.length ?? 1} decided${more.length > 0 ? `, ${more.join(", ")}` : ""}`);
    // Decided on its one run: that run is the record's own metric.
    if (!e.runs) lines.push(`  its run: ${formatMetric(e.metric)}`);
    for (const r of runs) lines.push(runLine(r, r.note));
  }
  // The parent's runs made for this decision (pairs, or beside a load-adjusted decision's runs), in the order all ran.
  if (e.parentRuns?.length) {
    const order = e.runOrder ? ` (in the order run: ${[...e.runOrder].map((c) => (c === "p" ? "parent" : "it")).join(", ")})` : "";
    lines.push(`Its parent: ${e.parentRuns.length} run${e.parentRuns.length === 1 ? "" : "s"} beside its own${order}`);
    for (const r of e.parentRuns) lines.push(runLine(r, r.reused ? " — its run just before, reused" : ""));
  }
  if (shown.measured != null && e.metric !== null && formatMetric(shown.measured) !== formatMetric(e.metric)) {
    lines.push(`Measured:   ${metricName} ${formatMetric(shown.measured)}, ${measuredHow(e)}: what later decisions compare with`);
  }
  const f = shown.finalize;
  if (f?.measured) {
    // A kept change finalize measured: its verdict, or how far finalize is.
    const verdict = f.verdictText ? `${f.verdictText}${f.stale ? " (measured on an earlier best)" : ""}` : f.line;
    lines.push(`Finalize:   ${verdict}`);
  }
  if (e.rationale) lines.push(`Rationale:  ${e.rationale.replace(/\s+/g, " ").slice(0, 400)}`);
  // What the coding agent changed besides the training script, each put back before the run (README: named in the record).
  if (e.agentViolations?.length) lines.push(`Agent:      it also touched other files: ${e.agentViolations.join("; ")}`);
  // A labelled line goes on under its text; a run's line ("  seed 3: ...") two further in.
  lines.splice(0, lines.length, ...lines.map((line) => fitWidth(line, width, line.startsWith(" ") ? "  " : " ".repeat(LABEL))));
  lines.push("", `Diff${shown.patchPath ? ` (${shown.patchPath})` : ""}:`, shown.patch ? shown.patch.trimEnd() : e.id === 0 ? "  (the baseline: no change)" : "  (no diff recorded)");
  lines.push("", `Log tail (${shown.logPath}):`, ...(shown.logTail.length > 0 ? shown.logTail : ["  (empty or missing)"]));
  return `${lines.join("\n")}\n`;
}
