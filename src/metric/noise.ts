/**
 * How much a metric moves between runs of the same code, and how far a change stands above
 * that. The noise floor is the standard deviation of single runs, pooled over every group of
 * runs of identical code (DESIGN: "Noise floor"); a change's confidence is its gain divided by
 * the noise floor. One place, so the keep rule, the terminal, the reports and the dashboard agree.
 */
import { gain } from "./compare.js";
import { pairsOf } from "./pairs.js";
import type { Direction, Status } from "../types.js";

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Sample standard deviation (n - 1); null for fewer than two values. */
export function sampleSd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values);
  return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1));
}

export interface NoiseEstimate {
  /** Pooled standard deviation of single runs. */
  sd: number;
  /** Degrees of freedom behind it: runs minus groups (more is surer). */
  dof: number;
  /** Groups of identical code that ran at least twice. */
  groups: number;
}

/**
 * The pooled standard deviation over groups of runs of identical code: sqrt(Σ squared
 * deviations from each group's mean / Σ (n - 1)). Groups of one run say nothing about noise and
 * are skipped. Null until some code has run twice.
 */
export function pooledNoise(groups: Iterable<readonly number[]>): NoiseEstimate | null {
  let sumSq = 0;
  let dof = 0;
  let count = 0;
  for (const values of groups) {
    const finite = values.filter(Number.isFinite);
    if (finite.length < 2) continue;
    const m = mean(finite);
    sumSq += finite.reduce((a, v) => a + (v - m) ** 2, 0);
    dof += finite.length - 1;
    count++;
  }
  return dof === 0 ? null : { sd: Math.sqrt(sumSq / dof), dof, groups: count };
}

/** What the noise floor is estimated from: each experiment's code and the metric of each of its runs. */
export interface RunsOfCode {
  /** Identifies the code (the training script's hash, or a commit). */
  code: string;
  metrics: readonly number[];
}

/** Groups every run of the same code together, across experiments (a re-run of old code adds to its group). */
export function noiseFromRuns(items: Iterable<RunsOfCode>): NoiseEstimate | null {
  const groups = new Map<string, number[]>();
  for (const item of items) {
    const list = groups.get(item.code) ?? [];
    list.push(...item.metrics.filter(Number.isFinite));
    groups.set(item.code, list);
  }
  return pooledNoise(groups.values());
}

/**
 * A change's confidence: its gain (positive = better, in the metric's direction) in units of
 * the noise floor. Null when either is unknown or the noise is zero.
 */
export function confidence(metric: number | null | undefined, reference: number | null | undefined, direction: Direction, noise: number | null): number | null {
  const g = gain(metric, reference, direction);
  if (g === null || noise === null || !(noise > 0)) return null;
  return g / noise;
}

/** Below this confidence a gain is called "within noise" everywhere it is shown. */
export const WITHIN_NOISE = 2;

/** "3.1× noise" or "0.8× noise, within noise". */
export function describeConfidence(value: number | null): string | null {
  if (value === null) return null;
  const x = `${value.toFixed(1)}× noise`;
  return value < WITHIN_NOISE ? `${x}, within noise` : x;
}

/**
 * How a gain (a keep over what it was decided against, or the best over the baseline) stands
 * against the noise floor, in the words every place that shows a keep or the best uses; `within`
 * when it could be luck. Null when there is nothing to say: no gain, or a noise floor measured at
 * 0 (runs of the same code agree exactly, so a gain is what it is). A noise floor never measured
 * (one baseline run, no code re-run) leaves every gain a single unrepeated run: said so.
 */
export function gainStanding(metric: number | null | undefined, reference: number | null | undefined, direction: Direction, noise: number | null): { within: boolean; text: string } | null {
  const g = gain(metric, reference, direction);
  if (g === null || !(g > 0) || noise === 0) return null;
  if (noise === null) return { within: true, text: "never re-measured, no noise floor" };
  const c = g / noise;
  return c < WITHIN_NOISE ? { within: true, text: `${c.toFixed(1)}× the noise floor, within noise: could be luck` } : { within: false, text: `${c.toFixed(1)}× the noise floor` };
}

/** What a keep decided against the load its runs read carries (src/types.ts ExperimentRecord loadDelta, loadSe). */
export interface LoadAdjusted {
  loadDelta?: number;
  loadSe?: number;
}

/**
 * What a record's keep stands on beyond its own runs: the parent/change pairs it was decided on
 * (0: none), or its difference from its parent at the same load and that difference's standard
 * error when it was decided against the load its runs read (its parent's runs beside it are then
 * no pairs).
 */
