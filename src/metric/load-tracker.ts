/**
 * The machine's load read from each run's own steps/s. Under a fixed time budget a busy machine
 * means fewer steps and a worse metric (nanoGPT on a shared CPU: val_loss followed steps at
 * r = -0.94, issue 25), so runs that report their steps carry a precise reading of the load they
 * ran under. Two things are learnt from a session's runs:
 * - the metric's sensitivity to load: the slope of the metric on ln(steps/s), by regression over
 *   runs of identical code only (within each code: a change that alters speed moves its code's
 *   level, never the slope), so the head's expected metric at any load is read from its runs, each
 *   carried there along the slope (those made at a load near it weigh more: the slope is known
 *   only so well);
 * - which code trains at the head's speed: a run's steps/s only read the load when its code's
 *   speed is known, so the load is tracked over time from the runs in the order they ran, each
 *   code's speed relative to the baseline's measured from its runs beside its parent's when those
 *   show another speed (two runs in a row see nearly the same load), else known when its first run
 *   agreed with the load then (the same speed as its parent's code). A candidate whose first run
 *   is faster than any load lets trains faster (load only slows) or ran on a machine that got less
 *   busy at once: a run of its parent right after it tells which (src/search/apply-keep-rule.ts),
 *   and measures its speed; one slower is decided on pairs: in one run a slower code and a machine
 *   slowed beyond the track look alike.
 * - the head's level: the runs that kept it looked good partly by luck (the winner's curse), so
 *   they count less the luck the session's differences say a keep like its holds (empirical Bayes,
 *   src/metric/winners-curse.ts), beside its runs made since (as its children's parent); where
 *   that cannot be said, once it has two runs made since, those alone are its level.
 * A candidate's own steps/s never say what load it ran under: a change a little faster than its
 * parent (within what the alike test lets pass) would have its speed taken for a lighter load and
 * the gain that speed brings subtracted. The load of each of its runs is the track's at that
 * moment, read from the parent's code and other code at its speed (the parent's runs made beside
 * it put it between readings), and the track's error counts in the gain's standard error.
 * The track at a moment: a line through the 5 readings nearest it when it lies next to them or
 * between them; further ahead of them, where the load's bend matters more than the readings'
 * noise, a parabola through up to 10. Runs re-run for contention take their place in time (their
 * `at`).
 * Cost: the walk keeps the track's misses as it goes (a running median), and each prediction
 * fits a line through a few readings found by their time, so a tracker over n records costs
 * O(n log n) (`work` counts it).
 * Pure: the keep rule asks it; nothing here runs anything.
 */
import { mean } from "./noise.js";
import { studentCritical } from "./paired.js";
import { stepsPerSec, type Throughput } from "./throughput.js";
import { type DecidedDifference, keptLuck } from "./winners-curse.js";

/** One run as the tracker reads it. */
export interface LoadRun extends Throughput {
  metric: number | null;
  reused?: boolean;
}

/** What the tracker reads of a record (src/types.ts ExperimentRecord); a tracked decision's difference from its parent and its standard error as the winner's-curse correction reads them. */
export interface LoadRecord extends Throughput, DecidedDifference {
  status: string;
  commit: string;
  parent: string;
  trainHash?: string;
  metric: number | null;
  runs?: readonly LoadRun[];
  parentRuns?: readonly LoadRun[];
  firstPaired?: boolean;
  confirmRuns?: readonly LoadRun[];
  /**
   * Runs re-run for contention: they took their time (before the run that replaced them, `at` of
   * the record's runs after the first; without it, before the first), and read nothing.
   */
  contendedRuns?: readonly { at?: number }[];
  /** A tracked decision's runs in the order they ran: "c" its own, "p" its parent's (src/types.ts). */
  runOrder?: string;
}

