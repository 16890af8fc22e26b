/**
 * What a would-be keep must still pass, so that run-to-run noise is not kept as a gain: the keep rule's threshold, the --check
 * commands, then (under `confirm`) its confirmation runs. Called by the experiment flow with
 * the first run's decision; how a run is started and guarded comes in as functions, so this
 * module knows nothing of worktrees or commits.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import {
  contentionOf,
  driftSpread,
  gain,
  type LoadTracker,
  loadTracker,
  type TimedRun,
  mean,
  noiseOfRecords,
  type PairedRuns,
  pairedNoise,
  pairedVerdict,
  pairsOf,
  rateNoise,
  ratesByCode,
  stepsPerSec,
} from "../metric/index.js";
import type { ExperimentRecord, RunResult, RunSample } from "../types.js";
import { sampleWithThroughput } from "./contention.js";
import { type Decision, decide } from "./decide.js";
import type { LoopDeps, SessionState } from "./session.js";

export interface KeepInput {
  id: number;
  /** decide()'s verdict on the first run. */
  decision: Decision;
  run: RunResult;
  best: ExperimentRecord;
  trainHash: string;
  /** Where the candidate's code is checked out (checks run there). */
  cwd: string;
  /** The first run's environment; checks get the same. */
  env: Record<string, string>;
  /** Runs the candidate again as run `index` (1, 2, ...): its own seed and log. */
  runAgain: (index: number) => Promise<RunResult>;
  /**
   * Runs the parent's code once in the same clone with `seed`, for a paired decision's pair
   * `pair` (0-based; its log is `<id>.parent<pair + 1>.log`): the clone moved to the parent's
   * commit, the run guarded (and run again when contended), the clone back at the candidate's
   * commit. Absent where the parent cannot be run (then no pairs).
   */
  runParent?: (pair: number, seed: number) => Promise<{ run: RunResult; violations: string[] }>;
  /**
   * The parent's run made on this worker just before the candidate's first run (nothing ran
   * between them), when there is one: a paired decision's first pair reuses it.
   */
  previous?: RunSample;
  /** After a run or a check: puts back what it was not allowed to change; what that was. */
  guard: () => Promise<string[]>;
  /** Right before a check: it runs unconfined, so the shared data is looked at (compared by the guard after it). */
  beforeCheck?: () => void;
  /** Records a check's run marker (state.json) before it starts, so a kill leaves it findable. */
  track: (runId: string) => void;
  /** The worker whose clone it is checked in (for the events). */
  worker?: number;
  /** The session's load track for a decision against `best` (one worker), when the experiment built it already (its runs' contention). */
  loadTrack?: LoadTracker;
}

export interface KeepOutcome {
  decision: Decision;
  /** The experiment's metric: the first run's, or the mean of its runs. */
  metric: number | null;
  /** Every run, when there was more than one. */
  runs?: RunSample[];
  /** The parent's runs of a paired decision (src/metric/pairs.ts says which runs pair up). */
  parentRuns?: RunSample[];
  /** Its first run is in its first pair. */
  firstPaired?: boolean;
  /** Decided against the load tracker: its metric less its parent's at the same load, and that difference's standard error. */
  loadDelta?: number;
  loadSe?: number;
  /** With parentRuns under a tracked decision: the order its runs and its parent's ran in. */
  runOrder?: string;
  checks?: { command: string; ok: boolean }[];
  /** Total seconds of its runs and checks. */
  durationSec: number;
}

export function sampleOf(run: RunResult, seed: number): RunSample {
  return sampleWithThroughput(run, seed);
}

const interrupted = (what: string): Decision => ({ status: "crash", reason: "interrupted", detail: `interrupted: stopped by the user during ${what}` });
const violation = (found: string[]): Decision => ({ status: "crash", reason: "violation", detail: `violation: ${found.join("; ")}` });

