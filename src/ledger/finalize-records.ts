/**
 * `autoresearch finalize`'s records: finalize.jsonl beside experiments.jsonl in the session's
 * records. Its runs are their own kind of record (never experiments: they take no experiment
 * number, never move the research branch and never reach results.tsv). One JSON object a line,
 * appended and fsynced as each run ends, so a finalize killed at any point loses nothing and runs
 * nothing twice: `finalize` again reads what is recorded and runs only the rest.
 *
 * Lines, by `type`:
 * - `header`: a finalize started (or continued with other settings): the best it works on, its
 *   kept changes, N runs per variant, the budget, the workers. An attempt is one best at one
 *   budget: a later `finalize` on the same best and budget continues it (the last header of an
 *   attempt holds its settings), another best or budget starts attempt + 1.
 * - `batch`: the variants of one batch of runs, planned (`changes`: the best, the baseline and
 *   the best without each change; `pairs`: two changes taken out together; `smallest-set`).
 * - `run`: one run of one variant in one round, as it ended.
 * - `result`: the verdicts, the smallest set and the branches, once every run of the attempt is in.
 *
 * The format is read by the views (summary, `show`, `sessions`, the dashboard): keep it stable,
 * add fields, never rename them (FINALIZE_FORMAT says which shape a line has).
 */
import { existsSync, readFileSync } from "node:fs";
import { appendDurable, writeAtomic } from "./files.js";

export const FINALIZE_FORMAT = 1;

/** What a finalize run runs: the best, the baseline, the best with kept changes taken out, or the smallest set. */
export type FinalizeRunKind = "best" | "baseline" | "ablation" | "smallest-set";
/** The three batches of an attempt, in the order they run. */
export type FinalizeBatch = "changes" | "pairs" | "smallest-set";
export const FINALIZE_BATCHES: readonly FinalizeBatch[] = ["changes", "pairs", "smallest-set"];

/** A verdict on one kept change (see finalize-verdicts.ts). */
export type ChangeVerdictName = "matters" | "within noise" | "hurts" | "cannot remove";

/** One kept change of the best's lineage, as the header lists it. */
export interface FinalizeChange {
  /** Its experiment number. */
  id: number;
  commit: string;
  description: string;
  /** Its delta when it was kept: its metric minus its parent's (raw, signed like the metric); null when unknown. */
  keptDelta: number | null;
}

/**
 * A change that cannot be taken out of the best alone (a later kept change rewrote its lines):
 * it is taken out together with `with`, and named as depending on them.
 */
export interface FinalizeCompanions {
  change: number;
  with: number[];
  reason: string;
}

export interface FinalizeHeader {
  type: "header";
  format: number;
  attempt: number;
  /** When this finalize started (ISO). */
  at: string;
  /** The session's metric and its direction. */
  metric: string;
  direction: "min" | "max";
  best: { id: number; commit: string };
  baseline: { id: number; commit: string };
  /** The kept changes on the best's lineage, oldest first (the baseline is not one). */
  changes: FinalizeChange[];
  /** N: runs of each variant, each in its own round. */
  runsPerVariant: number;
  /** Why N: "--runs", or the default's reason in words. */
  runsFrom: string;
  /**
   * Set when the default N was raised once the first rounds measured the noise (a session without
   * a noise floor, or one that underestimated it): the N it started with.
   */
  raisedFrom?: number;
  /** Runs of the `changes` batch (known at the start; the later batches add theirs). */
  plannedRuns: number;
  budgetSec: number;
  timeoutSec: number;
  workers: number;
  /** Z: a loss counts when it is more than this many standard errors (the session's --confidence). */
  confidence: number;
  /** The session's noise floor (sd of single runs of identical code) when finalize started; null when unknown. */
  noiseFloor: number | null;
  /** AUTORESEARCH_SEED of round 0 (round r gets firstSeed + r; the best's second run of round r firstSeed + 100000 + r): seeds the session's runs never used. */
  firstSeed: number;
  /** Changes taken out together with later ones (a textual dependency). */
  companions: FinalizeCompanions[];
  /** Changes that cannot be taken out at all, and why. */
  unremovable: { change: number; reason: string }[];
}

/** One variant of a batch: one training script, run once a round. */
export interface FinalizeVariant {
  kind: FinalizeRunKind;
  /** The kept changes taken out of the best ([] for the best; absent meaning for the baseline: []). */
  removed: number[];
  /** sha256 of its training script (identifies the variant; the experiments' trainHash). */
  code: string;
  /** Its commit (on top of the best for ablations and the smallest set; kept under refs/autoresearch/<tag>/finalize/). */
  commit: string;
  /** In the `pairs` batch: the two changes it takes out together (their companions come along in `removed`). */
  pair?: [number, number];
}