/** A reading of the load is believed while it lies within this many sd of the track's prediction. */
export const ALIKE_Z = 2;
/** How many readings near a moment the track is fitted to, at most (the load moves slowly over a few runs). */
export const TRACK_READINGS = 10;
/** Next to its readings (at most one run ahead of them, or between them) the load is a line through this many. */
const LINE_READINGS = 5;
/** Further ahead, with this many readings near it the load is fitted as a parabola (its bend followed), else as a line. */
const CURVE_READINGS = 7;
/** Readings older than this many runs say nothing of the load now. */
export const TRACK_HORIZON = 12;
/** The slope is trusted once its regression has this many degrees of freedom. */
export const MIN_SLOPE_DOF = 4;
/** The least noise a reading is taken to have: steps are whole numbers and clocks are coarse. */
const MIN_READING_SD = 0.002;
/** Until the readings' noise is measured, the walk takes a reading to be this noisy (0.7%: a reading's miss of the track then about 1%, lenient; a 5% change of speed still stands out). */
const PRIOR_READING_SD = 0.007;

interface Timed {
  code: string;
  run: LoadRun;
  /** Its place in the session's runs (0, 1, 2, ...). */
  t: number;
  /** Which side of its record it is: the record's own code or its parent's. */
  side: "candidate" | "parent";
}

const runsOfRecord = (r: LoadRecord): LoadRun[] => (r.runs && r.runs.length > 0 ? [...r.runs] : [{ metric: r.metric, ...(r.steps !== undefined && { steps: r.steps }), ...(r.trainingSec !== undefined && { trainingSec: r.trainingSec }) }]);

/**
 * A record's runs in the order they ran (src/search/apply-keep-rule.ts pairedDecision: the first
 * pair A B when it reused the parent's run just before, else B A; then the orders alternate; a
 * first run left out is followed by a fresh A B). A reused parent run is left out: it ran, and is
 * counted, in the record before.
 */
export function orderOfRecord(r: LoadRecord): { side: "candidate" | "parent"; run: LoadRun }[] {
  const own = runsOfRecord(r);
  const parents = r.parentRuns ?? [];
  if (r.runOrder) {
    let [ci, pi] = [0, 0];
    const out: { side: "candidate" | "parent"; run: LoadRun }[] = [];
    for (const ch of r.runOrder) {
      const run = ch === "p" ? parents[pi++] : own[ci++];
      if (run) out.push({ side: ch === "p" ? "parent" : "candidate", run });
    }
    return out;
  }
  if (parents.length === 0) return own.map((run) => ({ side: "candidate", run }));
  const c = (i: number) => (own[i] ? [{ side: "candidate" as const, run: own[i] as LoadRun }] : []);
  const p = (i: number) => (parents[i] && !parents[i]?.reused ? [{ side: "parent" as const, run: parents[i] as LoadRun }] : []);
  const out: { side: "candidate" | "parent"; run: LoadRun }[] = [];
  const offset = r.firstPaired ? 0 : 1;
  // Pair 0's order: A B when its parent run came first (reused, or a first run left out), else B A.
  const firstAB = !r.firstPaired || parents[0]?.reused === true;
  if (!r.firstPaired) out.push(...c(0));
  for (let i = 0; i < parents.length; i++) {
    const ab = i % 2 === 0 ? firstAB : !firstAB;
    out.push(...(ab ? [...p(i), ...c(i + offset)] : [...c(i + offset), ...p(i)]));
  }
  // Runs beyond the pairs (none in the loop's records), in their order.
  for (let i = parents.length + offset; i < own.length; i++) out.push(...c(i));
  return out;
}

/**
 * The times of a record's runs (orderOfRecord's order) when its first run (or contended run) is
 * the session's run `start`: each contended run takes its place before the run it came before
 * (its `at`), and the time after the record.
 */
export function timesOfRecord(r: LoadRecord, count: number, start: number): { times: number[]; end: number } {
  const before = new Array<number>(count + 1).fill(0);
  for (const c of r.contendedRuns ?? []) {
    const k = Math.min(Math.max(0, Math.floor(c.at ?? 0)), count);
    before[k] = (before[k] as number) + 1;
  }
  const times: number[] = [];
  let t = start;
  for (let k = 0; k < count; k++) {
    t += before[k] as number;
    times.push(t++);
  }
  return { times, end: t + (before[count] as number) };
}

