/**
 * `autoresearch confirm`: re-runs one commit of a session N times (other seeds each time) in a
 * throwaway worktree, and compares the mean with the baseline's runs in units of the noise
 * floor. The core of the command; the executor, git and the output come in as arguments.
 */
import { mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { UsageError } from "../errors.js";
import type { SessionInfo } from "../ledger/ledger.js";
import type { SessionPaths } from "../ledger/paths.js";
import { confidence, type Direction, mean, noiseOfRecords, runMetrics, sampleSd, WITHIN_NOISE } from "../metric/index.js";
import type { Executor, ExperimentRecord, RunResult } from "../types.js";
import type { Git } from "../workspace/git.js";
import { sha256 } from "../search/guards.js";
import { keepRuleOf } from "../search/keep-rule.js";
import { sessionRunEnv } from "../search/run-environment.js";
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
  /** The noise floor with these runs pooled in. */
  noise: number | null;
  /** (mean - baseline's mean) in noise units, positive = better. */
  confidence: number | null;
  verdict: string;
}

/** best | baseline | a commit-ish, to a commit and the session's record of it. */
export async function resolveTarget(git: Git, records: readonly ExperimentRecord[], what: string): Promise<ConfirmTarget> {
  if (what === "best" || what === "baseline") {
    const record = what === "baseline" ? records[0] : records.filter((r) => r.status === "keep").at(-1);
    if (!record) throw new UsageError("the session has no recorded baseline yet", "Run `autoresearch run` first, or name a commit.");
    return { label: what, commit: record.commit, record };
  }
  const commit = await git.resolve(what);
  if (commit === null) throw new UsageError(`no commit ${JSON.stringify(what)} in this repository`, "Name a commit (sha or ref), or best, or baseline.");
  return { label: what, commit, record: records.find((r) => r.commit === commit) ?? null };
}

function summarize(values: readonly number[]): Summary | null {
  return values.length === 0 ? null : { mean: mean(values), sd: sampleSd(values), runs: values.length };
}

/** The verdict in plain words: what the numbers say about the commit against the baseline. */
export function verdictText(target: ConfirmTarget, c: number | null, noise: number | null, candidate: Summary | null): string {
  if (!candidate) return "no run printed the metric: nothing can be said (read the logs)";
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
 * Runs the target `runs` times, one after another, in a detached worktree under
 * .autoresearch/confirm/ (removed afterwards; the logs stay), with the session's command,
 * environment contract and hard timeout. Seeds are the session's run seeds 0..runs-1, as the
 * loop gives an experiment's runs.
 */
/**
 * The first seed no run of the session used: confirm's runs are new draws of the noise, not
 * replays of runs already in the records (seed 0 of the best is its first run, which it was kept on).
 */
export function firstFreshSeed(records: readonly ExperimentRecord[], firstSeed: number): number {
  let highest = firstSeed;
  for (const r of records) for (const run of [...(r.runs ?? []), ...(r.contendedRuns ?? [])]) highest = Math.max(highest, run.seed);
  return highest + 1;
}

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
  const stamp = `${target.commit.slice(0, 7)}-${Date.now()}`;
  const logDir = join(paths.dir, "confirm", stamp);
  const tree = join(paths.dir, "confirm", `${stamp}.tree`);
  mkdirSync(logDir, { recursive: true });
  // A throwaway clone like the loop's: the runs never touch the user's checkout or repo config.
  const clone = await cloneFor(deps.git, root, config, tree);
  await clone.recreate(target.commit);
  const done: ConfirmReport["runs"] = [];
  // Where the session's first worker runs (executor ssh: its host): the runs go through the session's executor.
  const slot = sessionSlots(info)[0];
  const fresh = firstFreshSeed(records, rule.seedOf(0));
  try {
    for (let index = 0; index < runs; index++) {
      if (deps.signal?.aborted) break;
      const seed = fresh + index;
      const log = join(logDir, `run${index + 1}.log`);
      const run = await deps.executor.run(
        {
          cwd: clone.dir,
          command: config.command,
          env: sessionRunEnv(info, { sourceEnv: deps.sourceEnv, baseEnv: {} }, target.record?.id ?? 0, seed),
          budgetSec: config.budgetSec,
          hardTimeoutSec: config.timeoutSec,
          graceMs: deps.graceMs ?? 5000,
          logPath: log,
          metric: { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) },
          ...(slot && { worker: slot.worker, ...(slot.host !== undefined && { host: slot.host }) }),
        },
        deps.signal,
      );
      const ok = run.exitCode === 0 && !run.timedOut && run.metric !== null && Number.isFinite(run.metric);
      done.push({ seed, metric: ok ? run.metric : null, log: relative(root, log) });
      deps.onRun?.(index, runs, run);
    }
  } finally {
    clone.remove();
  }

  const metrics = done.map((r) => r.metric).filter((m): m is number => m !== null);
  const candidate = summarize(metrics);
  const baselineRecord = records[0];
  const baseline = baselineRecord ? summarize(runMetrics(baselineRecord)) : null;
  const text = await deps.git.showFile(target.commit, config.train);
  const code = target.record?.trainHash ?? (text === null ? `commit:${target.commit}` : sha256(text));
  const noise =
    noiseOfRecords([...records, { status: "keep", trainHash: code, metric: null, runs: metrics.map((metric) => ({ metric })) }])?.sd ?? null;
  const c = candidate && baseline ? confidence(candidate.mean, baseline.mean, config.direction, noise) : null;
  return {
    target: { label: target.label, commit: target.commit, iteration: target.record?.id ?? null },
    metric: config.metric,
    direction: config.direction,
    runs: done,
    candidate,
    baseline,
    noise,
    confidence: target.record?.id === 0 ? null : c,
    verdict: verdictText(target, c, noise, candidate),
  };
}
