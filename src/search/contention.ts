/**
 * Runs of identical code slowed by a busy machine are run again instead of decided: their
 * steps/s fell far below the same code's other runs (src/metric/throughput.ts), so their metric
 * measured the load, not the code. Used where the same code runs again: the baseline's repeats,
 * confirmation runs, and a candidate whose script ran before. Each contended run is kept in the
 * record's `contendedRuns` (shown and counted, never in its metric or the noise floor).
 */
import { renameSync } from "node:fs";
import {
  CONTENTION_MIN_DROP,
  CONTENTION_SDS,
  type ContentionVerdict,
  contentionOf,
  decidedRuns,
  formatRate,
  type LoadTracker,
  rateNoise,
  ratesByCode,
  stepsPerSec,
  type Throughput,
  type ThroughputRecord,
  throughputOf,
} from "../metric/index.js";
import { type LoadSample, localLoadReader, runLoad } from "../platform/load.js";
import type { RunResult, RunSample } from "../types.js";
import type { LoopDeps } from "./session.js";

/** Without a load track, a run is compared with this many of its code's latest runs (none of them made for this experiment). */
export const RECENT_RATES = 3;

/** A run slowed again and again is decided after this many re-runs (the machine stays busy). */
export const MAX_CONTENTION_RERUNS = 2;

/** A record as the contention check reads it: its own runs, and its parent's runs made beside them. */
export interface ContentionRecord extends ThroughputRecord {
  commit?: string;
  parent?: string;
  parentRuns?: readonly (Throughput & { reused?: boolean })[];
}

export interface ContentionInput {
  deps: LoopDeps;
  /** The session's records: every earlier run of the same code, and the spread of steps/s. */
  history: readonly ContentionRecord[];
  trainHash: string;
  /** This experiment's runs of the same code so far (not yet in the history). */
  earlier?: readonly RunSample[];
  id: number;
  /** The run just made, not yet guarded. */
  run: RunResult;
  seed: number;
  /** Where that run's output went: moved aside to `<log>.contended<k>.log` before it is run again. */
  logPath: string;
  /** Before a re-run: what the run did wrong (its clone put back); anything found stops re-running. */
  guard: () => Promise<string[]>;
  /** Runs the same code with the same seed again, writing to the same log path. */
  again: () => Promise<RunResult>;
  /** "baseline run 2 of 3" for the warning. */
  what: string;
  /**
   * The session's load track (src/metric/load-tracker.ts), when its runs read the load: a run is
   * then contended when it fell below what the track expects now, not below its code's mean (a
   * slow drift the track follows is what the keep rule adjusts for, and re-running it measures nothing new).
   * `next` + the earlier runs given is this run's place in the session's runs (each re-run one later).
   */
  loadTrack?: Pick<LoadTracker, "expected" | "next">;
  /** How many of the record's runs ran before this one: each contended run is marked with it (RunSample.at). */
  at?: number;
}

export interface ContentionOutcome {
  run: RunResult;
  contended: RunSample[];
  /** Found by `guard` before a re-run (the caller's own guard after this would see a clean clone). */
  violations: string[];
}

export function sampleWithThroughput(run: RunResult, seed: number): RunSample {
  return {
    seed,
    metric: run.metric !== null && Number.isFinite(run.metric) ? run.metric : null,
    durationSec: Number(run.durationSec.toFixed(3)),
    ...throughputOf(run),
    ...(run.load && { load: run.load }),
  };
}

const ok = (run: RunResult): boolean => run.exitCode === 0 && !run.timedOut && run.signal === null && run.metric !== null && Number.isFinite(run.metric);