export interface FinalizeBatchRecord {
  type: "batch";
  attempt: number;
  batch: FinalizeBatch;
  at: string;
  variants: FinalizeVariant[];
  rounds: number;
  plannedRuns: number;
  /** Why this batch runs (the pairs measured and why; the changes the smallest set leaves out). */
  why?: string;
}

export interface FinalizeRun {
  type: "run";
  attempt: number;
  batch: FinalizeBatch;
  kind: FinalizeRunKind;
  removed: number[];
  code: string;
  commit: string;
  /** Round r: every variant of a batch runs once a round, with the same seed, between the best's two runs of that round. */
  round: number;
  /** The best's second run of its round (the one after the other variants); absent for every other run. */
  repeat?: number;
  seed: number;
  /** ok: it printed a finite metric; crash: it did not (reason / detail say why). */
  status: "ok" | "crash";
  reason?: string;
  detail?: string;
  metric: number | null;
  memGb: number | null;
  params: number | null;
  steps?: number;
  trainingSec?: number;
  durationSec: number;
  pendingSec?: number;
  worker: number;
  device?: string | null;
  host?: string;
  startedAt: string;
  finishedAt: string;
  /** Its log, relative to the session's records folder. */
  log: string;
}

/** A loss estimate from paired rounds: positive = the metric is worse without it (in either direction). */
export interface LossEstimate {
  /** Mean loss (metric units, oriented: positive = worse without it). */
  mean: number;
  /** Spread of one round's loss (sample sd), null with one round. */
  sd: number | null;
  /** Standard error of the mean (pooled over every variant's rounds). */
  se: number;
  /** mean / se. */
  z: number;
  /** Rounds it rests on (rounds where both runs printed a metric). */
  rounds: number;
}

export interface ChangeVerdict {
  change: number;
  description: string;
  keptDelta: number | null;
  /** The loss when it is taken out (against the best; a change taken out with companions: against the best without them). */
  loss: LossEstimate | null;
  verdict: ChangeVerdictName;
  /** One-sided confidence that taking it out loses something (normal approximation of z), 0..1. */
  confidence: number | null;
  /** Its loss as a share of the best's gain over the baseline, when that gain is known. */
  share: number | null;
  /** Changes it was taken out together with (it cannot be taken out alone). */
  removedWith?: number[];
  /** Changes it depends on, or that depend on it (textual or measured): named together. */
  dependsOn?: number[];
  /** One line that explains anything beyond the verdict. */
  note?: string;
}

/** Two changes measured taken out together: their interaction. */
export interface PairFinding {
  changes: [number, number];
  /** loss(a) + loss(b) - loss(a and b): > 0 they help only together, < 0 each stands in for the other. */
  interaction: LossEstimate;
  dependent: boolean;
  kind: "together" | "either" | "independent";
  why: string;
}

export interface SmallestSet {
  /** The kept changes taken out of the best for it ([] = the best itself is the smallest set). */
  removed: number[];
  /** The changes it keeps, oldest first. */
  kept: number[];
  /** Its loss against the best over its rounds (null when nothing was removed or nothing measured). */
  loss: LossEstimate | null;
  /** As good as the best within noise (its loss shown to be below `margin`): it is the final code. */
  accepted: boolean;
  /** The within-noise line its loss had to stay under (WITHIN_NOISE noise floors), when known. */
  margin?: number;
  commit: string | null;
  why: string;
}

export interface FinalizeBranches {
  /** autoresearch/<tag>-final: the smallest set when accepted, else the best, on the base commit. */
  final: { branch: string; commit: string; holds: number[] } | null;
  /** autoresearch/<tag>-change-<n> for each change that matters, on the base commit. */
  changes: { change: number; branch: string; commit: string; holds: number[] }[];
  /** Changes that matter but could not be put on the base commit (with why). */
  skipped: { change: number; reason: string }[];
}

export interface FinalizeResult {
  type: "result";
  attempt: number;
  /** When the attempt was finished (ISO): the session's "finalized" time. */
  at: string;
  metric: string;
  direction: "min" | "max";
  /** The best's and the baseline's mean over this attempt's `changes` batch. */
  best: { id: number; commit: string; mean: number | null };
  baseline: { mean: number | null };
  /** The best's gain over the baseline measured here (oriented, positive = better), null when unknown. */
  gain: LossEstimate | null;
  /** How many standard errors a loss needed to count (Z, or Student-t's for a spread from few rounds). */
  critical?: number;
  verdicts: ChangeVerdict[];
  pairs: PairFinding[];
  smallestSet: SmallestSet;
  branches: FinalizeBranches;
  /** Runs this attempt made (all batches), and how many crashed. */
  runs: number;
  crashed: number;
}

export type FinalizeEntry = FinalizeHeader | FinalizeBatchRecord | FinalizeRun | FinalizeResult;

/**
 * finalize.jsonl, read-only: up to a torn or half-written last line (one being appended by a
 * finalize in flight, or cut by a kill); nothing is repaired here.
 */
