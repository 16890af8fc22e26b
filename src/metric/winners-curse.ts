/**
 * The winner's curse of a kept change: the runs that kept it were kept because they looked good,
 * so the gain they measured over its parent is partly luck, the more so the nearer the keep was to
 * its bar. The load tracker reads the head's level from its runs (src/metric/load-tracker.ts): taken
 * as they are, the runs that kept it make every child look worse than it is, and real gains stop at
 * the futility bound.
 *
 * The luck is estimated by empirical Bayes: the session's load-adjusted decisions say how the
 * differences of its changes spread (a normal prior: their mean m, and their variance less the mean
 * square of their standard errors, τ²), and a kept change's measured difference d (standard error
 * se) is taken at its posterior mean, (d/se² + m/τ²) / (1/se² + 1/τ²): pulled toward the session's
 * typical difference, the more the less the session's differences spread beyond their noise. The
 * posterior mean given the data does not depend on why the change was kept, so it holds for a change
 * kept by a sequential rule. Its weak side: a normal prior pulls a gain far out in its tail harder
 * than a gain that large deserves (one large real gain among many no-ops); the runs made of the head
 * since (as its children's parent) weigh in beside the corrected ones and outweigh them as they come.
 * Pure: the tracker asks it.
 */
import { mean, sampleSd } from "./noise.js";

/** The prior is read from this many load-adjusted decisions at least: fewer say little of how differences spread. */
export const MIN_PRIOR_DECISIONS = 5;

/** What the correction reads of a record (src/types.ts ExperimentRecord). */
export interface DecidedDifference {
  status: string;
  /** A load-adjusted decision's difference, candidate less parent at the same load (metric units). */
  loadDelta?: number;
  loadSe?: number;
}

/** How the session's measured differences spread: a normal prior of this mean and variance. */
export interface DifferencePrior {
  mean: number;
  variance: number;
  n: number;
}

const measured = (r: DecidedDifference): r is DecidedDifference & { loadDelta: number; loadSe: number } =>
  r.status !== "crash" && typeof r.loadDelta === "number" && Number.isFinite(r.loadDelta) && typeof r.loadSe === "number" && r.loadSe > 0;

/** The prior from the session's load-adjusted decisions (method of moments); null with fewer than MIN_PRIOR_DECISIONS. */
export function differencePrior(records: readonly DecidedDifference[]): DifferencePrior | null {
  const decided = records.filter(measured);
  const n = decided.length;
  if (n < MIN_PRIOR_DECISIONS) return null;
  const differences = decided.map((r) => r.loadDelta);
  const spread = (sampleSd(differences) as number) ** 2;
  const noise = mean(decided.map((r) => r.loadSe ** 2));
  // A spread no wider than the noise: the differences are noise about their mean (a variance of
  // nearly 0, every difference pulled to the mean).
  return { mean: mean(differences), variance: Math.max(spread - noise, 1e-12), n };
}

/**
 * How far the kept change's own runs sit from its level by luck, in metric units (add it to their
 * metrics): the posterior mean of its difference less the difference measured. Null when the keep
 * was not load-adjusted or the session has too few such decisions to say.
 */
export function keptLuck(kept: DecidedDifference, records: readonly DecidedDifference[]): number | null {
  if (!measured(kept) || kept.status !== "keep") return null;
  const prior = differencePrior(records);
  if (!prior) return null;
  const { loadDelta: d, loadSe: se } = kept;
  const posterior = (d / se ** 2 + prior.mean / prior.variance) / (1 / se ** 2 + 1 / prior.variance);
  return posterior - d;
}
