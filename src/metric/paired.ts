/**
 * Paired decisions: a candidate and its parent run in turn on the same worker (ABBA order), and
 * the candidate is judged on the differences of the pairs. A slow drift of the machine's speed
 * (load, thermals) moves both runs of a pair alike, so it cancels in the difference, where it
 * would decide a comparison of a run now with a mean measured minutes ago. A sequential rule
 * stops as soon as the answer is clear. Pure: src/search/apply-keep-rule.ts makes the runs.
 */
import { mean } from "./noise.js";
import type { NoiseEstimate } from "./noise.js";

/**
 * A decision's pairs alternate in order (A B, then B A, ...): a drift within a pair favours one
 * order and penalises the other by the same amount. So a decision's gain is the mean of the two
 * orders' means, and its spread is measured around each order's own mean: a linear drift cancels
 * in both. Pair i is in order i % 2.
 */
function orderSplit(gains: readonly number[]): { gain: number; sumSq: number; dof: number; seFactor: number } {
  const groups = [gains.filter((_, i) => i % 2 === 0), gains.filter((_, i) => i % 2 === 1)].filter((g) => g.length > 0);
  const means = groups.map(mean);
  let sumSq = 0;
  for (const [j, g] of groups.entries()) sumSq += g.reduce((a, v) => a + (v - (means[j] as number)) ** 2, 0);
  const dof = gains.length - groups.length;
  // The gain's variance in units of one pair's: (1/n0 + 1/n1) / 4 for both orders, 1/n for one.
  const seFactor = groups.length === 2 ? Math.sqrt((1 / (groups[0] as number[]).length + 1 / (groups[1] as number[]).length) / 4) : 1 / Math.sqrt(gains.length);
  return { gain: mean(means), sumSq, dof, seFactor };
}

/**
 * The spread of a paired difference, pooled over paired decisions (each a list of gains, one a
 * pair, in the order they ran), each measured around its order's mean (orderSplit). Null until
 * some decision has a degree of freedom.
 */
export function pairedNoise(decisions: Iterable<readonly number[]>): NoiseEstimate | null {
  let sumSq = 0;
  let dof = 0;
  let groups = 0;
  for (const gains of decisions) {
    const finite = gains.filter(Number.isFinite);
    const split = orderSplit(finite);
    if (split.dof < 1) continue;
    sumSq += split.sumSq;
    dof += split.dof;
    groups++;
  }
  return dof === 0 ? null : { sd: Math.sqrt(sumSq / dof), dof, groups };
}

export interface PairedInput {
  /** Each pair's gain of the candidate over its parent (positive = better, in the metric's direction), in the order they ran. */
  gains: readonly number[];
  /** The spread of a pair's difference from the session's earlier paired decisions, null when none. */
  prior: NoiseEstimate | null;
  /** Used while fewer than two degrees of freedom are known: √2 × the noise floor of single runs. */
  fallbackSd: number;
  /** Z: keep when the mean gain is more than Z standard errors above zero. */
  confidence: number;
  /** At most this many pairs. */
  maxPairs: number;
}

export interface PairedVerdict {
  state: "keep" | "discard" | "continue";
  /** Mean gain over the pairs (the mean of the two orders' means). */
  gain: number;
  /** Its standard error. */
  se: number;
  /** gain / se. */
  z: number;
  detail: string;
}

/**
 * The sequential rule after each pair: keep as soon as the gain is more than Z standard errors
 * above zero (Student-t while the spread rests on few pairs); after a full block of both orders,
 * stop and discard as soon as it is not above zero at all (clearly not better: one pair alone
 * can be bent by a drift); otherwise run another pair, and at the last pair keep only above the
 * bar. The spread of a difference is pooled with the session's earlier pairs, so one pair can
 * keep once the session knows how much pairs vary (two degrees of freedom at least).
 */