/** The keep rule in force applied to a decided first run. A decision other than keep passes through. */
export async function applyKeepRule(session: SessionState, deps: LoopDeps, input: KeepInput): Promise<KeepOutcome> {
  const { config } = session.info;
  const rule = session.keepRule;
  const first = sampleOf(input.run, rule.seedOf(0));
  let durationSec = input.run.durationSec;
  // With several runs the experiment's metric is the mean of those that printed one.
  const plain = (decision: Decision, extra: Partial<KeepOutcome> = {}): KeepOutcome => {
    const measured = (extra.runs ?? [first]).map((r) => r.metric).filter((m): m is number => m !== null);
    return { decision, metric: measured.length > 1 ? Number(mean(measured).toPrecision(12)) : first.metric, durationSec, ...extra };
  };
  const bestMetric = input.best.metric as number;
  // Paired confirm: a first run near its parent, on either side, or far better, is decided on
  // pairs; one far worse is a regression on that run. A first run made right after a run of its
  // parent is decided on pairs whatever its place: that pair (free) says more than a comparison
  // with the parent's mean, measured at other times.
  const noise = noiseOfRecords(session.history)?.sd ?? null;
  // A noise floor measured at 0: re-runs of the same code printed the same metric (a deterministic
  // script), so one run says all there is: no pairs and no confirmation runs, a plain decision on
  // that run, as under `any` (the --check commands still apply). What it costs is the one extra
  // run of the baseline that measured it.
  if (rule.name === "confirm" && noise === 0) return exactDecision(session, deps, input, plain);
  // The band's unit: the noise floor, or how far runs have lately landed from their code's
  // measured metric when that is more (a drifting machine), so a drift does not decide alone.
  // Until that is known (the first experiments), every measured first run is paired.
  const drift = driftSpread(session.history);
  const spread = noise === null ? null : drift === null ? Number.POSITIVE_INFINITY : Math.max(noise, drift);
  const measurable = input.decision.status === "keep" || input.decision.reason === "regression" || input.decision.reason === "no-change";
  // Runs that print their steps read the machine's load (src/metric/load-tracker.ts): a candidate
  // whose first run trains at its parent's speed is decided against the parent's expected metric at
  // the load the track reads at each of its runs, on its own runs (never its own steps/s: a change
  // that makes training faster keeps its advantage). One faster than any load lets is a faster code
  // or a machine that got faster at once (another job ended), which the track cannot know yet: a
  // run of its parent right after it tells which, and it is decided the same way when the parent
  // ran as the track expected, else on pairs (that parent run the first pair's). One slower than
  // the load lets is decided on pairs below: a slower code and a machine slowed beyond the track
  // look alike (as where the session cannot tell yet). One worker only: the records' order is then
  // the order the runs ran in.
  if (rule.paired && noise !== null && noise > 0 && measurable && session.workers.length <= 1 && input.best.trainHash) {
    const tracker = input.loadTrack ?? loadTracker(session.history, input.best.trainHash);
    const place = tracker.model ? tracker.speedAgainstHead(first, tracker.next) : null;
    if (place === "alike") return trackedDecision(session, deps, input, first, tracker, durationSec, place);
    if (place === "faster" && input.runParent) {
      if (deps.stop.signal.aborted) return plain(interrupted("its paired runs"));
      const seed = rule.parentSeedOf(parentRunsBefore(session, input));
      const { run, violations } = await input.runParent(0, seed);
      durationSec += run.durationSec;
      const parentRun = sampleOf(run, seed);
      const problem = runFailed(deps, config.direction, run, violations, "its parent's run right after its first");
      if (problem) return plain(problem, { runs: [first], parentRuns: [parentRun] });
      const machine = tracker.speedAgainstHead(parentRun, tracker.next + 1);
      if (machine === "alike") return trackedDecision(session, deps, input, first, tracker, durationSec, place, parentRun);
      return pairedDecision(session, deps, input, first, noise, durationSec, parentRun);
    }
  }
  const band = measurable && input.runParent ? (input.previous && rule.paired ? "pair" : rule.placeOf(first.metric as number, bestMetric, config.direction, spread)) : null;
  // A first run far worse but slower (steps/s) than its parent's runs by more than the noise of
  // steps/s may have been slowed by the machine (new code has no runs of its own to compare with):
  // it is paired, not decided on that run.
  const rates = ratesByCode(session.history);
  const slowed = contentionOf(first, (input.best.trainHash && rates.get(input.best.trainHash)) || [], rateNoise(rates))?.contended === true;
  const place = band === "worse" && slowed ? "pair" : band;
  // A first run far better than its parent is paired too: under a drift one run is no evidence of
  // a gain (a clear one is kept after one pair); only one far worse is decided on that run.
  if (place === "pair" || place === "better") return pairedDecision(session, deps, input, first, noise as number, durationSec);
  if (input.decision.status !== "keep") return plain(input.decision);

  const below = rule.belowThreshold(input.decision, first.metric as number, bestMetric, config.direction);
  if (below) return plain(below);

  // Under confirm, a first run too close to the best is not a would-be keep: no checks, no repeats.
  const early = rule.notWorthConfirming(input.decision, first.metric as number, bestMetric, config.direction, noise);
  if (early) return plain(early);

  let checks: KeepOutcome["checks"];
  if (rule.checks.length > 0) {
    const outcome = await runChecks(session, deps, input, rule.checks);
    checks = outcome.results;
    durationSec += outcome.durationSec;
    if (outcome.failed) return plain(outcome.failed, { checks });
  }

  // Only an improvement is confirmed (a keep for fewer lines at the same metric is not).
  if (input.decision.reason !== "improved" || rule.extraRuns === 0) return plain(input.decision, checks ? { checks } : {});

  const runs: RunSample[] = [first];
  const total = rule.extraRuns + 1;
  for (let index = 1; index < total; index++) {
    if (deps.stop.signal.aborted) return plain(interrupted("its confirmation runs"), { runs, checks });
    const run = await input.runAgain(index);
    durationSec += run.durationSec;
    runs.push(sampleOf(run, rule.seedOf(index)));
    const found = await input.guard();
    const repeat = decide({ run, direction: config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations: found, interrupted: deps.stop.signal.aborted });
    if (repeat.reason === "violation" || repeat.reason === "interrupted") return plain(repeat, { runs, checks });
    if (repeat.status === "crash") {
      return plain({ status: "discard", reason: "not-confirmed", detail: `confirmation run ${index + 1} of ${total} failed: ${repeat.detail}` }, { runs, checks });
    }
  }
  const metrics = runs.map((r) => r.metric as number);
  const candidate = { status: "keep" as const, trainHash: input.trainHash, metric: null, runs };
  const pooled = noiseOfRecords([...session.history, candidate])?.sd ?? null;
  const verdict = rule.verdict({ runs: metrics, best: bestMetric, direction: config.direction, noise: pooled });
  const decision: Decision = verdict.keep
    ? { status: "keep", reason: "improved", detail: verdict.detail }
    : { status: "discard", reason: "not-confirmed", detail: verdict.detail };
  return { decision, metric: Number(verdict.mean.toPrecision(12)), runs, durationSec, ...(checks && { checks }) };
}

