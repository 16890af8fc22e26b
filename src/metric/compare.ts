/**
 * Comparing metric values. Every "is this better", every delta and every gain in the code
 * comes from here, so the direction is applied the same way in the decision, the terminal,
 * the reports and the prompts.
 *
 * Two kinds of difference, never mixed up:
 *  - `delta`: signed raw change, `metric - reference` (what results and reports print: a loss
 *    that went down shows as "-0.0158");
 *  - `gain`: the same change oriented so that positive means better in the metric's direction
 *    (what rankings and "improvement" sums use).
 * The noise floor and confidence of a change live beside these, in noise.ts.
 */
import type { Direction } from "../types.js";

/** True when `a` is strictly better than `b`. Non-finite values are never better. */
export function isBetter(a: number, b: number, direction: Direction): boolean {
  if (!Number.isFinite(a)) return false;
  if (!Number.isFinite(b)) return true;
  return direction === "min" ? a < b : a > b;
}

/** True when `a` is strictly worse than `b`. */
export function isWorse(a: number, b: number, direction: Direction): boolean {
  return isBetter(b, a, direction);
}

/** Signed raw change `metric - reference`; null when either is unknown or not finite. */
export function delta(metric: number | null | undefined, reference: number | null | undefined): number | null {
  if (metric === null || metric === undefined || reference === null || reference === undefined) return null;
  if (!Number.isFinite(metric) || !Number.isFinite(reference)) return null;
  return metric - reference;
}

/** The change oriented by direction: positive when `metric` is better than `reference`. */
export function gain(metric: number | null | undefined, reference: number | null | undefined, direction: Direction): number | null {
  const d = delta(metric, reference);
  return d === null ? null : orient(d, direction);
}

/** A raw delta as a gain, or a gain back as a raw delta (the mapping is its own inverse). */
export function orient(value: number, direction: Direction): number {
  return direction === "min" ? -value : value;
}

/** Percent change of `value` against `reference`, or null when it cannot be computed (unknown or 0 reference). */
export function percentChange(value: number | null | undefined, reference: number | null | undefined): number | null {
  const d = delta(value, reference);
  if (d === null || reference === 0) return null;
  return (d / Math.abs(reference as number)) * 100;
}