export function pairedVerdict(input: PairedInput): PairedVerdict {
  const k = input.gains.length;
  const split = orderSplit(input.gains);
  const m = split.gain;
  const dof = (input.prior?.dof ?? 0) + split.dof;
  const sumSq = (input.prior ? input.prior.sd ** 2 * input.prior.dof : 0) + split.sumSq;
  const sd = dof >= 2 && sumSq > 0 ? Math.sqrt(sumSq / dof) : input.fallbackSd;
  const se = sd * split.seFactor;
  const z = se > 0 ? m / se : m > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  const pairs = `${k} pair${k === 1 ? "" : "s"}`;
  const gainText = `${m >= 0 ? "+" : ""}${m.toPrecision(3)}`;
  // A keep needs the spread of a pair known from pairs (this decision's or earlier ones), not only
  // guessed from single runs, and more standard errors while that spread rests on few pairs.
  const need = dof >= 2 ? studentCritical(input.confidence, dof) : Number.POSITIVE_INFINITY;
  const needText = need.toFixed(1);
  if (z > need) return { state: "keep", gain: m, se, z, detail: `better than its parent on ${pairs}: mean gain ${gainText}, ${z.toFixed(1)} standard errors, more than the ${needText} needed` };
  if (k >= 2 && !(m > 0)) return { state: "discard", gain: m, se, z, detail: `not better than its parent on ${pairs} (mean gain ${gainText})` };
  if (k >= input.maxPairs) return { state: "discard", gain: m, se, z, detail: `mean gain ${gainText} on ${pairs} is ${z.toFixed(1)} standard errors, not more than the ${Number.isFinite(need) ? needText : input.confidence} needed` };
  return { state: "continue", gain: m, se, z, detail: `${pairs}: mean gain ${gainText}, ${z.toFixed(1)} standard errors` };
}

/**
 * The Student t value with `dof` degrees of freedom that is as rare as the normal value `z`
 * (Cornish-Fisher expansion; within 7% at 2 degrees of freedom, exact in the limit): a spread
 * estimated from few pairs is itself uncertain, so a keep needs more standard errors.
 */
export function studentCritical(z: number, dof: number): number {
  return z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof ** 2);
}

/** What driftSpread reads of a record: its first run, its parent's runs in pairs, and the parent's measured metric then. */
export interface PairedRecord {
  status: string;
  metric: number | null;
  runs?: readonly { metric: number | null }[];
  parentRuns?: readonly { metric: number | null }[];
  bestBefore?: number | null;
}

/** How many of the latest decisions driftSpread reads: a drift that moved long ago is over. */
export const DRIFT_WINDOW = 8;

/**
 * How far a run lands from the measured metric it is compared with, lately: over the latest
 * decisions, each first run and each of the parent's paired runs against the parent's measured
 * metric at the time (bestBefore), as a robust scale (the median distance / 0.674, which is the
 * standard deviation for normal noise). On a quiet machine this is about the noise floor; under
 * a slow drift (load, thermals) it is larger, because a number measured earlier is compared with
 * a run now, and a change's own effect counts only when most changes have a large one. The band
 * of the paired rule widens with it, so a first run the drift moved is paired rather than
 * decided alone. Null until three such runs are recorded.
 */
export function driftSpread(records: readonly PairedRecord[]): number | null {
  const distances: number[] = [];
  const decided = records.filter((r) => r.status !== "crash" && typeof r.bestBefore === "number" && Number.isFinite(r.bestBefore));
  for (const r of decided.slice(-DRIFT_WINDOW)) {
    const reference = r.bestBefore as number;
    const first = r.runs?.[0]?.metric ?? (r.parentRuns?.length ? null : r.metric);
    for (const v of [first, ...(r.parentRuns ?? []).map((a) => a.metric)]) if (v !== null && Number.isFinite(v)) distances.push(Math.abs(v - reference));
  }
  if (distances.length < 3) return null;
  distances.sort((x, y) => x - y);
  const mid = distances.length / 2;
  const median = distances.length % 2 ? (distances[Math.floor(mid)] as number) : ((distances[mid - 1] as number) + (distances[mid] as number)) / 2;
  return median / 0.674;
}
