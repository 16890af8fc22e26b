/**
 * `autoresearch confirm`: re-runs one commit of a session N times (other seeds each time) in a
 * throwaway clone and compares the mean with the baseline's runs in units of the noise floor; or,
 * given two commits, runs them in turns (A B, B A, ...) and decides on the pairs with the paired
 * rule's sequential stop. Either way the runs join the session's records (measurements.jsonl,
 * src/ledger/measurements.ts): later decisions, `status` and the noise floor count them. The core
 * of the command; the executor, git and the output come in as arguments.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { Interrupted, UsageError } from "../errors.js";
import { acquireLock } from "../ledger/lock.js";
import type { SessionInfo } from "../ledger/ledger.js";
import { joinMeasurements, recordMeasurement } from "../ledger/measurements.js";
import type { SessionPaths } from "../ledger/paths.js";
import { headOf, measuredOf } from "../ledger/tree.js";
import { confidence, type Direction, gain, mean, noiseOfRecords, pairedVerdict, runMetrics, sampleSd, WITHIN_NOISE } from "../metric/index.js";
import { studentCritical } from "../metric/paired.js";
import type { Executor, ExperimentRecord, RunResult, RunSample } from "../types.js";
import type { WorkerClone } from "../workspace/clone.js";
import type { Git } from "../workspace/git.js";
import { pairSpread } from "../search/apply-keep-rule.js";
import { sampleWithThroughput } from "../search/contention.js";
import { sha256 } from "../search/guards.js";
import { keepRuleOf } from "../search/keep-rule.js";
import { cloneSandbox } from "../search/experiment.js";
import { bytecodePrefixEnv, sessionRunEnv } from "../search/run-environment.js";
import { sessionSlots } from "../search/slots.js";
import { cloneFor } from "../search/slots.js";

export interface ConfirmTarget {
  /** What was asked: best, baseline, or a commit. */
  label: string;
  commit: string;
  /** The experiment it is, when it is one of the session's. */
  record: ExperimentRecord | null;
}

export interface Summary {
  mean: number;
  sd: number | null;
  runs: number;
}

export interface ConfirmReport {
  target: { label: string; commit: string; iteration: number | null };
  metric: string;
  direction: Direction;
  /** The metric of each new run (null: it failed), in seed order. */
  runs: { seed: number; metric: number | null; log: string }[];
  candidate: Summary | null;
  baseline: Summary | null;
  /** The session's noise floor with these runs pooled in (noiseOfRecords, as the loop computes it). */
  noise: number | null;
  /** The head (the best kept node) and its measured metric with these runs counted. */
  head: { iteration: number; metric: number | null } | null;
  /** (mean - baseline's mean) in noise units, positive = better. */
  confidence: number | null;
  verdict: string;
}

/**
 * best | baseline | an experiment number (`7` or `#7`, when the session has it) | a commit-ish,
 * to a commit and the session's record of it. `best` is the head: the best kept node by its
 * measured metric (the mean of its runs), not the last keep.
 */
export async function resolveTarget(git: Git, records: readonly ExperimentRecord[], what: string, direction: Direction = "min"): Promise<ConfirmTarget> {
  if (what === "best" || what === "baseline") {
    const record = records.length === 0 ? undefined : what === "baseline" ? records[0] : headOf(records, direction);
    if (!record) throw new UsageError("the session has no recorded baseline yet", "Run `autoresearch run` first, or name a commit.");
    return { label: what, commit: record.commit, record };
  }
  const number = /^#?(\d+)$/.exec(what);
  const numbered = number ? records.find((r) => r.id === Number(number[1])) : undefined;
  if (numbered) return { label: `#${numbered.id}`, commit: numbered.commit, record: numbered };
  if (what.startsWith("#")) throw new UsageError(`the session has no experiment ${what}`, "Name an experiment the session recorded (`autoresearch status` lists them), a commit, best or baseline.");
  const commit = await git.resolve(what);
  if (commit === null && number) {
    // A number the session does not have (and no commit abbreviates to it): said as show says it.
    const last = records.at(-1)?.id;
    throw new UsageError(`no experiment ${number[1]} in this session (nor a commit of that name)`, `${last === undefined ? "The session has no recorded experiment yet" : `Experiments are numbered 0 (the baseline) to ${last}`}; or name a commit, best or baseline.`);
  }
  if (commit === null) throw new UsageError(`no commit ${JSON.stringify(what)} in this repository`, "Name a commit (sha or ref), an experiment number, best, or baseline.");
  return { label: what, commit, record: records.find((r) => r.commit === commit) ?? null };
}