/** Under `confirm` with a noise floor of 0: the first run decides, after the checks. */
async function exactDecision(session: SessionState, deps: LoopDeps, input: KeepInput, plain: (decision: Decision, extra?: Partial<KeepOutcome>) => KeepOutcome): Promise<KeepOutcome> {
  const { checks } = session.keepRule;
  if (input.decision.status !== "keep" || checks.length === 0) return plain(input.decision);
  const outcome = await runChecks(session, deps, input, checks);
  const kept = plain(outcome.failed ?? input.decision, { checks: outcome.results });
  return { ...kept, durationSec: kept.durationSec + outcome.durationSec };
}

/** Under a tracked decision: discard as soon as the gain is less than this many standard errors above zero. */
export const TRACKED_FUTILITY_Z = 0.5;

/**
 * A decision against the load tracker (src/metric/load-tracker.ts): the candidate trains at its
 * parent's speed or faster (its first run's steps/s agreed with the load then, or were above what
 * any load lets, load only slowing a run, and a run of its parent right after it, `parentAfterFirst`,
 * showed the machine as the track expected), so the load at each of its runs is the track's at that moment
 * (read from the parent's code and code of known speed, never from the candidate's own steps/s: a
 * change that makes training faster keeps the gain its speed brings), and
 * the parent's expected metric at that load is known from the parent's runs and the session's
 * slope of the metric on ln(steps/s). After each run the sequential rule:
 * keep once the gain is more than Z standard errors (Student-t on the slope's degrees of freedom)
 * above zero on two runs of its own at least (a kept node becomes the parent every later decision
 * is measured against: one run is too little to know its level by), discard as soon as it is less
 * than TRACKED_FUTILITY_Z above zero, and at the latest after --confirm-runs + 2 runs in all. The
 * next run is the candidate's or its parent's, whichever shrinks the gain's variance more: a
 * parent known from few runs is run again (those runs serve every later decision on it too).
 * Its metric sits on its parent's scale (the parent's measured metric plus its load-adjusted
 * difference, `loadDelta`), as a paired decision's does, and the difference's standard error
 * (`loadSe`) is recorded: every view judges a load-adjusted keep by it, not by the raw noise
 * floor. Its runs are recorded even when one (the record's metric is the adjusted one, its runs
 * what they printed), the parent's in parentRuns with the order of all in runOrder.
 */