/** Every run of the session in the order it ran, with its code (crashed records' runs count as time only). */
export function runsInOrder(records: readonly LoadRecord[]): Timed[] {
  const hashOf = new Map<string, string>();
  for (const r of records) if (r.trainHash && !hashOf.has(r.commit)) hashOf.set(r.commit, r.trainHash);
  const out: Timed[] = [];
  let t = 0;
  for (const r of records) {
    const parentCode = hashOf.get(r.parent) ?? "";
    const order = orderOfRecord(r);
    const { times, end } = timesOfRecord(r, order.length, t);
    order.forEach(({ side, run }, k) => {
      const code = side === "candidate" ? (r.trainHash ?? "") : parentCode;
      if (r.status !== "crash" && code) out.push({ code, run, t: times[k] as number, side });
    });
    t = end;
  }
  return out;
}

const lnRate = (run: Throughput): number | null => {
  const rate = stepsPerSec(run);
  return rate === null ? null : Math.log(rate);
};

/** A run and when it ran (its place in the session's runs, as LoadTracker.next counts them). */
export interface TimedRun {
  t: number;
  run: LoadRun;
}

/** The load now, from the latest readings: a local line's prediction at time t and its variance. */
export interface LoadPrediction {
  /** ln(steps/s) of code at the baseline's speed. */
  y: number;
  /** The prediction's own variance (a new reading's miss of it adds one reading's noise). */
  variance: number;
  /** That variance in units of one reading's. */
  factor: number;
}

/** The metric's slope on ln(steps/s) within codes, and the head's runs it predicts from. */
export interface LoadModel {
  slope: number;
  /** The residual sd of a run around its code's line. */
  sd: number;
  dof: number;
  sxx: number;
  head: { n: number; metric: number; x: number; points: readonly { x: number; m: number }[] };
}

export interface LoadTracker {
  /** The time index of the next run. */
  next: number;
  /** The load's readings so far: ln(steps/s) less the code's speed, at each run's time. */
  readings: readonly { t: number; y: number }[];
  /**
   * A reading's noise as the track sees it (sd of ln(steps/s)): from how far its predictions missed
   * the readings, each miss scaled by what the prediction's own error adds to it (a miss is the
   * reading's noise and the track's error together; the load's bends between readings count in).
   * A prediction's variance is this squared times its line's factor (LoadPrediction.variance).
   */
  readingSd: number;
  /** The load at time t, null when no recent reading. */
  predict(t: number): LoadPrediction | null;
  /**
   * What a run of `code` made at time t should read, ln(steps/s), and the sd of that (the track's
   * and one reading's): null while the track cannot tell (the code's speed unknown, no recent
   * readings, the readings' noise not measured yet).
   */
  expected(code: string, t: number): { y: number; sd: number } | null;
  /**
   * How a run of a new child of the head, made at time t, trains against the head's speed then: "alike" (within what a
   * reading's noise and the track's error allow), "faster" (load only slows a run: its code is faster), "slower" (its
   * code is slower, or the machine slowed it beyond the track), null when the track cannot tell.
   */
  speedAgainstHead(run: Throughput, t: number): "alike" | "faster" | "slower" | null;
  model: LoadModel | null;
  /**
   * A candidate's gain over the head at the same load (positive = better), from its runs and when
   * they ran: its mean against the head's expected metric at the load the track reads at those
   * moments (never from the candidate's own steps/s: a change a little faster than its parent keeps
   * the gain its speed brings), with the standard error of that difference (its runs' noise, the
   * head's mean's, the slope's, the track's). `headRuns`: the head's runs made during the decision
   * (their metrics join the head's, their steps/s the track). Null when the track cannot tell.
   */
  gainOf(runs: readonly TimedRun[], direction: "min" | "max", headRuns?: readonly TimedRun[]): { gain: number; se: number; dof: number; headN: number } | null;
  /**
   * The gain's standard error were one more run made at time t: the candidate's, or the head's
   * (at the load the track expects then): which of the two shrinks it more.
   */
  seIfNext(runs: readonly TimedRun[], headRuns: readonly TimedRun[], direction: "min" | "max", t: number): { candidate: number; head: number };
  /** The Z a keep needs with the model's degrees of freedom (Student-t while few). */
  critical(confidence: number): number;
  /** How much work building the tracker took: readings visited by its line fits and window searches, and running-median steps (O(n log n) in the records). */
  work: number;
}

/** Counts the work of one tracker (LoadTracker.work). */
interface Work {
  n: number;
}