export function decidedOn(r: LoadAdjusted & { parentRuns?: readonly unknown[] }): { pairs: number; loadAdjusted?: LoadAdjusted } {
  if (r.loadDelta === undefined) return { pairs: r.parentRuns?.length ?? 0 };
  return { pairs: 0, loadAdjusted: { loadDelta: r.loadDelta, ...(r.loadSe !== undefined && { loadSe: r.loadSe }) } };
}

/**
 * A node decided against the load its runs read (src/metric/load-tracker.ts): its gain over its
 * parent at the same load in standard errors of that gain, which is what it was kept on (more
 * than the Z needed), not the raw noise floor (its runs ran at other loads than its parent's).
 * Undefined when it was not so decided; null when its standard error was not recorded.
 */
export function loadAdjustedConfidence(r: LoadAdjusted, direction: Direction): number | null | undefined {
  if (r.loadDelta === undefined) return undefined;
  if (!Number.isFinite(r.loadDelta) || r.loadSe === undefined || !(r.loadSe > 0)) return null;
  return (direction === "min" ? -r.loadDelta : r.loadDelta) / r.loadSe;
}

/** "load-adjusted, 3.1 standard errors" (", within noise" below WITHIN_NOISE), or "load-adjusted" when unknown. */
export function describeLoadAdjusted(z: number | null): string {
  if (z === null) return "load-adjusted";
  const x = `load-adjusted, ${z.toFixed(1)} standard errors`;
  return z < WITHIN_NOISE ? `${x}, within noise` : x;
}

/** `--min-delta`: an absolute amount of the metric, or a percent of the best when it ends in `%`. */
export interface MinDelta {
  value: number;
  percent: boolean;
}

export const MIN_DELTA = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*(%?)\s*$/;

export function parseMinDelta(text: string | number): MinDelta | null {
  if (typeof text === "number") return Number.isFinite(text) && text >= 0 ? { value: text, percent: false } : null;
  if (!MIN_DELTA.test(text)) return null;
  const percent = text.trim().endsWith("%");
  const value = Number(text.trim().replace(/%$/, ""));
  return Number.isFinite(value) && value >= 0 ? { value, percent } : null;
}

/** The smallest gain `minDelta` asks for against `best` (a percent of |best|, or the amount itself). */
export function requiredGain(minDelta: MinDelta, best: number): number {
  return minDelta.percent ? (Math.abs(best) * minDelta.value) / 100 : minDelta.value;
}

export function formatMinDelta(minDelta: MinDelta): string {
  return minDelta.percent ? `${minDelta.value}%` : String(minDelta.value);
}

/** What `noiseOfRecords` reads of an experiment record. */
export interface MeasuredRecord {
  status: Status;
  trainHash?: string;
  metric: number | null;
  runs?: readonly { metric: number | null }[];
  /** Its commit and its parent's, so re-runs of the parent recorded with it (parentRuns) join the parent's code. */
  commit?: string;
  parent?: string;
  /** Runs of its parent's code made beside it (paired decisions, src/search/apply-keep-rule.ts); a `reused` one is counted where it was first recorded. */
  parentRuns?: readonly { metric: number | null; reused?: boolean }[];
  /** Its first run is in its first pair (src/metric/pairs.ts). */
  firstPaired?: boolean;
  /** Runs of its code made by `autoresearch confirm` (src/ledger/measurements.ts). */
  confirmRuns?: readonly { metric: number | null }[];
  /** Decided against the load tracker: its metric less its parent's at the same load (src/metric/load-tracker.ts). */
  loadDelta?: number;
}

/** The single-run metrics of a record: each of its runs, or its one metric. */
export function runMetrics(record: MeasuredRecord): number[] {
  const values = record.runs && record.runs.length > 0 ? record.runs.map((r) => r.metric) : [record.metric];
  return values.filter((v): v is number => v !== null && Number.isFinite(v));
}

const finiteMetrics = (runs: readonly { metric: number | null }[] | undefined): number[] =>
  (runs ?? []).map((r) => r.metric).filter((v): v is number => v !== null && Number.isFinite(v));

/** A record's runs of its parent's code that are its own (not reused from an earlier record). */
const ownParentRuns = (r: MeasuredRecord): number[] => finiteMetrics((r.parentRuns ?? []).filter((a) => !a.reused));

/**
 * Every node's measured metric, by commit (records in decision order, parents before children):
 * - a node decided on pairs (it has parentRuns; src/metric/pairs.ts says which runs pair up) sits on its parent's
 *   scale: the parent's measured metric plus the mean difference of its pairs. Its runs and the
 *   parent's ran side by side, so a drift of the machine between then and the parent's own runs
 *   does not move it;
 *   Runs `autoresearch confirm` made of it later count beside that, one run as much as one pair;
 * - a node decided against the load its runs read (loadDelta, src/metric/load-tracker.ts) sits on its parent's
 *   scale too: the parent's measured metric plus its load-adjusted difference, weighed as its own runs;
 *   runs `confirm` made of it later count beside that, one run each;
 * - any other node: the mean of all its runs (its own, its confirmation runs, its runs as the
 *   parent in later pairs, and `confirm`'s), so a lucky first run is diluted as the node is run again.
 * Crashed nodes have none.
 */
