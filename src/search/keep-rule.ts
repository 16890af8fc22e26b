/**
 * The session's keep rule: one object, built once when the session is set up or resumed (and by
 * the `confirm` command from the session's config), held on the session and asked by every
 * decision, the stale check, the brief and `confirm`. Pure: the runs it asks for are made by
 * apply-keep-rule.ts; decide.ts says what one run is (crash, better, worse) and this says whether
 * "better" is enough. Its settings and text come from src/config/keep-rules.ts, where the reports
 * read them too.
 */
import { describeKeepRule, type KeepRuleSettings, keepRuleSettings } from "../config/keep-rules.js";
import type { ResearchConfig } from "../config/options.js";
import { type Direction, formatMinDelta, gain, type MinDelta, mean, requiredGain } from "../metric/index.js";
import { formatDelta } from "../report/format.js";
import type { Decision } from "./decide.js";

export interface KeepRule extends KeepRuleSettings {
  /** The rule in words, for the proposers' brief and the summary. */
  readonly text: string;
  /** Runs a would-be keep gets after its first: the confirmation runs under `confirm`, else none. */
  readonly extraRuns: number;
  /** Whether a would-be keep runs anything more in its clone (checks or confirmation runs). */
  readonly runsMore: boolean;
  /** AUTORESEARCH_SEED of an experiment's run `index` (0 = the first run, the same for every experiment, so comparisons are paired). */
  seedOf(index: number): number;
  /**
   * Under `threshold`: a discard when a first run better than `against` does not beat it by
   * --min-delta; null when the rule has nothing to say (another rule, or not an improvement).
   */
  belowThreshold(first: Decision, metric: number, against: number, direction: Direction): Decision | null;
  /**
   * Under `confirm`: a discard when a first run better than the best beats it by no more than
   * (Z - 1) × the noise floor, so its confirmation runs are not worth making; null otherwise.
   */
  notWorthConfirming(first: Decision, metric: number, best: number, direction: Direction, noise: number | null): Decision | null;
  /** Under `confirm` with a band: first runs within it of their parent are decided on pairs. */
  readonly paired: boolean;
  /**
   * Under paired `confirm`: where a first run stands against its parent's measured metric, in
   * noise floors: "pair" inside the band (either side), "better"/"worse" outside it; null when the
   * rule does not pair or the noise floor is not known yet.
   */
  placeOf(metric: number, parent: number, direction: Direction, noise: number | null): "pair" | "better" | "worse" | null;
  /** AUTORESEARCH_SEED of the n-th run of a parent made in paired decisions (apart from its own runs' seeds). */
  parentSeedOf(n: number): number;
  /** Under `confirm`: the verdict on a would-be keep's runs (its first included). */
  verdict(input: Omit<ConfirmInput, "confidence">): ConfirmVerdict;
}

/** The keep rule of a resolved config (a session's: built once, see SessionState.keepRule). */
export function keepRuleOf(config: ResearchConfig): KeepRule {
  const settings = keepRuleSettings(config);
  const confirming = settings.name === "confirm";
  return {
    ...settings,
    text: describeKeepRule(settings),
    extraRuns: confirming ? settings.confirmRuns : 0,
    runsMore: confirming || settings.checks.length > 0,
    seedOf: (index) => settings.runSeed + index,
    belowThreshold: (first, metric, against, direction) =>
      first.reason === "improved" && settings.name === "threshold" && settings.minDelta ? thresholdVerdict(metric, against, direction, settings.minDelta) : null,
    notWorthConfirming: (first, metric, best, direction, noise) => (first.reason === "improved" && confirming ? hopeless(metric, best, direction, noise, settings.confidence) : null),
    verdict: (input) => confirmVerdict({ ...input, confidence: settings.confidence }),
    paired: confirming && settings.pairBand > 0,
    placeOf: (metric, parent, direction, noise) => {
      if (!confirming || !(settings.pairBand > 0) || noise === null || !(noise > 0)) return null;
      const c = (gain(metric, parent, direction) ?? 0) / noise;
      return Math.abs(c) <= settings.pairBand ? "pair" : c > 0 ? "better" : "worse";
    },
    parentSeedOf: (n) => settings.runSeed + PARENT_SEEDS + n,
  };
}

/** Seeds of a parent's runs in pairs start here, so they repeat none of its own runs' seeds. */
const PARENT_SEEDS = 1000;

/**
 * A first run that beats the best by less than (Z - 1) × the noise floor is not worth
 * confirming: for its mean to clear Z × noise, the other runs would have to beat its own gain by
 * a full noise floor on average. Discarding it here saves the confirmation runs of most changes
 * that do nothing (half of which beat the best on one run by luck).
 */
function hopeless(metric: number, best: number, direction: Direction, noise: number | null, confidence: number): Decision | null {
  if (noise === null || !(noise > 0)) return null;
  const c = (gain(metric, best, direction) ?? 0) / noise;
  const need = Math.max(0, confidence - 1);
  if (c > need) return null;
  return { status: "discard", reason: "within-noise", detail: `one run ${c.toFixed(1)}× the noise floor ${noise.toPrecision(3)} better: not more than the ${need}× worth confirming` };
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