async function trackedDecision(
  session: SessionState,
  deps: LoopDeps,
  input: KeepInput,
  first: RunSample,
  tracker: LoadTracker,
  started: number,
  speed: "alike" | "faster",
  parentAfterFirst?: RunSample,
): Promise<KeepOutcome> {
  const { config } = session.info;
  const rule = session.keepRule;
  const runs: RunSample[] = [first];
  // A run of the parent made right after the first (a faster first run: it showed the machine as the track expected).
  const parentRuns: RunSample[] = parentAfterFirst ? [parentAfterFirst] : [];
  let runOrder = parentAfterFirst ? "cp" : "c";
  let durationSec = started;
  const parentMetric = input.best.metric as number;
  let parentSeed = parentRunsBefore(session, input) + parentRuns.length;
  // Each run with its place in the session's runs: the track reads the load at that moment (never from the candidate's own steps/s).
  const own: TimedRun[] = [{ t: tracker.next, run: first }];
  const parents: TimedRun[] = parentAfterFirst ? [{ t: tracker.next + 1, run: parentAfterFirst }] : [];
  let estimate = tracker.gainOf(own, config.direction, parents);
  const done = (decision: Decision, extra: Partial<KeepOutcome> = {}): KeepOutcome => {
    const loadDelta = estimate ? Number((config.direction === "min" ? -estimate.gain : estimate.gain).toPrecision(12)) : undefined;
    return {
      decision,
      metric: loadDelta !== undefined ? Number((parentMetric + loadDelta).toPrecision(12)) : first.metric,
      runs,
      ...(parentRuns.length > 0 && { parentRuns, runOrder }),
      ...(loadDelta !== undefined && estimate && { loadDelta, loadSe: Number(estimate.se.toPrecision(6)) }),
      durationSec,
      ...extra,
    };
  };
  const need = tracker.critical(rule.confidence);
  const most = rule.maxPairs + 2;
  const failed = (run: RunResult, violations: string[], what: string) => runFailed(deps, config.direction, run, violations, what);
  for (;;) {
    if (!estimate) return done({ status: "discard", reason: "not-confirmed", detail: "load-adjusted: its runs read no load" });
    const z = estimate.se > 0 ? estimate.gain / estimate.se : Number.NEGATIVE_INFINITY;
    const gainText = `${estimate.gain >= 0 ? "+" : ""}${estimate.gain.toPrecision(3)}`;
    const on = `${runs.length} run${runs.length === 1 ? "" : "s"} ${speed === "alike" ? "at its parent's speed" : "faster than its parent"}${parentRuns.length ? ` and ${parentRuns.length} of its parent` : ""}`;
    if (runs.length >= 2 && z > need) {
      const keep: Decision = { status: "keep", reason: "improved", detail: `load-adjusted: better than its parent on ${on}: gain ${gainText}, ${z.toFixed(1)} standard errors, more than the ${need.toFixed(1)} needed` };
      if (rule.checks.length === 0) return done(keep);
      const outcome = await runChecks(session, deps, input, rule.checks);
      durationSec += outcome.durationSec;
      return done(outcome.failed ?? keep, { checks: outcome.results });
    }
    if (z < TRACKED_FUTILITY_Z) return done({ status: "discard", reason: "not-confirmed", detail: `load-adjusted: not better than its parent on ${on}: gain ${gainText}, ${z.toFixed(1)} standard errors, less than the ${TRACKED_FUTILITY_Z} to go on` });
    if (runs.length + parentRuns.length >= most) return done({ status: "discard", reason: "not-confirmed", detail: `load-adjusted: gain ${gainText} on ${on} is ${z.toFixed(1)} standard errors, not more than the ${need.toFixed(1)} needed` });
    if (deps.stop.signal.aborted) return done(interrupted("its runs"));
    // Whichever run shrinks the gain's standard error more, were it made next: the parent's when
    // its runs are few or ran at other loads than the candidate's (the slope then carries the gain
    // across that distance), or when the track would otherwise extrapolate the load to the
    // candidate's runs (a parent run after them puts the load of each between readings), else the
    // candidate's. A keep needs two runs of its own: until it has them, no two parent runs in a row.
    const at = tracker.next + runs.length + parentRuns.length;
    const seIf = input.runParent !== undefined && (runs.length >= 2 || !runOrder.endsWith("p")) ? tracker.seIfNext(own, parents, config.direction, at) : null;
    const parentNext = seIf !== null && seIf.head < seIf.candidate;
    if (parentNext) {
      const seed = rule.parentSeedOf(parentSeed++);
      const { run, violations } = await (input.runParent as NonNullable<KeepInput["runParent"]>)(parentRuns.length, seed);
      durationSec += run.durationSec;
      parentRuns.push(sampleOf(run, seed));
      parents.push({ t: at, run: parentRuns[parentRuns.length - 1] as RunSample });
      runOrder += "p";
      const problem = failed(run, violations, `its parent's run ${parentRuns.length}`);
      if (problem) return done(problem);
    } else {
      const index = runs.length;
      const run = await input.runAgain(index);
      durationSec += run.durationSec;
      runs.push(sampleOf(run, rule.seedOf(index)));
      own.push({ t: at, run: runs[runs.length - 1] as RunSample });
      runOrder += "c";
      const problem = failed(run, await input.guard(), `its run ${index + 1}`);
      if (problem) return done(problem);
    }
    estimate = tracker.gainOf(own, config.direction, parents);
  }
}