export function measuredMeans(records: readonly (MeasuredRecord & { commit: string; parent: string })[]): Map<string, number> {
  const asParent = new Map<string, number[]>();
  for (const r of records) {
    if (r.parent !== r.commit && r.parentRuns) asParent.set(r.parent, [...(asParent.get(r.parent) ?? []), ...ownParentRuns(r)]);
  }
  const means = new Map<string, number>();
  for (const r of records) {
    if (r.status === "crash" || means.has(r.commit)) continue;
    const base = r.parentRuns && r.parentRuns.length > 0 ? means.get(r.parent) : undefined;
    const diffs: number[] = [];
    if (base !== undefined) {
      for (const { candidate: b, parent: a } of pairsOf(r)) if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) diffs.push(b - a);
    }
    const confirmed = finiteMetrics(r.confirmRuns);
    // Decided against the load tracker: on its parent's scale too (its own runs ran at other loads);
    // runs `confirm` made of it later are weighed with that estimate, which stands for its own runs, one run each.
    const parentMean = means.get(r.parent);
    if (r.loadDelta !== undefined && Number.isFinite(r.loadDelta) && parentMean !== undefined && r.parent !== r.commit) {
      const own = Math.max(1, runMetrics(r).length);
      means.set(r.commit, (own * (parentMean + r.loadDelta) + confirmed.reduce((a, v) => a + v, 0)) / (own + confirmed.length));
      continue;
    }
    if (base !== undefined && diffs.length > 0) {
      // Runs `confirm` made of it later are weighed with its pairs, one a pair.
      means.set(r.commit, (diffs.length * (base + mean(diffs)) + confirmed.reduce((a, v) => a + v, 0)) / (diffs.length + confirmed.length));
      continue;
    }
    const values = [...runMetrics(r), ...(asParent.get(r.commit) ?? []), ...confirmed];
    if (values.length > 0) means.set(r.commit, mean(values));
  }
  return means;
}

/** One node's measured metric (measuredMeans); its recorded metric when it has none. */
export function measuredMetric(records: readonly (MeasuredRecord & { commit: string; parent: string })[], node: MeasuredRecord & { commit: string }): number | null {
  return measuredMeans(records).get(node.commit) ?? node.metric;
}

/**
 * A session's noise floor: every run of every experiment that did not crash, grouped by the
 * training script's hash (identical code), so repeats within an experiment, re-runs of old
 * code across experiments, a parent's runs in paired decisions and `autoresearch confirm`'s runs
 * all count. The one function: the keep rule, the live line, `status`, the summary, the
 * dashboard and `confirm` all call it on the records (measurements joined). Robust: a run
 * further than 4 × the first estimate from its group's mean (a stalled machine, a stray
 * failure that still printed a number) is left out and the floor estimated again.
 */
export function noiseOfRecords(records: Iterable<MeasuredRecord>): NoiseEstimate | null {
  const list = [...records];
  const hashOf = new Map<string, string>();
  for (const r of list) if (r.commit && r.trainHash && !hashOf.has(r.commit)) hashOf.set(r.commit, r.trainHash);
  const items: RunsOfCode[] = [];
  for (const r of list) {
    if (r.status !== "crash" && r.trainHash) items.push({ code: r.trainHash, metrics: [...runMetrics(r), ...finiteMetrics(r.confirmRuns)] });
    const parentHash = r.parent !== undefined ? hashOf.get(r.parent) : undefined;
    if (parentHash && r.parentRuns) items.push({ code: parentHash, metrics: ownParentRuns(r) });
  }
  return robustNoise(items);
}

/** noiseFromRuns, then again without the runs beyond 4 × that estimate from their group's mean. */
export function robustNoise(items: readonly RunsOfCode[]): NoiseEstimate | null {
  const first = noiseFromRuns(items);
  if (!first || !(first.sd > 0)) return first;
  const groups = new Map<string, number[]>();
  for (const item of items) groups.set(item.code, [...(groups.get(item.code) ?? []), ...item.metrics.filter(Number.isFinite)]);
  const kept: RunsOfCode[] = [];
  for (const [code, values] of groups) {
    // A group of two cannot say which of its runs is the odd one: kept whole.
    if (values.length < 3) {
      kept.push({ code, metrics: values });
      continue;
    }
    const m = mean(values);
    kept.push({ code, metrics: values.filter((v) => Math.abs(v - m) <= 4 * first.sd) });
  }
  return noiseFromRuns(kept) ?? first;
}