/** Least squares line through (t, y): its value at `at` and that value's variance in units of one reading's. */
function lineAt(points: readonly { t: number; y: number }[], at: number, work?: Work): { y: number; factor: number } {
  const n = points.length;
  if (work) work.n += n;
  const tm = points.reduce((a, p) => a + p.t, 0) / n;
  const ym = points.reduce((a, p) => a + p.y, 0) / n;
  const stt = points.reduce((a, p) => a + (p.t - tm) ** 2, 0);
  const slope = stt > 0 ? points.reduce((a, p) => a + (p.t - tm) * (p.y - ym), 0) / stt : 0;
  return { y: ym + slope * (at - tm), factor: 1 / n + (stt > 0 ? (at - tm) ** 2 / stt : 0) };
}

/**
 * Least squares parabola through (t, y) (t centred on `at`): its value at `at` and that value's
 * variance in units of one reading's; the line where a parabola cannot be fitted.
 */
function curveAt(points: readonly { t: number; y: number }[], at: number, work?: Work): { y: number; factor: number } {
  if (points.length < CURVE_READINGS) return lineAt(points, at, work);
  if (work) work.n += points.length;
  // Normal equations in u = t - at: the value at `at` is the intercept.
  const s = [0, 0, 0, 0, 0];
  const b = [0, 0, 0];
  for (const p of points) {
    const u = p.t - at;
    for (let k = 0; k < 5; k++) s[k] = (s[k] as number) + u ** k;
    for (let k = 0; k < 3; k++) b[k] = (b[k] as number) + p.y * u ** k;
  }
  const [s0, s1, s2, s3, s4] = s as [number, number, number, number, number];
  // The matrix [[s0, s1, s2], [s1, s2, s3], [s2, s3, s4]]: its determinant, and its inverse's first row.
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (!(Math.abs(det) > 1e-9)) return lineAt(points, at, work);
  // The first row of the inverse: the intercept's weights, and (its [0][0]) the intercept's variance factor.
  const i00 = (s2 * s4 - s3 * s3) / det;
  const i01 = -(s1 * s4 - s2 * s3) / det;
  const i02 = (s1 * s3 - s2 * s2) / det;
  return { y: i00 * (b[0] as number) + i01 * (b[1] as number) + i02 * (b[2] as number), factor: i00 };
}

/**
 * How far the track misses, kept as the walk goes: each reading against the track's prediction
 * from the readings before it when it came (what a new run is judged by), robustly (the median: a
 * reading of a change of another speed taken for one at its parent's is an outlier), unknown until
 * five such misses are known. Each miss (squared) is scaled by 1 + its prediction's factor: what
 * is left is a reading's noise, the load's bends between readings counted in. The median is a
 * running one (two heaps): O(log n) a miss.
 */
class TrackMisses {
  /** The smaller half of the squared misses (a max-heap) and the larger half (a min-heap, its top the median). */
  private readonly low: number[] = [];
  private readonly high: number[] = [];
  constructor(private readonly work: Work) {}
  get count(): number {
    return this.low.length + this.high.length;
  }
  add(squared: number): void {
    if (this.high.length > 0 && squared < (this.high[0] as number)) push(this.low, -squared, this.work);
    else push(this.high, squared, this.work);
    // The larger half holds ceil(n / 2): its least is the sorted list's element at floor(n / 2).
    if (this.low.length > this.high.length) push(this.high, -pop(this.low, this.work), this.work);
    else if (this.high.length > this.low.length + 1) push(this.low, -pop(this.high, this.work), this.work);
  }
  /** The sd of a reading, null until five misses are known. */
  sd(): number | null {
    if (this.count < 5) return null;
    // The median of a squared normal is 0.455 of its variance.
    return Math.max(MIN_READING_SD, Math.sqrt((this.high[0] as number) / 0.455));
  }
}

/** A binary min-heap's push and pop (a max-heap holds negated values). */
function push(heap: number[], value: number, work: Work): void {
  heap.push(value);
  for (let i = heap.length - 1; i > 0; ) {
    work.n++;
    const up = (i - 1) >> 1;
    if ((heap[up] as number) <= value) break;
    heap[i] = heap[up] as number;
    heap[up] = value;
    i = up;
  }
}