function summarize(values: readonly number[]): Summary | null {
  return values.length === 0 ? null : { mean: mean(values), sd: sampleSd(values), runs: values.length };
}

/** The verdict in plain words: what the numbers say about the commit against the baseline. */
export function verdictText(target: ConfirmTarget, c: number | null, noise: number | null, candidate: Summary | null): string {
  if (!candidate) return "no run printed the metric: nothing can be said (read the logs below)";
  if (target.record?.id === 0) {
    return noise === null ? "the baseline's runs agree exactly: no noise measured" : `the baseline's spread between runs (the noise floor) is ${noise.toPrecision(3)}`;
  }
  if (c === null) return "the noise floor is unknown (runs of the same code agreed exactly, or only one run): compare the numbers yourself";
  if (c >= WITHIN_NOISE) return `a real improvement: the mean is ${c.toFixed(1)}× the noise floor better than the baseline`;
  if (c > 0) return `within noise: the mean is only ${c.toFixed(1)}× the noise floor better than the baseline, which luck can explain; more runs would tell`;
  return `not better than the baseline: the mean is ${Math.abs(c).toFixed(1)}× the noise floor ${c < 0 ? "worse" : "away"}`;
}

export interface ConfirmDeps {
  git: Git;
  executor: Executor;
  /** The orchestrator's environment (secrets are taken out as for the loop's runs). */
  sourceEnv: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Told of each run as it ends. */
  onRun?: (index: number, of: number, run: RunResult) => void;
  graceMs?: number;
}

/**
 * The first seed no run of the session used: confirm's runs are new draws of the noise, not
 * replays of runs already in the records (seed 0 of the best is its first run, which it was kept on).
 */
export function firstFreshSeed(records: readonly ExperimentRecord[], firstSeed: number): number {
  let highest = firstSeed;
  // confirm's own earlier runs (joined to the records) included: a second confirm draws new seeds too.
  for (const r of records) for (const run of [...(r.runs ?? []), ...(r.contendedRuns ?? []), ...(r.confirmRuns ?? [])]) highest = Math.max(highest, run.seed);
  return highest + 1;
}

/** The training script's hash at `commit` (how runs of identical code are grouped), as the loop computes it. */
async function codeOf(git: Git, commit: string, train: string, record: ExperimentRecord | null): Promise<string> {
  if (record?.trainHash) return record.trainHash;
  const text = await git.showFile(commit, train);
  return text === null ? `commit:${commit}` : sha256(text);
}

/**
 * Where confirm's runs happen: a throwaway clone beside the session's records (removed afterwards;
 * the logs stay under confirm/<stamp>/), the repository's loop lock held meanwhile (no loop starts
 * while confirm's runs compete for the machine and its records grow), and each run made with the
 * session's command, environment contract, hard timeout and executor (on the first worker's slot).
 */
