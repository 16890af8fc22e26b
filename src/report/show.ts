import { existsSync, readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import type { SessionPaths } from "../ledger/paths.js";
import type { ExperimentRecord } from "../types.js";
import { describeThroughput } from "../metric/index.js";
import { describeLoad } from "../platform/load.js";
import { formatMetric } from "./format.js";
import { readRecordsReadOnly } from "../ledger/read.js";

export interface ShownExperiment {
  record: ExperimentRecord;
  /** The experiment's diff against the best it was built on (none for the baseline). */
  patch: string | null;
  /** The last lines of its run log. */
  logTail: string[];
  logPath: string;
  patchPath: string | null;
}

/** Experiment `id` of the session at `paths`, with its diff and the tail of its log (read-only). */
export function loadExperiment(paths: SessionPaths, id: number, tailLines = 30): ShownExperiment {
  const records = readRecordsReadOnly(paths);
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
  return { record, patch, logTail: log === "" ? [] : logTail, logPath, patchPath };
}

/** The text `autoresearch show N` prints. */
export function renderExperiment(shown: ShownExperiment, metricName: string): string {
  const e = shown.record;
  const lines = [
    `Experiment ${e.id}: ${e.description}`,
    `Decision:   ${e.status}${e.reason ? ` (${e.reason})` : ""}${e.detail && e.detail !== e.reason ? ` — ${e.detail}` : ""}`,
    `Metric:     ${metricName} ${e.status === "crash" ? "—" : formatMetric(e.metric)}${e.bestBefore !== null && e.bestBefore !== undefined ? ` (best before: ${formatMetric(e.bestBefore)})` : ""}`,
    `Commit:     ${e.commit}${e.parent && e.parent !== e.commit ? ` (on ${e.parent.slice(0, 7)})` : ""}`,
    `Category:   ${e.category}; proposer ${e.proposer}; ${e.durationSec}s`,
  ];
  const throughput = describeThroughput(e);
  if (throughput || e.load) lines.push(`Throughput: ${[throughput ?? "steps not printed", e.load && describeLoad(e.load)].filter(Boolean).join("; ")}`);
  // Every run behind the metric, and those re-run because the machine was busy (never in the metric).
  const runs = [...(e.runs ?? []).map((r) => ({ ...r, contended: false })), ...(e.contendedRuns ?? []).map((r) => ({ ...r, contended: true }))];
  if (runs.length > 1 || e.contendedRuns?.length) {
    lines.push(`Runs:       ${e.runs?.length ?? 1} decided${e.contendedRuns?.length ? `, ${e.contendedRuns.length} re-run for contention` : ""}`);
    for (const r of runs) {
      const rate = describeThroughput(r);
      lines.push(`  seed ${r.seed}: ${formatMetric(r.metric)}${rate ? `, ${rate}` : ""}${r.load ? `, ${describeLoad(r.load)}` : ""}${r.contended ? " — contended, re-run" : ""}`);
    }
  }
  if (e.rationale) lines.push(`Rationale:  ${e.rationale.replace(/\s+/g, " ").slice(0, 400)}`);
  lines.push("", `Diff${shown.patchPath ? ` (${shown.patchPath})` : ""}:`, shown.patch ? shown.patch.trimEnd() : e.id === 0 ? "  (the baseline: no change)" : "  (no diff recorded)");
  lines.push("", `Log tail (${shown.logPath}):`, ...(shown.logTail.length > 0 ? shown.logTail : ["  (empty or missing)"]));
  return `${lines.join("\n")}\n`;
}