/**
 * A paired decision: parent (A) and candidate (B) run in turns in the same clone, the two orders
 * alternating (A B, B A, ...), so a drift of the machine's speed moves both runs of a pair alike;
 * after each pair the sequential rule (src/metric/paired.ts) keeps, discards or asks for another
 * pair. The first pair costs one run at most: the candidate's first run pairs with its parent's
 * run made just before it on this worker (`previous`, a run already recorded: reused), or else
 * with a parent run made right after it (`parentAfterFirst` when that run was made before the
 * decision came here: a first run faster than the load track lets, whose parent run then found
 * the machine moved; a `previous` run is then not reused, as the machine moved since it). A
 * first run slower (steps/s) than that parent run by more
 * than the noise of steps/s may have been slowed by the machine, so it is left out and the pairs
 * start afresh (as a contended run is run again). Every run is guarded like a confirmation run;
 * the parent's runs are recorded with the candidate (parentRuns) and count as the parent's.
 */
async function pairedDecision(session: SessionState, deps: LoopDeps, input: KeepInput, first: RunSample, noise: number, started: number, parentAfterFirst?: RunSample): Promise<KeepOutcome> {
  const { config } = session.info;
  const rule = session.keepRule;
  const runParent = input.runParent as NonNullable<KeepInput["runParent"]>;
  const runs: RunSample[] = [first];
  const parentRuns: RunSample[] = [];
  let firstPaired = false;
  let durationSec = started;
  // Its metric sits on its parent's scale: the parent's measured metric plus the pairs' mean
  // difference (as src/metric/noise.ts measuredMeans reads it back), not the mean of its own runs,
  // which a drift since the parent's runs would move.
  const metricOf = (): number | null => {
    const diffs = pairsOf({ runs, parentRuns, firstPaired }).map((p) => (p.candidate ?? Number.NaN) - (p.parent ?? Number.NaN)).filter(Number.isFinite);
    return diffs.length > 0 ? Number(((input.best.metric as number) + mean(diffs)).toPrecision(12)) : first.metric;
  };
  const done = (decision: Decision, extra: Partial<KeepOutcome> = {}): KeepOutcome => ({ decision, metric: metricOf(), runs, parentRuns, ...(firstPaired && { firstPaired }), durationSec, ...extra });
  // Earlier pairs of the session say how much a pair's difference varies; the parent's earlier
  // paired runs say which seeds its next runs take.
  const prior = pairSpread(session.history, config.direction);
  let parentSeed = parentRunsBefore(session, input) + (parentAfterFirst ? 1 : 0);
  const rateSd = rateNoise(ratesByCode(session.history));
  const slowed = (candidate: RunSample, parent: RunSample): boolean => {
    const rate = stepsPerSec(parent);
    return rate !== null && contentionOf(candidate, [rate], rateSd)?.contended === true;
  };
  const failed = (run: RunResult, violations: string[], what: string) => runFailed(deps, config.direction, run, violations, what);
  const pairNumber = () => parentRuns.length;
  const candidateRun = async (): Promise<Decision | null> => {
    const index = runs.length;
    const run = await input.runAgain(index);
    durationSec += run.durationSec;
    runs.push(sampleOf(run, rule.seedOf(index)));
    return failed(run, await input.guard(), `its run in pair ${pairNumber()}`);
  };
  const parentRun = async (): Promise<Decision | null> => {
    const seed = rule.parentSeedOf(parentSeed++);
    const { run, violations } = await runParent(parentRuns.length, seed);
    durationSec += run.durationSec;
    parentRuns.push(sampleOf(run, seed));
    return failed(run, violations, `its parent's run in pair ${pairNumber()}`);
  };
  // The first pair: A (the run just before) then B (the first run), or B then A (made now).
  let order: "AB" | "BA" = "AB";
  if (input.previous && !parentAfterFirst && !slowed(first, input.previous)) {
    parentRuns.push({ ...input.previous, reused: true });
    firstPaired = true;
  } else {
    if (deps.stop.signal.aborted) return done(interrupted("its paired runs"));
    if (parentAfterFirst || !input.previous) {
      // B A: the parent's run right after the first (made before this decision was handed over, or now).
      if (parentAfterFirst) parentRuns.push(parentAfterFirst);
      else {
        const problem = await parentRun();
        if (problem) return done(problem);
      }
      firstPaired = !slowed(first, parentRuns[0] as RunSample);
      order = "BA";
    }
    if (!firstPaired) {
      // The first run is left out: a pair of fresh runs, in the order A B.
      order = "AB";
      for (const step of parentRuns.length === 0 ? [parentRun, candidateRun] : [candidateRun]) {
        if (deps.stop.signal.aborted) return done(interrupted("its paired runs"));
        const problem = await step();
        if (problem) return done(problem);
      }
    }
  }
  for (;;) {
    const verdict = pairedVerdict({
      gains: pairGains({ runs, parentRuns, firstPaired }, config.direction),
      prior,
      fallbackSd: Math.SQRT2 * noise,
      confidence: rule.confidence,
      maxPairs: rule.maxPairs,
    });
    if (verdict.state === "discard") return done({ status: "discard", reason: "not-confirmed", detail: `paired: ${verdict.detail}` });
    if (verdict.state === "keep") {
      const keep: Decision = { status: "keep", reason: "improved", detail: `paired: ${verdict.detail}` };
      if (rule.checks.length === 0) return done(keep);
      const outcome = await runChecks(session, deps, input, rule.checks);
      durationSec += outcome.durationSec;
      return done(outcome.failed ?? keep, { checks: outcome.results });
    }
    // Another pair, in the other order than the last: a linear drift cancels over the two orders.
    order = order === "AB" ? "BA" : "AB";
    for (const step of order === "AB" ? [parentRun, candidateRun] : [candidateRun, parentRun]) {
      if (deps.stop.signal.aborted) return done(interrupted("its paired runs"));
      const problem = await step();
      if (problem) return done(problem);
    }
  }
}