async function inConfirmClone<T>(
  root: string,
  paths: SessionPaths,
  info: SessionInfo,
  first: string,
  deps: ConfirmDeps,
  work: (run: (commit: string, seed: number, log: string, iteration: number | null) => Promise<RunResult>, logDir: string) => Promise<T>,
): Promise<T> {
  const { config } = info;
  const lock = acquireLock(paths.lock, new Date());
  try {
    const stamp = `${first.slice(0, 7)}-${Date.now()}`;
    const logDir = join(paths.dir, "confirm", stamp);
    mkdirSync(logDir, { recursive: true });
    // A throwaway clone like the loop's: the runs never touch the user's checkout or repo config.
    const clone: WorkerClone = await cloneFor(deps.git, root, config, join(paths.dir, "confirm", `${stamp}.tree`));
    await clone.recreate(first);
    // Where the session's first worker runs (executor ssh: its host): the runs go through the session's executor.
    const slot = sessionSlots(info)[0];
    // On this machine, confined as the session's runs are; unconfined, their Python bytecode goes to
    // the clone's cache (emptied before each run: nothing of one commit's run is executed by the
    // other's), never beside the modules of a shared environment.
    const local = slot?.host === undefined;
    const sandbox = local ? cloneSandbox(info.protection, clone.dir, paths.home) : undefined;
    const runEnv = (iteration: number, seed: number): Record<string, string> => {
      const env = sessionRunEnv(info, { sourceEnv: deps.sourceEnv, baseEnv: {} }, iteration, seed);
      return { ...env, ...(local && !sandbox ? bytecodePrefixEnv(env, clone.bytecode.dir) : {}) };
    };
    let at = first;
    try {
      return await work(async (commit, seed, log, iteration) => {
        // Each commit's run starts from its own clean tree (outputs of the other's run removed).
        if (commit !== at) await clone.moveTo(commit);
        at = commit;
        clone.bytecode.prune();
        return deps.executor.run(
          {
            cwd: clone.dir,
            command: config.command,
            env: runEnv(iteration ?? 0, seed),
            ...(sandbox && { sandbox }),
            budgetSec: config.budgetSec,
            hardTimeoutSec: config.timeoutSec,
            graceMs: deps.graceMs ?? 5000,
            logPath: log,
            metric: { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) },
            ...(slot && { worker: slot.worker, ...(slot.host !== undefined && { host: slot.host }) }),
          },
          deps.signal,
        );
      }, logDir);
    } finally {
      clone.remove();
      if (sandbox) rmSync(sandbox.scratch, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

/** Stopped (Ctrl-C) before its runs were done: what finished is recorded, and no verdict is drawn from part of them. */
function stopped(finished: number, of: number, what: "run" | "pair"): Interrupted {
  const kept = finished === 0 ? "nothing was recorded" : `the ${finished} finished ${finished === 1 ? "is" : "are"} recorded in the session's measurements`;
  return new Interrupted(`stopped after ${finished} of ${of} ${what}(s): ${kept}; no verdict from part of the ${what}s`);
}

const succeeded = (run: RunResult): boolean => run.exitCode === 0 && !run.timedOut && run.metric !== null && Number.isFinite(run.metric);

/** A run as recorded: its seed, its metric (null when it failed) and its throughput. */
function sampleOfRun(run: RunResult, seed: number): RunSample {
  return { ...sampleWithThroughput(run, seed), metric: succeeded(run) ? run.metric : null };
}

/** The head and its measured metric in `records` (measurements joined). */
function headNow(records: readonly ExperimentRecord[], direction: Direction): ConfirmReport["head"] {
  if (records.length === 0) return null;
  const head = headOf(records, direction);
  return { iteration: head.id, metric: measuredOf(records, head) };
}

/**
 * Runs the target `runs` times, one after another, with seeds no run of the session used, and
 * records them (measurements.jsonl) before comparing: the noise floor printed is the session's
 * own (noiseOfRecords over the records with these runs joined), the one its next decision uses.
 */
export async function confirmCommit(
  root: string,
  paths: SessionPaths,
  info: SessionInfo,
  records: readonly ExperimentRecord[],
  target: ConfirmTarget,
  runs: number,
  deps: ConfirmDeps,
): Promise<ConfirmReport> {
  const { config } = info;
  const rule = keepRuleOf(config);
  const done: ConfirmReport["runs"] = [];
  const samples: RunSample[] = [];
  const fresh = firstFreshSeed(records, rule.seedOf(0));
  const code = await codeOf(deps.git, target.commit, config.train, target.record);
  await inConfirmClone(root, paths, info, target.commit, deps, async (run, logDir) => {
    for (let index = 0; index < runs; index++) {
      if (deps.signal?.aborted) break;
      const seed = fresh + index;
      const log = join(logDir, `run${index + 1}.log`);
      const result = await run(target.commit, seed, log, target.record?.id ?? null);
      // A run stopped by Ctrl-C measured nothing: it is not the session's.
      if (deps.signal?.aborted) break;
      samples.push(sampleOfRun(result, seed));
      done.push({ seed, metric: samples.at(-1)?.metric ?? null, log: relative(root, log) });
      deps.onRun?.(index, runs, result);
    }
    if (samples.length > 0) recordMeasurement(paths, { kind: "confirm", at: new Date().toISOString(), commit: target.commit, trainHash: code, runs: samples });
  });
  if (deps.signal?.aborted) throw stopped(samples.length, runs, "run");

  const metrics = done.map((r) => r.metric).filter((m): m is number => m !== null);
  const candidate = summarize(metrics);
  const baselineRecord = records[0];
  const baseline = baselineRecord ? summarize(runMetrics(baselineRecord)) : null;
  const joined = joinMeasurements(records, samples.length > 0 ? [{ kind: "confirm", at: "", commit: target.commit, trainHash: code, runs: samples }] : []);
  const noise = noiseOfRecords(joined)?.sd ?? null;
  const c = candidate && baseline ? confidence(candidate.mean, baseline.mean, config.direction, noise) : null;
  return {
    target: { label: target.label, commit: target.commit, iteration: target.record?.id ?? null },
    metric: config.metric,
    direction: config.direction,
    runs: done,
    candidate,
    baseline,
    noise,
    head: headNow(joined, config.direction),
    confidence: target.record?.id === 0 ? null : c,
    verdict: verdictText(target, c, noise, candidate),
  };
}

export interface PairReport {
  a: { label: string; commit: string; iteration: number | null };
  b: { label: string; commit: string; iteration: number | null };
  metric: string;
  direction: Direction;
  /** Each pair in the order it ran: its seed (the same for both), both metrics and logs. */
  pairs: { order: "AB" | "BA"; seed: number; a: number | null; b: number | null; logs: [string, string] }[];
  /** Mean of B - A over the pairs (the mean of the two orders' means), null when no pair printed both. */
  difference: number | null;
  /** Its standard error and 95% interval (Student-t on the pairs' spread). */
  se: number | null;
  interval: [number, number] | null;
  /** B's gain over A in standard errors (positive = B better). */
  z: number | null;
  /** better: B beats A by more than the rule's Z; worse: A beats B by as much; unclear: neither. */
  outcome: "better" | "worse" | "unclear";
  noise: number | null;
  head: ConfirmReport["head"];
  verdict: string;
}

/**
 * `confirm A B`: A and B run in turns in one clone, the orders alternating (A B, B A, ...: a drift
 * of the machine cancels over the two), each pair with one fresh seed for both; after each pair the
 * paired rule's sequential stop (src/metric/paired.ts, the session's Z and pair spread) says
 * whether B is better than A, or clearly not, or asks for another, up to `maxPairs`. The runs are
 * recorded as the session's (measurements.jsonl) before the verdict, so the noise floor printed is
 * the one the session uses from now on.
 */
export async function confirmPair(
  root: string,
  paths: SessionPaths,
  info: SessionInfo,
  records: readonly ExperimentRecord[],
  a: ConfirmTarget,
  b: ConfirmTarget,
  maxPairs: number,
  deps: ConfirmDeps & { onPair?: (index: number, of: number, a: RunResult, b: RunResult) => void },
): Promise<PairReport> {
  const { config } = info;
  const rule = keepRuleOf(config);
  if (a.commit === b.commit) throw new UsageError(`${a.label} and ${b.label} are the same commit (${a.commit.slice(0, 7)})`, "Name two different commits to compare.");
  const fresh = firstFreshSeed(records, rule.seedOf(0));
  const codeA = await codeOf(deps.git, a.commit, config.train, a.record);
  const codeB = await codeOf(deps.git, b.commit, config.train, b.record);
  const runsA: RunSample[] = [];
  const runsB: RunSample[] = [];
  const pairs: PairReport["pairs"] = [];
  const noiseBefore = noiseOfRecords(records)?.sd ?? null;
  const prior = pairSpread(records, config.direction);
  let verdict: ReturnType<typeof pairedVerdict> | null = null;
  const gains = (): number[] => pairs.map((p) => gain(p.b, p.a, config.direction)).filter((g): g is number => g !== null && Number.isFinite(g));
  await inConfirmClone(root, paths, info, a.commit, deps, async (run, logDir) => {
    for (let index = 0; index < maxPairs; index++) {
      if (deps.signal?.aborted) break;
      const seed = fresh + index;
      const order: "AB" | "BA" = index % 2 === 0 ? "AB" : "BA";
      const result: Partial<Record<"a" | "b", RunResult>> = {};
      const logs = { a: join(logDir, `pair${index + 1}.a.log`), b: join(logDir, `pair${index + 1}.b.log`) };
      for (const side of order === "AB" ? (["a", "b"] as const) : (["b", "a"] as const)) {
        if (deps.signal?.aborted) break;
        const target = side === "a" ? a : b;
        result[side] = await run(target.commit, seed, logs[side], target.record?.id ?? null);
      }
      // A pair cut by Ctrl-C measured nothing: neither of its runs is the session's.
      if (deps.signal?.aborted) break;
      const ra = result.a as RunResult;
      const rb = result.b as RunResult;
      runsA.push(sampleOfRun(ra, seed));
      runsB.push(sampleOfRun(rb, seed));
      pairs.push({ order, seed, a: runsA.at(-1)?.metric ?? null, b: runsB.at(-1)?.metric ?? null, logs: [relative(root, logs.a), relative(root, logs.b)] });
      deps.onPair?.(index, maxPairs, ra, rb);
      // A spread only guessed (no pairs, no noise floor yet) decides nothing: the pairs go on until they measure it.
      verdict = pairedVerdict({ gains: gains(), prior, fallbackSd: noiseBefore === null ? Number.NaN : Math.SQRT2 * noiseBefore, confidence: rule.confidence, maxPairs });
      if (verdict.state !== "continue") break;
    }
    const at = new Date().toISOString();
    if (runsA.length > 0) {
      recordMeasurement(paths, { kind: "confirm", at, commit: a.commit, trainHash: codeA, runs: runsA, pairedWith: b.commit });
      recordMeasurement(paths, { kind: "confirm", at, commit: b.commit, trainHash: codeB, runs: runsB, pairedWith: a.commit });
    }
  });
  if (deps.signal?.aborted) throw stopped(pairs.length, maxPairs, "pair");
  const joined = joinMeasurements(records, [
    { kind: "confirm", at: "", commit: a.commit, trainHash: codeA, runs: runsA },
    { kind: "confirm", at: "", commit: b.commit, trainHash: codeB, runs: runsB },
  ]);
  const noise = noiseOfRecords(joined)?.sd ?? null;
  const final = verdict as ReturnType<typeof pairedVerdict> | null;
  const measured = final !== null && Number.isFinite(final.gain) && gains().length > 0;
  // The difference B - A in the metric's units: the gain with the direction's sign.
  const sign = config.direction === "min" ? -1 : 1;
  const difference = measured ? sign * (final as NonNullable<typeof final>).gain : null;
  const se = measured && Number.isFinite((final as NonNullable<typeof final>).se) ? (final as NonNullable<typeof final>).se : null;
  const dof = (prior?.dof ?? 0) + Math.max(0, gains().length - 2);
  const half = se === null ? null : studentCritical(1.96, Math.max(dof, 1)) * se;
  const z = measured && Number.isFinite((final as NonNullable<typeof final>).z) ? (final as NonNullable<typeof final>).z : null;
  const need = dof >= 2 ? studentCritical(rule.confidence, dof) : Number.POSITIVE_INFINITY;
  const outcome: PairReport["outcome"] = final?.state === "keep" ? "better" : z !== null && z < -need ? "worse" : "unclear";
  return {
    a: { label: a.label, commit: a.commit, iteration: a.record?.id ?? null },
    b: { label: b.label, commit: b.commit, iteration: b.record?.id ?? null },
    metric: config.metric,
    direction: config.direction,
    pairs,
    difference,
    se,
    interval: difference === null || half === null ? null : [difference - half, difference + half],
    z,
    outcome,
    noise,
    head: headNow(joined, config.direction),
    verdict: pairVerdictText(a.label, b.label, outcome, final, pairs.length),
  };
}

/** The verdict of `confirm A B` in plain words. */
function pairVerdictText(a: string, b: string, outcome: PairReport["outcome"], verdict: ReturnType<typeof pairedVerdict> | null, pairs: number): string {
  if (!verdict || !Number.isFinite(verdict.gain)) return "no pair printed both metrics: nothing can be said (read the logs below)";
  const on = `on ${pairs} pair${pairs === 1 ? "" : "s"}`;
  if (outcome === "better") return `${b} is better than ${a} ${on}: ${verdict.z.toFixed(1)} standard errors, beyond what noise explains`;
  if (outcome === "worse") return `${b} is worse than ${a} ${on}: ${Math.abs(verdict.z).toFixed(1)} standard errors, beyond what noise explains`;
  if (verdict.state === "discard" && verdict.z < 0.5) return `${b} is not better than ${a} ${on} (${verdict.z.toFixed(1)} standard errors): no difference beyond noise`;
  return `no clear difference ${on} (${Number.isFinite(verdict.z) ? `${verdict.z.toFixed(1)} standard errors` : "the spread of a pair is not known yet"}): more pairs would tell (--pairs)`;
}
