/**
 * Throughput: how many optimizer steps a run fit in its training seconds. Under a fixed time
 * budget a busy machine means fewer steps and a worse metric (nanoGPT on a shared CPU: 364-526
 * steps over 15 runs of identical code, val_loss following steps almost exactly), so runs of
 * identical code whose steps/s fell beyond its run-to-run spread measured the machine, not the
 * code: they are "contended". Only identical code is compared (a change that makes training
 * faster keeps its advantage). Pure, so the loop, the reports and the dashboard agree.
 */
import { mean, pooledNoise } from "./noise.js";

/** What a run says of its throughput (a record's first run, or one of its runs). */
export interface Throughput {
  steps?: number;
  trainingSec?: number;
  /** Re-run because the machine was busy; its metric decided nothing. */
  contended?: boolean;
}

/** Steps per second of training; null when the run did not print both (or printed nonsense). */
export function stepsPerSec(run: Throughput): number | null {
  if (run.steps === undefined || run.trainingSec === undefined) return null;
  if (!(run.steps > 0) || !(run.trainingSec > 0)) return null;
  return run.steps / run.trainingSec;
}

/** What throughputOfRecords reads of a record. */
export interface ThroughputRecord extends Throughput {
  status: string;
  trainHash?: string;
  runs?: readonly Throughput[];
  /** Runs re-run for contention (never part of the metric). */
  contendedRuns?: readonly Throughput[];
}

/** Each decided run of a record (its runs, or its one run), contended ones left out. */
export function decidedRuns(record: ThroughputRecord): Throughput[] {
  const runs = record.runs && record.runs.length > 0 ? [...record.runs] : [record];
  // Records whose runs carry no throughput (written before it was kept per run): the record's own is the first run's.
  if (runs[0] && stepsPerSec(runs[0]) === null && stepsPerSec(record) !== null) runs[0] = { ...record, contended: false };
  return runs.filter((r) => r.contended !== true);
}

/** Steps/s of every uncontended run of each code (training script hash), crashes left out. */
export function ratesByCode(records: Iterable<ThroughputRecord>): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (const r of records) {
    if (r.status === "crash" || !r.trainHash) continue;
    const rates = decidedRuns(r)
      .map(stepsPerSec)
      .filter((v): v is number => v !== null);
    if (rates.length === 0) continue;
    groups.set(r.trainHash, [...(groups.get(r.trainHash) ?? []), ...rates]);
  }
  return groups;
}

/** A contended run is this much slower at least, relative to its code's mean, whatever the spread. */
export const CONTENTION_MIN_DROP = 0.05;
/** Until some code has run twice (no spread known), a drop this large is contention. */
export const CONTENTION_DROP_UNKNOWN_NOISE = 0.25;
/** How many spreads (sd of steps/s) below its code's mean a run must fall to be contended. */
export const CONTENTION_SDS = 3;

export interface ContentionVerdict {
  contended: boolean;
  /** The run's steps/s, and what its code's earlier runs reached on average. */
  rate: number;
  expected: number;
  /** The largest drop still taken for noise. */
  limit: number;
}

/**
 * Whether a run of code that ran before was slowed by the machine: its steps/s fell below the
 * mean of the same code's earlier runs by more than CONTENTION_SDS times the session's spread of
 * steps/s (pooled over every code run more than once; at least CONTENTION_MIN_DROP of the mean),
 * or by CONTENTION_DROP_UNKNOWN_NOISE while the spread is unknown. Only slower counts: load slows
 * a run down and never speeds it up, so a run faster than its code's earlier ones says those were
 * slowed, and re-running it would measure nothing new. Null when there is nothing to compare.
 */
export function contentionOf(run: Throughput, earlier: readonly number[], rateSd: number | null): ContentionVerdict | null {
  const rate = stepsPerSec(run);
  if (rate === null || earlier.length === 0) return null;
  const expected = mean(earlier);
  const limit = rateSd === null ? CONTENTION_DROP_UNKNOWN_NOISE * expected : Math.max(CONTENTION_SDS * rateSd, CONTENTION_MIN_DROP * expected);
  return { contended: expected - rate > limit, rate, expected, limit };
}

/** The spread of steps/s between runs of identical code: pooled sd, null until some code ran twice. */
export function rateNoise(groups: Map<string, number[]>): number | null {
  return pooledNoise(groups.values())?.sd ?? null;
}

/** "412 steps in 30.0s (13.7 steps/s)", or null when the run printed neither. */
export function describeThroughput(run: Throughput): string | null {
  const rate = stepsPerSec(run);
  if (run.steps === undefined && run.trainingSec === undefined) return null;
  const parts = [run.steps !== undefined ? `${run.steps} steps` : null, run.trainingSec !== undefined ? `${run.trainingSec.toFixed(1)}s of training` : null].filter((p) => p !== null);
  return `${parts.join(" in ")}${rate !== null ? ` (${formatRate(rate)} steps/s)` : ""}`;
}

export function formatRate(rate: number): string {
  return rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toPrecision(3);
}

/** How many runs a session made, and how many of them were re-run because the machine was busy. */
export function contentionCount(records: Iterable<ThroughputRecord>): { runs: number; rerun: number } {
  let runs = 0;
  let rerun = 0;
  for (const r of records) {
    const contended = r.contendedRuns?.length ?? 0;
    runs += (r.runs && r.runs.length > 0 ? r.runs.length : 1) + contended;
    rerun += contended;
  }
  return { runs, rerun };
}

/** "7 of 40 runs were re-run for contention", or null when none was. */
export function contentionText(records: Iterable<ThroughputRecord>): string | null {
  const { runs, rerun } = contentionCount(records);
  if (rerun === 0) return null;
  return `${rerun} of ${runs} runs ${rerun === 1 ? "was" : "were"} re-run for contention (the machine was busy: fewer steps/s than the same code's other runs)`;
}

/** A run's throughput fields, to keep in its sample (absent ones left out). */
export function throughputOf(run: Throughput): Throughput {
  return { ...(run.steps !== undefined && { steps: run.steps }), ...(run.trainingSec !== undefined && { trainingSec: run.trainingSec }) };
}