/** How many runs of the candidate's parent earlier decisions made (not reused): the next one's seed follows them. */
function parentRunsBefore(session: SessionState, input: KeepInput): number {
  return session.history.filter((r) => r.parent === input.best.commit).reduce((n, r) => n + (r.parentRuns ?? []).filter((a) => !a.reused).length, 0);
}

/** A run inside a decision that failed (a violation, an interrupt, a crash): what the decision becomes; null when it ran. */
function runFailed(deps: LoopDeps, direction: "min" | "max", run: RunResult, violations: string[], what: string): Decision | null {
  const d = decide({ run, direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations, interrupted: deps.stop.signal.aborted });
  if (d.reason === "violation" || d.reason === "interrupted") return d;
  return d.status === "crash" ? { status: "discard", reason: "not-confirmed", detail: `${what} failed: ${d.detail}` } : null;
}

/**
 * How much a pair's difference varies in this session (src/metric/paired.ts pairedNoise): from
 * its paired decisions, and from runs of identical code made back to back (the baseline's runs,
 * confirmation runs of decisions not made on pairs).
 */
export function pairSpread(history: readonly ExperimentRecord[], direction: "min" | "max") {
  // Tracked decisions (loadDelta) made no pairs: their parent's runs are not beside their own.
  const decided = history.filter((r) => r.status !== "crash" && r.loadDelta === undefined);
  const successive = decided.filter((r) => !r.parentRuns?.length && (r.runs?.length ?? 0) >= 2).map((r) => (r.runs ?? []).map((x) => x.metric ?? Number.NaN));
  return pairedNoise(decided.filter((r) => r.parentRuns?.length).map((r) => pairGains(r, direction)), successive);
}

