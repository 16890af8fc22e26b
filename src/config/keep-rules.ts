/**
 * The keep rules: their names, their settings as a session holds them, and their text. Apart from
 * the option table so readers need not load zod, and below the search (src/search/keep-rule.ts
 * builds the session's rule from this) so the reports can state the rule of a recorded session.
 */
import { formatMinDelta, type MinDelta, parseMinDelta } from "../metric/index.js";

export const KEEP_RULES = ["any", "threshold", "confirm"] as const;
export type KeepRuleName = (typeof KEEP_RULES)[number];
/**
 * A new session's keep rule and baseline runs when not given: noise-aware (issue 26), the noise
 * floor measured from the start. `--keep-rule any --baseline-runs 1` is the spec's plain loop.
 * (Sessions recorded without these keys ran under `any` with one baseline run: see keepRuleSettings.)
 */
export const DEFAULT_KEEP_RULE: KeepRuleName = "confirm";
export const DEFAULT_BASELINE_RUNS = 2;
/** `--confirm-runs` and `--confidence` when not given: the option table's defaults (also read for sessions recorded before them). */
export const DEFAULT_CONFIRM_RUNS = 2;
export const DEFAULT_CONFIDENCE = 2;
/** Under `confirm`, the most pairs of a paired decision when --confirm-runs is not given. */
export const DEFAULT_PAIRS = 4;

/** The settings of the keep rule in force, every default applied. */
export interface KeepRuleSettings {
  readonly name: KeepRuleName;
  readonly minDelta: MinDelta | null;
  /** Extra runs of a would-be keep under `confirm`. */
  readonly confirmRuns: number;
  /** Z: the mean must beat the best by more than Z × the noise floor. */
  readonly confidence: number;
  /**
   * Under `confirm`: a first run within pairBand × the noise floor of its parent, better or worse,
   * is decided on interleaved parent/candidate pairs; 0 turns pairing off (confirmation runs of a
   * better first run only, as before). Default: the confidence Z.
   */
  readonly pairBand: number;
  /** The most pairs of a paired decision: --confirm-runs, else DEFAULT_PAIRS. */
  readonly maxPairs: number;
  readonly checks: readonly string[];
  /** AUTORESEARCH_SEED of every experiment's first run; repeat k gets runSeed + k. */
  readonly runSeed: number;
  /** Runs of the baseline, after `confirm` raised a single one to two. */
  readonly baselineRuns: number;
  /** True when `confirm` raised --baseline-runs 1 to 2 (it needs a noise floor from the start). */
  readonly baselineRaised: boolean;
}

/**
 * The keep rule's fields of a resolved config (ResearchConfig), written out here because the
 * option table imports this module: optional, as sessions recorded before them lack them.
 */
export interface KeepRuleConfig {
  keepRule?: KeepRuleName;
  minDelta?: number | string;
  confirmRuns?: number;
  confidence?: number;
  pairBand?: number;
  checks?: string[];
  runSeed?: number;
  baselineRuns?: number;
}

/** The settings of a resolved config; sessions recorded before these keys existed get the spec's rule. */
export function keepRuleSettings(config: KeepRuleConfig): KeepRuleSettings {
  const name = config.keepRule ?? "any";
  const asked = config.baselineRuns ?? 1;
  const baselineRaised = name === "confirm" && asked < 2;
  return {
    name,
    minDelta: config.minDelta === undefined ? null : parseMinDelta(config.minDelta),
    confirmRuns: config.confirmRuns ?? DEFAULT_CONFIRM_RUNS,
    confidence: config.confidence ?? DEFAULT_CONFIDENCE,
    pairBand: config.pairBand ?? config.confidence ?? DEFAULT_CONFIDENCE,
    maxPairs: config.confirmRuns ?? DEFAULT_PAIRS,
    checks: config.checks ?? [],
    runSeed: config.runSeed ?? 0,
    baselineRuns: baselineRaised ? 2 : asked,
    baselineRaised,
  };
}

/** The keep rule in words, for the proposers' brief and the summary (a test reads the brief of a real run). */
export function describeKeepRule(rule: KeepRuleSettings): string {
  const reset = "otherwise the branch is reset to the best.";
  const checks = rule.checks.length > 0 ? ` A would-be keep must also pass the correctness check(s) (${rule.checks.join("; ")}), or it is discarded as check-failed.` : "";
  switch (rule.name) {
    case "any":
      return `a change is kept when its one run's metric is better than the best so far by any margin; ${reset}${checks}`;
    case "threshold":
      return `a change is kept when its one run's metric beats the best so far by more than ${formatMinDelta(rule.minDelta ?? { value: 0, percent: false })}${rule.minDelta?.percent ? " of the best" : ""}; ${reset}${checks}`;
    case "confirm":
      if (rule.pairBand > 0) return `${pairedText(rule)} ${reset} ${EXACT} Seed changes are never improvements.${checks}`;
      return `a change whose first run beats the best by more than ${Math.max(0, rule.confidence - 1)} × the noise floor (the spread of repeated runs of the same code) is re-run ${rule.confirmRuns} more time(s) with other seeds, and kept only when the mean of its runs beats the best's mean by more than ${rule.confidence} × the noise floor; ${reset} ${EXACT} Seed changes are never improvements.${checks}`;
  }
}

/** The confirm rule on a deterministic script (src/search/apply-keep-rule.ts). */
const EXACT = "While repeated runs of the same code print the same metric (a noise floor of 0), each change is decided on its one run.";

/** The paired confirm rule in words (the brief, the summary, the docs). */
function pairedText(rule: KeepRuleSettings): string {
  return `a change whose first run is within ${rule.pairBand} × the noise floor (the spread of repeated runs of the same code) of its parent's measured metric, better or worse, or far better, is run again in turns with its parent on the same worker (its first run and a run of its parent just before or after it are the first pair; up to ${rule.maxPairs} pairs, stopping as soon as the answer is clear) and kept only when it beats the parent on the pairs of both orders by more than ${rule.confidence} standard errors; a first run far worse is decided on that run alone;`;
}

/** The band and the cost of the paired rule, for the config table: null when pairing is off. */
export function describePairing(rule: KeepRuleSettings): string | null {
  if (rule.name !== "confirm" || rule.pairBand <= 0) return null;
  return `first runs within ${rule.pairBand}× the noise floor of the parent, better or worse (or far better), are decided on up to ${rule.maxPairs} parent/change pairs, the first run in the first (0 to ${2 * rule.maxPairs - 1} more runs: 1 for the first pair, none when the parent just ran on that worker, 2 for each further one; a change that is not better mostly stops after 1 pair, a keep takes 2 at least)`;
}
