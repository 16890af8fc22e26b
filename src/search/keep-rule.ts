/**
 * The keep rule in force (how sure a gain must be before it is kept), as data and as words. Pure: the runs it needs are made by
 * confirm.ts; decide.ts still says what one run is (crash, better, worse) and this module says
 * whether "better" is enough.
 */
import { DEFAULT_CONFIDENCE, DEFAULT_CONFIRM_RUNS, type KeepRule } from "../config/keep-rules.js";
import type { ResearchConfig } from "../config/options.js";
import { type Direction, formatMinDelta, gain, type MinDelta, mean, parseMinDelta, requiredGain } from "../metric/index.js";
import { formatDelta } from "../report/format.js";
import type { Decision } from "./decide.js";

export interface KeepPolicy {
  rule: KeepRule;
  minDelta: MinDelta | null;
  /** Extra runs of a would-be keep under `confirm`. */
  confirmRuns: number;
  /** Z: the mean must beat the best by more than Z × the noise floor. */
  confidence: number;
  checks: string[];
  /** AUTORESEARCH_SEED of every experiment's first run; repeat k gets runSeed + k. */
  runSeed: number;
  /** Runs of the baseline, after `confirm` raised a single one to two. */
  baselineRuns: number;
  /** True when `confirm` raised --baseline-runs 1 to 2 (it needs a noise floor from the start). */
  baselineRaised: boolean;
}

/** The policy of a resolved config; sessions recorded before these keys existed get the spec's rule. */
export function keepPolicy(config: ResearchConfig): KeepPolicy {
  const rule = config.keepRule ?? "any";
  const asked = config.baselineRuns ?? 1;
  const baselineRaised = rule === "confirm" && asked < 2;
  return {
    rule,
    minDelta: config.minDelta === undefined ? null : parseMinDelta(config.minDelta),
    confirmRuns: config.confirmRuns ?? DEFAULT_CONFIRM_RUNS,
    confidence: config.confidence ?? DEFAULT_CONFIDENCE,
    checks: config.checks ?? [],
    runSeed: config.runSeed ?? 0,
    baselineRuns: baselineRaised ? 2 : asked,
    baselineRaised,
  };
}

/** The seed of an experiment's run `index` (0 = the first run, the same for every experiment, so comparisons are paired). */
export function seedOf(policy: Pick<KeepPolicy, "runSeed">, index: number): number {
  return policy.runSeed + index;
}

/** The keep rule in words, for the proposers' brief (a test reads the brief of a real run). */
export function keepRuleText(policy: KeepPolicy): string {
  const reset = "otherwise the branch is reset to the best.";
  const checks = policy.checks.length > 0 ? ` A would-be keep must also pass the correctness check(s) (${policy.checks.join("; ")}), or it is discarded as check-failed.` : "";
  switch (policy.rule) {
    case "any":
      return `a change is kept when its one run's metric is better than the best so far by any margin; ${reset}${checks}`;
    case "threshold":
      return `a change is kept when its one run's metric beats the best so far by more than ${formatMinDelta(policy.minDelta ?? { value: 0, percent: false })}${policy.minDelta?.percent ? " of the best" : ""}; ${reset}${checks}`;
    case "confirm":
      return `a change whose first run beats the best by more than ${Math.max(0, policy.confidence - 1)} × the noise floor (the spread of repeated runs of the same code) is re-run ${policy.confirmRuns} more time(s) with other seeds, and kept only when the mean of its runs beats the best's mean by more than ${policy.confidence} × the noise floor; ${reset} Seed changes are never improvements.${checks}`;
  }
}

/** Under `threshold`: a discard when a better first run does not beat the best by --min-delta, else null. */
export function thresholdVerdict(metric: number, best: number, direction: Direction, minDelta: MinDelta): Decision | null {
  const need = requiredGain(minDelta, best);
  const got = gain(metric, best, direction) ?? 0;
  if (got > need) return null;
  return {
    status: "discard",
    reason: "below-threshold",
    detail: `${formatDelta(metric - best)} is not more than --min-delta ${formatMinDelta(minDelta)}${minDelta.percent ? ` (${need.toPrecision(3)})` : ""}`,
  };
}

export interface ConfirmInput {
  /** The candidate's metrics, its first run included. */
  runs: readonly number[];
  /** The best's metric (the mean of its runs). */
  best: number;
  direction: Direction;
  /** The noise floor with the candidate's runs pooled in; null when still unknown. */
  noise: number | null;
  confidence: number;
}

export interface ConfirmVerdict {
  keep: boolean;
  mean: number;
  /** gain / noise, null when the noise is unknown. */
  confidence: number | null;
  detail: string;
}

/**
 * Under `confirm`: keep when mean(runs) beats the best by more than Z × noise. With no noise
 * estimate at all (a session recorded before it was measured), a better mean is enough and
 * the detail says so.
 */
export function confirmVerdict(input: ConfirmInput): ConfirmVerdict {
  const m = mean(input.runs);
  const g = gain(m, input.best, input.direction) ?? Number.NEGATIVE_INFINITY;
  const change = formatDelta(m - input.best);
  if (input.noise === null || !(input.noise > 0)) {
    const keep = g > 0;
    return { keep, mean: m, confidence: null, detail: `mean ${change} vs the best; noise unknown, so ${keep ? "kept on the mean" : "not better on the mean"}` };
  }
  const confidence = g / input.noise;
  const keep = confidence > input.confidence;
  return {
    keep,
    mean: m,
    confidence,
    detail: keep
      ? `${confidence.toFixed(1)}× the noise floor ${input.noise.toPrecision(3)}, more than the ${input.confidence}× needed`
      : `mean ${change} vs the best is ${confidence.toFixed(1)}× the noise floor ${input.noise.toPrecision(3)}, not more than the ${input.confidence}× needed`,
  };
}
