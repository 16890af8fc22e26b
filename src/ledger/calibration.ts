import { delta, orient } from "../metric/index.js";
import type { Direction } from "../types.js";

/** One experiment as calibration sees it: the proposer's prediction and what happened. */
export interface PredictionSample {
  expectedDelta?: number | null;
  metric: number | null;
  bestBefore: number | null;
}

export interface Calibration {
  /** Experiments that came with a prediction. */
  predicted: number;
  /** Of those, with a metric to compare (the rest crashed). */
  scored: number;
  /** Scored ones where the prediction said "better" exactly when the result was better. */
  rightWay: number;
  /** Mean |predicted - actual| over the scored ones. */
  meanAbsError: number;
  /** Mean (predicted gain - actual gain): > 0 means the predictions were optimistic. */
  optimism: number;
}

/** How well the proposer's expected_delta matched the real deltas; null when it never predicted. */
export function calibrate(samples: readonly PredictionSample[], direction: Direction): Calibration | null {
  const gain = (d: number) => orient(d, direction);
  let predicted = 0;
  let scored = 0;
  let rightWay = 0;
  let absError = 0;
  let optimism = 0;
  for (const s of samples) {
    if (typeof s.expectedDelta !== "number" || !Number.isFinite(s.expectedDelta)) continue;
    predicted++;
    const actual = delta(s.metric, s.bestBefore);
    if (actual === null) continue;
    scored++;
    if (gain(s.expectedDelta) > 0 === gain(actual) > 0) rightWay++;
    absError += Math.abs(s.expectedDelta - actual);
    optimism += gain(s.expectedDelta) - gain(actual);
  }
  if (predicted === 0) return null;
  return { predicted, scored, rightWay, meanAbsError: scored ? absError / scored : 0, optimism: scored ? optimism / scored : 0 };
}

/** One sentence for the brief and the summary. */
export function describeCalibration(c: Calibration): string {
  const crashed = c.predicted - c.scored;
  const head = `${c.predicted} prediction${c.predicted === 1 ? "" : "s"}${crashed > 0 ? ` (${crashed} of those runs crashed)` : ""}`;
  if (c.scored === 0) return `${head}; none could be scored yet.`;
  const lean =
    Math.abs(c.optimism) < c.meanAbsError * 0.25 ? "no clear lean" : c.optimism > 0 ? `optimistic by ${num(c.optimism)} on average` : `pessimistic by ${num(-c.optimism)} on average`;
  return `${head}: the right way (better or not) ${c.rightWay} of ${c.scored} times; mean error ${num(c.meanAbsError)}; ${lean}.`;
}

function num(n: number): string {
  return String(Number(n.toPrecision(3)));
}