/** The run, or the first of its re-runs that was not slowed by the machine (at most MAX_CONTENTION_RERUNS). */
export async function rerunWhileContended(input: ContentionInput): Promise<ContentionOutcome> {
  const { deps } = input;
  const contended: RunSample[] = [];
  let run = input.run;
  const groups = ratesByCode([...input.history, { status: "keep", trainHash: input.trainHash, runs: input.earlier ?? [] }]);
  // Its code's runs nearest in time: this experiment's of it when it has some, else the latest before it (the
  // records' order is the runs' with one worker). A slow drift of the machine since its first runs is not a
  // contention of this one, and re-running it would find the same machine.
  const decision = ratesOfCode([{ status: "keep", trainHash: input.trainHash, runs: input.earlier ?? [] }], input.trainHash);
  const earlier = decision.length > 0 ? decision : ratesOfCode(input.history, input.trainHash).slice(-RECENT_RATES);
  const sd = rateNoise(groups);
  for (let attempt = 1; attempt <= MAX_CONTENTION_RERUNS; attempt++) {
    if (deps.stop.signal.aborted || !ok(run)) break;
    // Where the track knows this code's speed: its expectation at this run's moment (this experiment's runs so far counted).
    const expected = input.loadTrack?.expected(input.trainHash, input.loadTrack.next + (input.earlier?.length ?? 0) + contended.length) ?? null;
    const verdict = expected ? trackedContentionOf(run, expected) : contentionOf(run, earlier, sd);
    if (!verdict?.contended) break;
    const violations = await input.guard();
    if (violations.length > 0) return { run, contended, violations };
    contended.push({ ...sampleWithThroughput(run, input.seed), contended: true, ...(input.at !== undefined && { at: input.at }) });
    try {
      renameSync(input.logPath, input.logPath.replace(/(\.log)?$/, `.contended${attempt}.log`));
    } catch {
      // No log to keep (an executor that wrote none): the re-run's is the one that counts.
    }
    deps.emit({
      type: "warning",
      message: `experiment ${input.id}: ${input.what} ran at ${formatRate(verdict.rate)} steps/s, the same code ${formatRate(verdict.expected)}: the machine was busy (contention); running it again`,
    });
    run = await input.again();
  }
  return { run, contended, violations: [] };
}

/**
 * Steps/s of every uncontended run of `code` in the records' order: its own records' runs and its
 * runs as a parent beside its children's (a parent run reused by a pair is counted once).
 */
export function ratesOfCode(records: readonly ContentionRecord[], code: string): number[] {
  const hashOf = new Map<string, string>();
  for (const r of records) if (r.commit && r.trainHash && !hashOf.has(r.commit)) hashOf.set(r.commit, r.trainHash);
  const rates: number[] = [];
  for (const r of records) {
    if (r.status === "crash") continue;
    const runs = r.trainHash === code ? decidedRuns(r) : r.parent && hashOf.get(r.parent) === code ? (r.parentRuns ?? []).filter((p) => !p.reused && p.contended !== true) : [];
    for (const run of runs) {
      const rate = stepsPerSec(run);
      if (rate !== null) rates.push(rate);
    }
  }
  return rates;
}

/**
 * Contention against the load track: the run's steps/s fell below what the track expects of its
 * code now by more than CONTENTION_SDS of the expectation's sd (at least CONTENTION_MIN_DROP): a
 * jump of the machine the track did not foresee, not the slow drift it follows.
 */
export function trackedContentionOf(run: RunResult, expected: { y: number; sd: number }): ContentionVerdict | null {
  const rate = stepsPerSec(run);
  if (rate === null) return null;
  const expectedRate = Math.exp(expected.y);
  const limit = expectedRate * Math.max(1 - Math.exp(-CONTENTION_SDS * expected.sd), CONTENTION_MIN_DROP);
  return { contended: expectedRate - rate > limit, rate, expected: expectedRate, limit };
}

const reader = localLoadReader();

/**
 * The load before a run on this machine, read while the run is made ready (nvidia-smi, where
 * there is one, takes a tenth of a second or more). Runs on another host (ssh) or in a cluster's
 * queue (a re-attachable executor) are not measured: this machine's load says nothing about theirs.
 */
export function loadBefore(local: boolean): Promise<LoadSample> | null {
  return local ? reader.sample() : null;
}

/** The load around a run (`start` from loadBefore), added to its result. */
export async function withLoad(start: Promise<LoadSample> | null, run: () => Promise<RunResult>): Promise<RunResult> {
  if (!start) return run();
  const before = await start;
  const result = await run();
  return { ...result, load: runLoad(before, await reader.sample()) };
}