/** Each pair's gain of the candidate over its parent (positive = better), in the order they ran (src/metric/pairs.ts). */
export function pairGains(record: PairedRuns, direction: "min" | "max"): number[] {
  const gains: number[] = [];
  for (const p of pairsOf(record)) {
    const g = gain(p.candidate, p.parent, direction);
    if (g !== null && Number.isFinite(g)) gains.push(g);
  }
  return gains;
}

/**
 * Runs each --check in the candidate's tree with the run's environment, its process-tree kill
 * and the hard timeout; stops at the first failure. Each check's output is appended to the
 * experiment's log, so the reason for a check-failed discard is where the run's output is.
 */
async function runChecks(
  session: SessionState,
  deps: LoopDeps,
  input: KeepInput,
  commands: readonly string[],
): Promise<{ results: { command: string; ok: boolean }[]; failed: Decision | null; durationSec: number }> {
  const { config } = session.info;
  const results: { command: string; ok: boolean }[] = [];
  const log = session.paths.runLog(input.id);
  let durationSec = 0;
  // Other work runs on the worker now: its last run is no longer the one just before the next.
  if (input.worker !== undefined) session.lastRuns?.delete(input.worker);
  for (const [index, command] of commands.entries()) {
    if (deps.stop.signal.aborted) return { results, failed: interrupted("its checks"), durationSec };
    const checkLog = `${log}.check${index + 1}`;
    const runId = randomUUID();
    input.track(runId);
    // Watched like a run: if this process dies, the watchdog kills the check's process tree.
    deps.runWatch?.running(runId, deps.graceMs ?? 5000, Date.now() + config.timeoutSec * 1000);
    input.beforeCheck?.();
    const run = await deps.executor.run(
      {
        cwd: input.cwd,
        command,
        env: input.env,
        budgetSec: config.budgetSec,
        hardTimeoutSec: config.timeoutSec,
        graceMs: deps.graceMs ?? 5000,
        logPath: checkLog,
        metric: { name: config.metric },
        runId,
        ...(input.worker !== undefined && { worker: input.worker }),
      },
      deps.stop.signal,
    ).finally(() => deps.runWatch?.done(runId));
    durationSec += run.durationSec;
    const ok = run.exitCode === 0 && !run.timedOut && run.signal === null;
    const how = run.timedOut ? `timed out after ${run.durationSec.toFixed(0)}s` : run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`;
    appendFileSync(log, `\n--- autoresearch check ${index + 1}: ${command} (${ok ? "passed" : how}) ---\n${existsSync(checkLog) ? readFileSync(checkLog, "utf8") : ""}`);
    rmSync(checkLog, { force: true });
    results.push({ command, ok });
    deps.emit({ type: "check", iteration: input.id, command, ok, detail: ok ? "passed" : how, ...(input.worker !== undefined && { worker: input.worker }) });
    const found = await input.guard();
    if (deps.stop.signal.aborted) return { results, failed: interrupted("its checks"), durationSec };
    if (found.length > 0) return { results, failed: violation(found), durationSec };
    if (!ok) {
      const last = [...run.tailLines].reverse().find((l) => l.trim() !== "")?.trim() ?? "";
      const detail = `check failed: ${command}: ${how}${last ? `: ${last.slice(0, 120)}` : ""}`;
      return { results, failed: { status: "discard", reason: "check-failed", detail }, durationSec };
    }
  }
  return { results, failed: null, durationSec };
}