export function readFinalizeEntries(path: string): FinalizeEntry[] {
  if (!existsSync(path)) return [];
  const out: FinalizeEntry[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const value = JSON.parse(line) as FinalizeEntry;
      if (value && typeof value === "object" && typeof value.type === "string") out.push(value);
    } catch {
      break;
    }
  }
  return out;
}

/** One attempt's records: its settings (the last header), batches (the last plan of each), runs, and result when done. */
export interface FinalizeAttempt {
  attempt: number;
  header: FinalizeHeader;
  /** When it first started (its first header). */
  startedAt: string;
  batches: Partial<Record<FinalizeBatch, FinalizeBatchRecord>>;
  runs: FinalizeRun[];
  result: FinalizeResult | null;
}

/** Every attempt in the file, oldest first. */
export function finalizeAttempts(entries: readonly FinalizeEntry[]): FinalizeAttempt[] {
  const byAttempt = new Map<number, FinalizeAttempt>();
  for (const entry of entries) {
    if (entry.type === "header") {
      const known = byAttempt.get(entry.attempt);
      if (known) {
        // Continued with other settings (more runs): its earlier result no longer stands.
        known.header = entry;
        known.result = null;
      } else byAttempt.set(entry.attempt, { attempt: entry.attempt, header: entry, startedAt: entry.at, batches: {}, runs: [], result: null });
      continue;
    }
    const attempt = byAttempt.get(entry.attempt);
    if (!attempt) continue;
    if (entry.type === "batch") attempt.batches[entry.batch] = entry;
    else if (entry.type === "run") attempt.runs.push(entry);
    else if (entry.type === "result") attempt.result = entry;
  }
  return [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt);
}

/** The latest attempt, or null when the session was never finalized. */
export function latestFinalize(entries: readonly FinalizeEntry[]): FinalizeAttempt | null {
  return finalizeAttempts(entries).at(-1) ?? null;
}

/**
 * What the views say of a session's finalize: null when never started; else when it started, when
 * it finished (null while unfinished: stopped or running), runs made of planned, and the result.
 */
export interface FinalizeStatus {
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  runsDone: number;
  runsPlanned: number;
  result: FinalizeResult | null;
}

export function finalizeStatus(entries: readonly FinalizeEntry[]): FinalizeStatus | null {
  const latest = latestFinalize(entries);
  if (!latest) return null;
  const planned = Object.values(latest.batches).reduce((sum, b) => sum + (b?.plannedRuns ?? 0), 0);
  return {
    attempt: latest.attempt,
    startedAt: latest.startedAt,
    finishedAt: latest.result?.at ?? null,
    runsDone: latest.runs.length,
    runsPlanned: Math.max(planned, latest.header.plannedRuns),
    result: latest.result,
  };
}

/** Reads a session's finalize.jsonl and says where it stands (the views' one call). */
export function readFinalizeStatus(path: string): FinalizeStatus | null {
  return finalizeStatus(readFinalizeEntries(path));
}

/**
 * The writer: finalize's own process appends, each line fsynced before the next run is counted
 * as done. Kept in memory as written, so a run that rewrote the file (an unconfined run can reach
 * it) is undone: `verify` puts back exactly what was written.
 */
export class FinalizeLog {
  private entries: FinalizeEntry[] | null = null;
  private text = "";

  constructor(readonly path: string) {}

  /** What is recorded (read once; our own appends after). A torn last line left by a kill is cut off first. */
  all(): readonly FinalizeEntry[] {
    if (this.entries === null) this.load();
    return this.entries as FinalizeEntry[];
  }

  append(entry: FinalizeEntry): void {
    if (this.entries === null) this.load();
    else this.verify();
    const line = `${JSON.stringify(entry)}\n`;
    appendDurable(this.path, line);
    this.text += line;
    (this.entries as FinalizeEntry[]).push(entry);
  }

  /** Puts the file back when it no longer holds exactly what was written. True when it had to. */
  verify(): boolean {
    if (this.entries === null) return false;
    const actual = existsSync(this.path) ? readFileSync(this.path, "utf8") : "";
    if (actual === this.text) return false;
    writeAtomic(this.path, this.text);
    return true;
  }

  private load(): void {
    const raw = existsSync(this.path) ? readFileSync(this.path, "utf8") : "";
    const entries: FinalizeEntry[] = [];
    let good = "";
    for (const line of raw.split("\n")) {
      if (line.trim() === "") continue;
      try {
        entries.push(JSON.parse(line) as FinalizeEntry);
        good += `${line}\n`;
      } catch {
        // A kill mid-append tears only the last line: what follows it is not a record.
        break;
      }
    }
    if (good !== raw && existsSync(this.path)) writeAtomic(this.path, good);
    this.entries = entries;
    this.text = good;
  }
}
