/**
 * The metric: which way is better, comparisons, deltas and gains. One module so the loop's
 * decision, the terminal, the reports and the proposers' prompts cannot disagree.
 */
export { delta, gain, isBetter, isWorse, orient, percentChange } from "./compare.js";
export { type Direction, describeDirection, guessDirection, inferDirection, isDirection, isQualityMetricName } from "./direction.js";
export {
  confidence,
  decidedOn,
  describeConfidence,
  describeLoadAdjusted,
  type LoadAdjusted,
  loadAdjustedConfidence,
  formatMinDelta,
  gainStanding,
  type MinDelta,
  type MeasuredRecord,
  mean,
  measuredMeans,
  measuredMetric,
  type NoiseEstimate,
  noiseFromRuns,
  noiseOfRecords,
  parseMinDelta,
  pooledNoise,
  requiredGain,
  robustNoise,
  runMetrics,
  type RunsOfCode,
  sampleSd,
  WITHIN_NOISE,
} from "./noise.js";
export {
  CONTENTION_MIN_DROP,
  CONTENTION_SDS,
  type ContentionVerdict,
  contentionCount,
  contentionOf,
  contentionText,
  decidedRuns,
  describeThroughput,
  formatRate,
  rateNoise,
  ratesByCode,
  stepsPerSec,
  type Throughput,
  throughputOf,
  type ThroughputRecord,
} from "./throughput.js";
export { DRIFT_WINDOW, driftSpread, FUTILITY_Z, type Pair, type PairedInput, type PairedRecord, type PairedRuns, type PairedVerdict, pairedNoise, pairedVerdict, pairsOf, studentCritical } from "./paired.js";
export { normalCdf } from "./normal.js";
export { ALIKE_Z, type LoadModel, type LoadRecord, type LoadRun, type LoadTracker, loadModel, loadTracker, orderOfRecord, runsInOrder, type TimedRun, timesOfRecord } from "./load-tracker.js";