function pop(heap: number[], work: Work): number {
  const top = heap[0] as number;
  const last = heap.pop() as number;
  if (heap.length === 0) return top;
  heap[0] = last;
  for (let i = 0; ; ) {
    work.n++;
    const [l, r] = [2 * i + 1, 2 * i + 2];
    let least = i;
    if (l < heap.length && (heap[l] as number) < (heap[least] as number)) least = l;
    if (r < heap.length && (heap[r] as number) < (heap[least] as number)) least = r;
    if (least === i) break;
    [heap[i], heap[least]] = [heap[least] as number, heap[i] as number];
    i = least;
  }
  return top;
}

/**
 * The TRACK_READINGS readings nearest to time t within TRACK_HORIZON runs of it (t's own left
 * out), in time order, from readings in time order: found from t's place (a binary search), so
 * the cost is the window's, not the session's.
 */
function nearest(readings: readonly { t: number; y: number }[], t: number, work: Work): { t: number; y: number }[] {
  let [lo, hi] = [0, readings.length];
  while (lo < hi) {
    work.n++;
    const mid = (lo + hi) >> 1;
    if ((readings[mid] as { t: number }).t < t) lo = mid + 1;
    else hi = mid;
  }
  // Before: lo - 1 downwards; after: the first reading later than t upwards.
  let before = lo - 1;
  let after = lo;
  while (after < readings.length && (readings[after] as { t: number }).t <= t) after++;
  const out: { t: number; y: number }[] = [];
  while (out.length < TRACK_READINGS) {
    work.n++;
    const b = before >= 0 ? (readings[before] as { t: number; y: number }) : undefined;
    const a = after < readings.length ? (readings[after] as { t: number; y: number }) : undefined;
    const bOk = b !== undefined && t - b.t <= TRACK_HORIZON;
    const aOk = a !== undefined && a.t - t <= TRACK_HORIZON;
    if (!bOk && !aOk) break;
    if (bOk && (!aOk || t - (b as { t: number }).t <= (a as { t: number }).t - t)) {
      out.push(b as { t: number; y: number });
      before--;
    } else {
      out.push(a as { t: number; y: number });
      after++;
    }
  }
  return out.sort((x, y) => x.t - y.t);
}

/**
 * The load at time t from the readings nearest it (the latest ones, while t is ahead of them): a
 * line through them, refitted without a reading more than OUTLIER_Z sds of its miss off the line
 * through the others (a run of a change taken for one at its parent's speed that was not: one
 * such reading at the end of the window would tilt the line it extrapolates).
 */
function predictFrom(readings: readonly { t: number; y: number }[], sd: number, t: number, work: Work): LoadPrediction | null {
  let recent = nearest(readings, t, work);
  if (recent.length < 3) return null;
  // Next to a reading, or between readings, a line through the nearest few follows the load best;
  // further ahead of them the load's bend matters more than their noise: a curve through more.
  const ahead = t - (recent[recent.length - 1] as { t: number }).t;
  if (ahead <= 1) recent = nearestOf(recent, t, LINE_READINGS);
  for (let round = 0; round < 2 && recent.length > 3; round++) {
    const residuals = recent.map((r, i) => {
      const fit = curveAt(recent.filter((_, j) => j !== i), r.t, work);
      return Math.abs(r.y - fit.y) / Math.sqrt(1 + fit.factor);
    });
    const worst = residuals.indexOf(Math.max(...residuals));
    if ((residuals[worst] as number) <= OUTLIER_Z * sd) break;
    recent = recent.filter((_, j) => j !== worst);
  }
  const line = curveAt(recent, t, work);
  return { y: line.y, variance: sd ** 2 * line.factor, factor: line.factor };
}

/** The `count` of `points` (in time order) nearest to t, in time order. */
function nearestOf(points: readonly { t: number; y: number }[], t: number, count: number): { t: number; y: number }[] {
  if (points.length <= count) return [...points];
  return [...points].sort((a, b) => Math.abs(a.t - t) - Math.abs(b.t - t) || a.t - b.t).slice(0, count).sort((a, b) => a.t - b.t);
}

/** A reading this many sds off the line through the others is left out of the track. */
const OUTLIER_Z = 4;

/**
 * Within-code regression of the metric on ln(steps/s) over every run that printed both, and the
 * head's code's runs. Null until the slope rests on MIN_SLOPE_DOF degrees of freedom and the head
 * has two runs with steps. `headLuck`: how far the runs that kept the head sit from its level by
 * luck (src/metric/winners-curse.ts), taken off them.
 */
