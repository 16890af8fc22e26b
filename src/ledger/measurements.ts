/**
 * The session's measurements: runs made outside the loop by `autoresearch confirm`, in
 * measurements.jsonl beside experiments.jsonl. Never experiments (no results.tsv row, no id, the
 * branch never moves for them), but read with the records: each measurement's runs are joined to
 * the record of the code they ran (`confirmRuns`), so the noise floor, a node's measured metric,
 * the head, later decisions, `status` and the reports all count them through the functions that
 * already read the records (src/metric/noise.ts).
 */
import { appendDurable } from "./files.js";
import type { SessionPaths } from "./paths.js";
import type { ExperimentRecord, Measurement } from "../types.js";

/**
 * The records with each measurement's runs joined to the record of the same commit, or else to
 * the first record of identical code (the same training script hash): a commit outside the
 * session that runs a script the session ran. Runs of code the session never ran are left out
 * (nothing of the session compares with them). The records are copied, never changed.
 */
export function joinMeasurements<T extends ExperimentRecord>(records: readonly T[], measurements: readonly Measurement[]): T[] {
  if (measurements.length === 0) return [...records];
  const out = [...records];
  const byCommit = new Map<string, number>();
  const byHash = new Map<string, number>();
  for (const [i, r] of out.entries()) {
    if (r.status === "crash") continue;
    if (!byCommit.has(r.commit)) byCommit.set(r.commit, i);
    if (r.trainHash && !byHash.has(r.trainHash)) byHash.set(r.trainHash, i);
  }
  for (const m of measurements) {
    const i = byCommit.get(m.commit) ?? byHash.get(m.trainHash);
    if (i === undefined) continue;
    const r = out[i] as T;
    out[i] = { ...r, confirmRuns: [...(r.confirmRuns ?? []), ...m.runs] };
  }
  return out;
}

/** Appends a measurement to measurements.jsonl (fsynced: later decisions rest on it). */
export function recordMeasurement(paths: SessionPaths, measurement: Measurement): void {
  appendDurable(paths.measurements, `${JSON.stringify(measurement)}\n`);
}
