/**
 * Paired decisions: a candidate and its parent run in turn on the same worker (ABBA order), and
 * the candidate is judged on the differences of the pairs. A slow drift of the machine's speed
 * (load, thermals) moves both runs of a pair alike, so it cancels in the difference, where it
 * would decide a comparison of a run now with a mean measured minutes ago. A sequential rule
 * stops as soon as the answer is clear. Pure: src/search/apply-keep-rule.ts makes the runs.
 */
import { mean } from "./noise.js";
import type { NoiseEstimate } from "./noise.js";
export { type Pair, type PairedRuns, pairsOf } from "./pairs.js";

/**
 * A decision's pairs alternate in order (A B, then B A, ...): a drift within a pair favours one
 * order and penalises the other by the same amount. So a decision's gain is the mean of the two
 * orders' means: a linear drift cancels in it. Pair i is in order i % 2.
 */
function orderSplit(gains: readonly number[]): { gain: number; seFactor: number } {
  const groups = [gains.filter((_, i) => i % 2 === 0), gains.filter((_, i) => i % 2 === 1)].filter((g) => g.length > 0);
  // The gain's variance in units of one pair's: (1/n0 + 1/n1) / 4 for both orders, 1/n for one.
  const seFactor = groups.length === 2 ? Math.sqrt((1 / (groups[0] as number[]).length + 1 / (groups[1] as number[]).length) / 4) : 1 / Math.sqrt(gains.length);
  return { gain: mean(groups.map(mean)), seFactor };
}

/**
 * The spread of a paired difference, pooled over paired decisions (each a list of gains, one a
 * pair, in the order they ran), each measured around its own mean (n - 1 degrees of freedom, so
 * a decision of two pairs counts: a drift within a pair, which the order split takes out of the
 * gain, stays in this spread and only widens it), and over runs of identical code made back to
 * back (`successive`: the
 * baseline's runs, confirmation runs): the difference of two such runs varies as a pair's does
 * when the change does nothing, and a slow drift hardly moves it, where it moves the noise floor
 * of runs pooled across the session. Null until some degree of freedom is known.
 */
export function pairedNoise(decisions: Iterable<readonly number[]>, successive: Iterable<readonly number[]> = []): NoiseEstimate | null {
  let sumSq = 0;
  let dof = 0;
  let groups = 0;
  for (const gains of decisions) {
    const finite = gains.filter(Number.isFinite);
    if (finite.length < 2) continue;
    const m = mean(finite);
    sumSq += finite.reduce((a, v) => a + (v - m) ** 2, 0);
    dof += finite.length - 1;
    groups++;
  }
  for (const runs of successive) {
    const finite = runs.filter(Number.isFinite);
    if (finite.length < 2) continue;
    for (let i = 1; i < finite.length; i++) sumSq += ((finite[i] as number) - (finite[i - 1] as number)) ** 2;
    dof += finite.length - 1;
    groups++;
  }
  return dof === 0 ? null : { sd: Math.sqrt(sumSq / dof), dof, groups };
}

/**
 * The sequential rule's futility bound: a decision stops as "not better" as soon as its mean gain
 * is less than FUTILITY_Z standard errors above zero. Chosen by bench/keeps.mjs (the drift part,
 * the search mix, 12 seeds): most candidates of a real search do nothing or harm a little, and
 * pairs spent on them are most of the rule's cost. 0.25 lost 20% of the changes 2 or 4 noise floors
 * better at 3.06× the runs of `any`; 0.5 lost 25% at 2.73×; 0.75 and 1 lost 36-40%.
 */
export const FUTILITY_Z = 0.25;

/**
 * A keep waits until a pair's spread rests on this many degrees of freedom: the two baseline runs
 * alone (one) can be ten times too close by chance (the keeps bench on a quiet machine kept 6% of
 * its no-ops on such a spread).
 */
export const MIN_KEEP_DOF = 4;

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
 * above zero (Student-t while the spread rests on few pairs: the efficacy bound); stop and
 * discard as soon as it is less than FUTILITY_Z standard errors above zero (the futility bound:
 * not better, or too little to be worth more pairs); otherwise run another pair, and at the last
 * pair keep only above the bar. The spread of a difference is pooled with the session's earlier
 * pairs, so one pair can keep once the session knows how much pairs vary (two degrees of freedom
 * at least).
 */
export function pairedVerdict(input: PairedInput): PairedVerdict {
  const k = input.gains.length;
  const split = orderSplit(input.gains);
  const m = split.gain;
  const own = pairedNoise([input.gains]);
  const dof = (input.prior?.dof ?? 0) + (own?.dof ?? 0);
  const sumSq = (input.prior ? input.prior.sd ** 2 * input.prior.dof : 0) + (own ? own.sd ** 2 * own.dof : 0);
  // One degree of freedom (the baseline's two runs) is enough to stop a change that is not
  // better; a keep needs two at least (below).
  const sd = dof >= 1 && sumSq > 0 ? Math.sqrt(sumSq / dof) : input.fallbackSd;
  const se = sd * split.seFactor;
  const z = se > 0 ? m / se : m > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  const pairs = `${k} pair${k === 1 ? "" : "s"}`;
  const gainText = `${m >= 0 ? "+" : ""}${m.toPrecision(3)}`;
  // A keep needs the spread of a pair measured (from pairs and back-to-back runs, this decision's
  // or earlier ones) on MIN_KEEP_DOF degrees of freedom at least, not guessed from single runs, and
  // more standard errors while it rests on few.
  const need = dof >= MIN_KEEP_DOF ? studentCritical(input.confidence, dof) : Number.POSITIVE_INFINITY;
  const needText = need.toFixed(1);
  // A keep waits for both orders (two pairs): one pair alone is bent by a drift within it, which
  // the spread (measured around each order's mean) does not show.
  if (k >= 2 && z > need) return { state: "keep", gain: m, se, z, detail: `better than its parent on ${pairs}: mean gain ${gainText}, ${z.toFixed(1)} standard errors, more than the ${needText} needed` };
  if (z < FUTILITY_Z) return { state: "discard", gain: m, se, z, detail: `not better than its parent on ${pairs}: mean gain ${gainText}, ${z.toFixed(1)} standard errors, less than the ${FUTILITY_Z} to go on` };
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
  parentRuns?: readonly { metric: number | null; reused?: boolean }[];
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
    const parents = (r.parentRuns ?? []).filter((a) => !a.reused).map((a) => a.metric);
    for (const v of [first, ...parents]) if (v !== null && Number.isFinite(v)) distances.push(Math.abs(v - reference));
  }
  if (distances.length < 3) return null;
  distances.sort((x, y) => x - y);
  const mid = distances.length / 2;
  const median = distances.length % 2 ? (distances[Math.floor(mid)] as number) : ((distances[mid - 1] as number) + (distances[mid] as number)) / 2;
  return median / 0.674;
}