export function loadModel(runs: readonly { code: string; run: LoadRun; selected?: boolean }[], headCode: string, headLuck: number | null = null): LoadModel | null {
  const groups = new Map<string, { x: number; m: number; selected: boolean }[]>();
  for (const { code, run, selected } of runs) {
    const x = lnRate(run);
    if (x === null || run.metric === null || !Number.isFinite(run.metric) || run.reused) continue;
    const list = groups.get(code);
    if (list) list.push({ x, m: run.metric, selected: selected === true });
    else groups.set(code, [{ x, m: run.metric, selected: selected === true }]);
  }
  // Each code's runs about their own means (a change of speed moves its code's level, never the slope), the means
  // found once; the runs that kept a code apart from its later ones (their mean is off by the luck that kept it).
  const centred = [...groups.values()]
    .flatMap((points) => [points.filter((p) => p.selected), points.filter((p) => !p.selected)])
    .filter((points) => points.length >= 2)
    .map((points) => ({ points, xm: mean(points.map((p) => p.x)), mm: mean(points.map((p) => p.m)) }));
  let sxx = 0;
  let sxy = 0;
  let n = 0;
  for (const { points, xm, mm } of centred) {
    for (const p of points) {
      sxx += (p.x - xm) ** 2;
      sxy += (p.x - xm) * (p.m - mm);
    }
    n += points.length;
  }
  const dof = n - centred.length - 1;
  // The head's level: the runs that kept it were kept because they looked good (the winner's curse: their mean is
  // better than its code's by luck). They count less that luck where the session's differences say how much it
  // is, beside its runs made since (as its children's parent); else once two runs made since say where it lies,
  // those alone are its level.
  const all = groups.get(headCode) ?? [];
  const fresh = all.filter((p) => !p.selected);
  const head = headLuck !== null ? all.map((p) => (p.selected ? { ...p, m: p.m + headLuck } : p)) : fresh.length >= 2 ? fresh : all;
  if (dof < MIN_SLOPE_DOF || !(sxx > 0) || head.length < 2) return null;
  const slope = sxy / sxx;
  let rss = 0;
  for (const { points, xm, mm } of centred) for (const p of points) rss += (p.m - mm - slope * (p.x - xm)) ** 2;
  const sd = Math.sqrt(rss / dof);
  if (!(sd > 0)) return null;
  return {
    slope,
    sd,
    dof,
    sxx,
    head: { n: head.length, metric: mean(head.map((p) => p.m)), x: mean(head.map((p) => p.x)), points: head },
  };
}

/**
 * The head's expected metric at load x (ln(steps/s)) from its runs, each carried to x along the
 * session's slope, and that estimate's variance. The runs are weighed so the variance is least:
 * the slope is known only so well (its variance sd² / sxx), so runs made at a load near x (those
 * made beside the candidate) count for more than runs made far from it, which the plain mean
 * weighs alike. With a slope known exactly it is the plain mean carried to x.
 */
function headLevel(points: readonly { x: number; m: number }[], x: number, model: LoadModel): { level: number; variance: number } {
  const v = model.sd ** 2 / model.sxx;
  const d = points.map((p) => x - p.x);
  const d1 = d.reduce((a, v2) => a + v2, 0);
  const d2 = d.reduce((a, v2) => a + v2 * v2, 0);
  // The weights (sd² I + v d dᵀ)⁻¹ 1 by Sherman-Morrison, then normalised; their sum is positive (Cauchy-Schwarz).
  const raw = d.map((di) => 1 - (v * di * d1) / (model.sd ** 2 + v * d2));
  const sum = raw.reduce((a, w) => a + w, 0);
  const level = points.reduce((a, p, i) => a + ((raw[i] as number) / sum) * (p.m + model.slope * (d[i] as number)), 0);
  return { level, variance: model.sd ** 2 / sum };
}

/**
 * The session's load tracker for a decision on a child of `headCommit` (whose code is `headCode`),
 * from its records in the order they were decided (one worker: the records' order is the runs').
 * Walks the runs in order, learning each code's speed relative to the baseline's (0 on the log
 * scale): a new code whose runs beside its parent's show another speed (beyond ALIKE_Z of two
 * readings' noise) has that speed, else it takes its parent's speed when its first run agrees with
 * the load then (ALIKE_Z), else its speed is measured from its runs beside its parent's (pairs), else it stays
 * unknown and its runs read nothing. The readings are ln(steps/s) less the code's speed.
 */
export function loadTracker(records: readonly LoadRecord[], headCode: string): LoadTracker {
  const work: Work = { n: 0 };
  const hashOf = new Map<string, string>();
  for (const r of records) if (r.trainHash && !hashOf.has(r.commit)) hashOf.set(r.commit, r.trainHash);
  const speed = new Map<string, number>();
  const readings: { t: number; y: number }[] = [];
  const misses = new TrackMisses(work);
  let t = 0;
  let sd: number | null = null;
  for (const r of records) {
    const code = r.trainHash ?? "";
    const parentCode = hashOf.get(r.parent) ?? "";
    const order = orderOfRecord(r);
    const { times, end } = timesOfRecord(r, order.length, t);
    if (r.status !== "crash" && code && !speed.has(code)) {
      const parentSpeed = r.commit === r.parent ? 0 : speed.get(parentCode);
      const firstAt = times[Math.max(0, order.findIndex((o) => o.side === "candidate"))] ?? t;
      const first = order.find((o) => o.side === "candidate");
      const x = first ? lnRate(first.run) : null;
      if (parentSpeed !== undefined) {
        // A reading's noise as the walk knows it so far.
        const noise = sd ?? PRIOR_READING_SD;
        const prediction = predictFrom(readings, noise, firstAt, work);
        // Its speed from its runs beside its parent's, each against the parent's run next to it: the
        // load moves little between two runs in a row, so these say its speed better than the track.
        const diffs: number[] = [];
        for (let i = 0; i + 1 < order.length; i++) {
          const [a, b] = [order[i], order[i + 1]] as { side: string; run: LoadRun }[];
          if (!a || !b || a.side === b.side) continue;
          const [xa, xb] = [lnRate(a.run), lnRate(b.run)];
          if (xa !== null && xb !== null) diffs.push(a.side === "candidate" ? xa - xb : xb - xa);
        }
        const measured = diffs.length > 0 ? mean(diffs) : null;
        // Side by side with its parent it trains at another speed (beyond what two readings' noise
        // lets): that, whatever its first run seemed against the track (which may have drifted).
        const apart = measured !== null && Math.abs(measured) > (ALIKE_Z * Math.SQRT2 * noise) / Math.sqrt(diffs.length);
        if (r.commit === r.parent) speed.set(code, 0);
        else if (!apart && x !== null && prediction && Math.abs(x - parentSpeed - prediction.y) <= ALIKE_Z * noise * Math.sqrt(1 + prediction.factor)) speed.set(code, parentSpeed);
        else if (measured !== null) speed.set(code, parentSpeed + measured);
      }
    }
    order.forEach(({ side, run }, k) => {
      const c = side === "candidate" ? code : parentCode;
      const x = lnRate(run);
      const s = speed.get(c);
      const at = times[k] as number;
      if (r.status !== "crash" && x !== null && s !== undefined) {
        // Its miss against what the track predicted for it from the readings before it.
        const prediction = readings.length >= 3 ? predictFrom(readings, sd ?? PRIOR_READING_SD, at, work) : null;
        if (prediction) misses.add((x - s - prediction.y) ** 2 / (1 + prediction.factor));
        readings.push({ t: at, y: x - s });
      }
    });
    t = end;
    sd = misses.sd();
  }
  const readingSd = sd ?? MIN_READING_SD;
  const headSpeed = speed.get(headCode);
  // A code's own record's runs decided its keep (selected), the baseline's excepted; its runs as a parent did not.
  const own = new Set(records.filter((r) => r.commit !== r.parent).map((r) => r.trainHash));
  const all: { code: string; run: LoadRun; selected?: boolean }[] = runsInOrder(records).map(({ code, run, side }) => ({ code, run, selected: side === "candidate" && own.has(code) }));
  // `autoresearch confirm`'s runs: no time, but they measure their code's level and the slope.
  for (const r of records) for (const run of r.confirmRuns ?? []) if (r.trainHash) all.push({ code: r.trainHash, run });
  // The luck in the runs that kept the head, when a load-adjusted decision kept it (its latest such keep).
  let kept: LoadRecord | undefined;
  for (const r of records) if (r.trainHash === headCode && r.commit !== r.parent && r.status === "keep") kept = r;
  const model = loadModel(all, headCode, kept ? keptLuck(kept, records) : null);
  const predict = (at: number) => predictFrom(readings, readingSd, at, work);
  const pointsOf = (list: readonly TimedRun[]) =>
    list.map(({ t: at, run }) => ({ t: at, x: lnRate(run), m: run.metric })).filter((p): p is { t: number; x: number; m: number } => p.x !== null && p.m !== null && Number.isFinite(p.m));
  const speedAgainstHead: LoadTracker["speedAgainstHead"] = (run, at) => {
    const x = lnRate(run);
    const prediction = predict(at);
    if (x === null || headSpeed === undefined || !prediction || sd === null) return null;
    const off = x - headSpeed - prediction.y;
    if (Math.abs(off) <= ALIKE_Z * Math.sqrt(readingSd ** 2 + prediction.variance)) return "alike";
    return off > 0 ? "faster" : "slower";
  };
  const gainOf: LoadTracker["gainOf"] = (runs, direction, headRuns = []) => {
    if (!model || headSpeed === undefined || sd === null) return null;
    // The head's runs made during this decision join its earlier ones (the slope stays the session's), and the track.
    const extra = pointsOf(headRuns);
    const track = extra.length === 0 ? readings : [...readings, ...extra.map((p) => ({ t: p.t, y: p.x - headSpeed }))].sort((a, b) => a.t - b.t);
    // Each candidate run at the load the track reads at its moment (the head's code's ln(steps/s) then).
    const points: { x: number; m: number; sd: number }[] = [];
    for (const { t: at, run } of runs) {
      if (run.metric === null || !Number.isFinite(run.metric)) continue;
      const prediction = predictFrom(track, readingSd, at, work);
      if (!prediction) return null;
      points.push({ x: prediction.y + headSpeed, m: run.metric, sd: Math.sqrt(prediction.variance) });
    }
    if (points.length === 0) return null;
    const xm = points.reduce((a, p) => a + p.x, 0) / points.length;
    const mm = points.reduce((a, p) => a + p.m, 0) / points.length;
    const head = headLevel([...model.head.points, ...extra], xm, model);
    const difference = mm - head.level;
    // The track's error at those moments, taken as one (neighbouring predictions share their readings).
    const trackSd = points.reduce((a, p) => a + p.sd, 0) / points.length;
    const variance = model.sd ** 2 / points.length + head.variance + (model.slope * trackSd) ** 2;
    return { gain: direction === "min" ? -difference : difference, se: Math.sqrt(variance), dof: model.dof, headN: model.head.n + extra.length };
  };
  return {
    next: t,
    readings,
    readingSd,
    predict,
    model,
    expected: (code, at) => {
      const s = speed.get(code);
      const prediction = predict(at);
      if (s === undefined || !prediction || sd === null) return null;
      // A reading's noise and the line's own error (which grows the further ahead of its readings).
      return { y: prediction.y + s, sd: Math.sqrt(readingSd ** 2 + prediction.variance) };
    },
    speedAgainstHead,
    gainOf,
    seIfNext: (runs, headRuns, direction, at) => {
      const none = Number.POSITIVE_INFINITY;
      const latest = runs[runs.length - 1];
      if (!latest || headSpeed === undefined) return { candidate: none, head: none };
      // A run of the head at the load the track expects then (its metric does not move the error).
      const track = [...readings, ...pointsOf(headRuns).map((p) => ({ t: p.t, y: p.x - headSpeed }))].sort((a, b) => a.t - b.t);
      const load = predictFrom(track, readingSd, at, work);
      const head: TimedRun | null = load ? { t: at, run: { metric: 0, steps: Math.exp(load.y + headSpeed), trainingSec: 1 } } : null;
      return {
        candidate: gainOf([...runs, { t: at, run: latest.run }], direction, headRuns)?.se ?? none,
        head: head ? (gainOf(runs, direction, [...headRuns, head])?.se ?? none) : none,
      };
    },
    critical: (confidence) => (model ? studentCritical(confidence, model.dof) : Number.POSITIVE_INFINITY),
    get work() {
      return work.n;
    },
  };
}
