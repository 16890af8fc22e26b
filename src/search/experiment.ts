import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createTwoFilesPatch } from "diff";
import { handleView } from "../executors/registry.js";
import type { InFlight } from "../ledger/ledger.js";
import { appendMemory, proposalMemory } from "../ledger/memory.js";
import { cleanField } from "../ledger/results-tsv.js";
import { delta, loadTracker, mean, noiseOfRecords } from "../metric/index.js";
import { formatDelta } from "../report/format.js";
import { countLines } from "../proposers/apply.js";
import { matchMetric, metricRegExp } from "../runner/index.js";
import { headOf } from "../ledger/tree.js";
import type { ExperimentRecord, Proposal, RunHandle, RunResult, RunSample, RunSandbox, RunSpec } from "../types.js";
import { applyKeepRule, sampleOf } from "./apply-keep-rule.js";
import { loadBefore, rerunWhileContended, withLoad } from "./contention.js";
import type { WorkerClone } from "../workspace/clone.js";
import { prefetchProposalInputs } from "./propose.js";
import { rebaseChange } from "./rebase.js";
import type { Serial } from "./serial.js";
import { slotEnv } from "./slots.js";
import { type Decision, decide } from "./decide.js";
import { sha256 } from "./guards.js";
import { bytecodePrefixEnv, sessionRunEnv } from "./run-environment.js";
import { baselineOf, bestOf, type LoopDeps, measuredNode, type SessionState, trainTextAt, type Worker } from "./session.js";

export const BASELINE_DESCRIPTION = "Baseline — no modifications";

/**
 * The run's environment (see sessionRunEnv) on `worker` (AUTORESEARCH_WORKER, and its device as
 * CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES); run `runIndex` of an experiment gets its own
 * AUTORESEARCH_SEED, and the first run of every experiment the same one, so comparisons are paired.
 */
export function runEnvironment(session: SessionState, deps: LoopDeps, id: number, runIndex = 0, worker?: Worker, confined = false): Record<string, string> {
  const env = sessionRunEnv(session.info, deps, id, session.keepRule.seedOf(runIndex));
  if (!worker) return env;
  // An unconfined run's (and a check's) Python bytecode goes into the worker's cache beside its
  // clone (src/workspace/bytecode-cache.ts), never beside the modules of a shared environment: a
  // first import is not a change to shared data. A confined run cannot write there anyway (Python
  // skips a cache it cannot write), so it reads the bytecode the environment has. (A path of this
  // machine: not for a run on an ssh host.)
  const pycache = worker.slot.host === undefined && !confined ? bytecodePrefixEnv(env, worker.clone.bytecode.dir) : {};
  return { ...env, ...pycache, ...slotEnv(worker.slot) };
}

/**
 * The sandbox of a run in `worker`'s clone, when the session's runs are confined (cloneSandbox).
 */
export function runSandbox(session: SessionState, worker: Worker): RunSandbox | undefined {
  return worker.slot.host !== undefined ? undefined : cloneSandbox(session.info.protection, worker.clone.dir, session.paths.home);
}

/**
 * The sandbox of a run on this machine in the clone at `dir`, under the session's protection: the
 * clone and its scratch folder writable, the folder of every session of the repo (`home`: records,
 * the lock, the other clones) hidden, all else read-only. Undefined when runs are not confined.
 */
export function cloneSandbox(protection: SessionState["info"]["protection"], dir: string, home: string): RunSandbox | undefined {
  if (protection !== "bwrap" && protection !== "sandbox-exec") return undefined;
  return { kind: protection, writable: [dir], hidden: existsSync(home) ? [home] : [], scratch: `${dir}.scratch` };
}

/** What a run reports back besides its result: when it really started, and the executor's handle. */
export interface RunHooks {
  onStarted?: (at: string) => void;
  onHandle?: (handle: RunHandle) => void;
  /** Follow this run (an earlier orchestrator's) with Executor.attach; started afresh when it cannot be. */
  attach?: RunHandle;
  /** Right before the run is started afresh (not when it is followed): the clone made ready for it. */
  beforeFreshRun?: () => Promise<void>;
  /** Its AUTORESEARCH_SEED when not that of run `runIndex` (a parent's run in a paired decision). */
  seed?: number;
  /**
   * Where its output goes, when not runs/<id>.log: a run not decided yet has no number
   * (paths.pendingLog); a parent's run in a paired decision has a log of its own.
   */
  logPath?: string;
}

/** A run's id, asked of its executor (which may have a process ready for it), chosen before the run is recorded. */
function newRunId(deps: LoopDeps): string {
  return deps.executor.newRunId?.() ?? randomUUID();
}

/**
 * Runs the experiment command once in `worker`'s clone at its current HEAD. `runId` is the
 * run's marker; callers record it in state.json first, so the run can be found if this process
 * is killed. `runIndex` > 0 is a repeat of the same code (its own seed and log).
 */
export async function runOnce(
  session: SessionState,
  deps: LoopDeps,
  worker: Worker,
  id: number,
  description: string,
  commit: string,
  runId: string = newRunId(deps),
  runIndex = 0,
  hooks: RunHooks = {},
): Promise<RunResult> {
  const { config } = session.info;
  const metric = { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) };
  const pattern = metricRegExp(metric);
  const graceMs = deps.graceMs ?? 5000;
  const { slot } = worker;
  // An experiment's first run (the one whose handle state.json records) that outlives this process
  // (a SLURM job) is left to resume, which follows it; repeats and checks are run again instead.
  deps.runWatch?.running(runId, graceMs, Date.now() + config.timeoutSec * 1000, deps.executor.reattachable === true && hooks.onHandle !== undefined);
  const sandbox = runSandbox(session, worker);
  try {
    const spec: RunSpec = {
        cwd: worker.clone.dir,
        command: config.command,
        env: { ...runEnvironment(session, deps, id, runIndex, worker, sandbox !== undefined), ...(hooks.seed !== undefined && { AUTORESEARCH_SEED: String(hooks.seed) }) },
        ...(sandbox && { sandbox }),
        budgetSec: config.budgetSec,
        hardTimeoutSec: config.timeoutSec,
        graceMs,
        logPath: hooks.logPath ?? session.paths.runLog(id, runIndex + 1),
        metric,
        runId,
        worker: slot.worker,
        ...(slot.host !== undefined && { host: slot.host }),
        // Announced once the run exists, so whoever reacts to it (a person, a test) sees a live run.
        onStart: () => {
          hooks.onStarted?.(deps.now().toISOString());
          deps.emit({
            type: "run-start",
            iteration: id,
            description,
            commit,
            budgetSec: config.budgetSec,
            timeoutSec: config.timeoutSec,
            worker: slot.worker,
            device: slot.device,
            ...(slot.host !== undefined && { host: slot.host }),
          });
        },
        onLine: (line) => {
          const value = matchMetric(line, pattern);
          if (value !== null && value !== undefined) deps.emit({ type: "run-metric", iteration: id, value, worker: slot.worker });
        },
        onHandle: (handle) => {
          hooks.onHandle?.(handle);
          // A job waiting in a cluster's queue: announced, so the live view can say so.
          if (handleView(handle).queues) deps.emit({ type: "run-pending", iteration: id, worker: slot.worker, job: handle.id });
        },
    };
    // The shared data is looked at before an unconfined run only (a confined one cannot write it);
    // a followed run (a cluster job, never confined) was started by an earlier process: looked at now.
    // A run followed after a kill: what ran before it on this worker is not known.
    session.lastRuns?.delete(slot.worker);
    if (hooks.attach && deps.executor.attach) {
      worker.clone.beforeRun(false);
      const followed = await deps.executor.attach(hooks.attach, spec, deps.stop.signal);
      if (followed) return followed;
      deps.emit({ type: "warning", message: `experiment ${id}: its ${hooks.attach.kind} run ${hooks.attach.id} is gone; running it again` });
    }
    // The machine's load around the run, when it runs on this machine (src/search/contention.ts),
    // read while the clone is put at the run's commit.
    const load = loadBefore(slot.host === undefined && deps.executor.reattachable !== true);
    await hooks.beforeFreshRun?.();
    worker.clone.beforeRun(sandbox !== undefined);
    const result = await withLoad(load, () => deps.executor.run(spec, deps.stop.signal));
    // What ran last on this worker: the next experiment's first pair may reuse it (src/search/apply-keep-rule.ts).
    session.lastRuns ??= new Map();
    session.lastRuns.set(slot.worker, { commit, sample: sampleOf(result, hooks.seed ?? session.keepRule.seedOf(runIndex)) });
    return result;
  } finally {
    deps.runWatch?.done(runId);
  }
}

/**
 * After a run: what it did that it was not allowed to (the clone's git state, tracked files,
 * read-only and dependency files, shared data), then the clone back to exactly `target` (the
 * commit it ran): reset and cleaned, or recreated when its git state changed.
 */
async function inspectClone(
  session: SessionState,
  deps: LoopDeps,
  clone: WorkerClone,
  id: number,
  adoptedAt?: string,
): Promise<{ violations: string[]; resetTo: (target: string) => Promise<void> }> {
  // A run followed after a kill ran in a clone this process never vouched for: checked by content.
  const inspection = adoptedAt ? await clone.inspectByContent(adoptedAt, session.info.guardedHashes) : await clone.inspect(session.info.guardedHashes);
  // The records are out of the run's reach; a run that went looking for them anyway is caught here
  // (their content is compared with what the loop wrote, and put back).
  // results.tsv sits in the user's checkout: an edit there is the user's, rewritten but not blamed on the run.
  const results = `modified ${session.info.config.results}`;
  const tampered = session.ledger.restoreTampered().filter((problem) => problem !== results);
  // Recorded on the experiment's violation, and said now: a deleted log or patch is not coming back.
  if (tampered.length > 0) {
    deps.emit({
      type: "warning",
      message: `experiment ${id}: a run changed the session's records (${tampered.join(", ")}); they were put back from what the loop holds${tampered.some((p) => p.startsWith("deleted")) ? " (a deleted run log is gone for good, a note stands in its place; the commits keep every change)" : ""}`,
    });
  }
  return { violations: [...inspection.violations, ...tampered], resetTo: (target) => clone.reset(target, inspection) };
}

/**
 * After a run or a check that is followed by more of the same code (repeats, checks,
 * confirmation runs): what it did wrong, then the clone back at exactly `commit` (the next run
 * or check looks at the shared data itself, see WorkerClone.beforeRun).
 */
async function guardRun(session: SessionState, deps: LoopDeps, clone: WorkerClone, id: number, commit: string): Promise<string[]> {
  const { violations, resetTo } = await inspectClone(session, deps, clone, id);
  await resetTo(commit);
  return violations;
}

function record(
  fields: Omit<ExperimentRecord, "finishedAt" | "durationSec" | "memGb" | "params" | "metric"> & { run: RunResult },
  deps: LoopDeps,
): ExperimentRecord {
  const { run, ...rest } = fields;
  return {
    ...rest,
    metric: run.metric !== null && Number.isFinite(run.metric) ? run.metric : null,
    memGb: run.memGb,
    params: run.params,
    durationSec: Number(run.durationSec.toFixed(3)),
    ...(run.steps !== undefined && { steps: run.steps }),
    ...(run.trainingSec !== undefined && { trainingSec: run.trainingSec }),
    ...(run.load && { load: run.load }),
    finishedAt: deps.now().toISOString(),
  };
}

/** Phase 1.3: the unmodified training script, run once. */
export async function runBaseline(session: SessionState, deps: LoopDeps): Promise<{ record: ExperimentRecord; decision: Decision; run: RunResult }> {
  const startedAt = deps.now().toISOString();
  const commit = session.info.baseCommit;
  const runId = newRunId(deps);
  session.ledger.writeInFlight({ id: 0, phase: "baseline", parent: commit, commit, runId, startedAt });
  // The baseline runs on worker 0 (its device, its clone).
  const worker = baselineWorker(session);
  await worker.clone.moveTo(commit);
  // Read beside the run once it has started (its hash and length are recorded after it), with what
  // the first proposal and its commit need: no process of these is started before the run's.
  let trainTextRead: Promise<string> | undefined;
  const readBeside = (): void => {
    trainTextRead = trainTextAt(session, deps.git, commit);
    trainTextRead.catch(() => {});
    prefetchProposalInputs(session, deps);
  };
  const first = await runOnce(session, deps, worker, 0, BASELINE_DESCRIPTION, commit, runId, 0, { onStarted: readBeside });
  const interrupted = deps.stop.signal.aborted;
  const violations = await guardRun(session, deps, worker.clone, 0, commit);
  let decision = decide({ run: first, direction: session.info.config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations, interrupted });
  if (decision.status !== "crash") trustBaselineBytecode(session, worker);
  // --baseline-runs K: the same code K times; their spread is the session's first noise estimate.
  // A run that never started (a spawn refused) read nothing beside it.
  const trainText = await (trainTextRead ?? trainTextAt(session, deps.git, commit));
  const trainHash = sha256(trainText);
  const repeated = decision.status === "crash" ? null : await repeatBaseline(session, deps, commit, first, trainHash);
  if (repeated?.failed) decision = repeated.failed;
  const run = repeated?.run ?? first;
  const status = decision.status === "crash" ? "crash" : "keep";
  return {
    run,
    decision,
    record: record(
      {
        id: 0,
        commit,
        parent: commit,
        trainHash,
        description: BASELINE_DESCRIPTION,
        category: "baseline",
        status,
        reason: status === "keep" ? "baseline" : decision.reason,
        ...(status === "crash" && { detail: decision.detail }),
        bestBefore: null,
        startedAt,
        proposer: "baseline",
        lines: countLines(trainText),
        run,
        ...(repeated && repeated.runs.length > 1 && { runs: repeated.runs }),
        ...(repeated && repeated.contended.length > 0 && { contendedRuns: repeated.contended }),
        ...(first.pendingSec !== undefined && { pendingSec: first.pendingSec }),
        ...placeOf(worker),
      },
      deps,
    ),
  };
}

/**
 * The bytecode the baseline's run compiled (the user's own code, run without a violation) is kept
 * for the next runs, on every worker (src/workspace/bytecode-cache.ts).
 */
function trustBaselineBytecode(session: SessionState, worker: Worker): void {
  const cache = worker.clone.bytecode;
  cache.trust();
  for (const other of session.workers) if (other.clone !== worker.clone && other.slot.host === undefined) other.clone.bytecode.seedFrom(cache);
}

/**
 * The baseline's runs after its first: each one in turn (the lead's scheduler may run them side
 * by side later). Returns the first run with the mean as its metric, every run, and a crash
 * decision if any repeat failed (a baseline that fails one time in K is not a baseline).
 */
async function repeatBaseline(
  session: SessionState,
  deps: LoopDeps,
  commit: string,
  first: RunResult,
  trainHash: string,
): Promise<{ run: RunResult; runs: RunSample[]; contended: RunSample[]; failed: Decision | null }> {
  const rule = session.keepRule;
  const worker = baselineWorker(session);
  const runs = [sampleOf(first, rule.seedOf(0))];
  const contended: RunSample[] = [];
  if (rule.baselineRuns < 2) return { run: first, runs, contended, failed: null };
  if (rule.baselineRaised) {
    deps.emit({ type: "warning", message: "the confirm keep rule needs a noise floor from the start: the baseline runs twice (--baseline-runs 2); --keep-rule any --baseline-runs 1 is the spec's plain loop" });
  }
  let durationSec = first.durationSec;
  for (let index = 1; index < rule.baselineRuns; index++) {
    const what = `${BASELINE_DESCRIPTION} (run ${index + 1} of ${rule.baselineRuns})`;
    const again = (): Promise<RunResult> => {
      const runId = newRunId(deps);
      session.ledger.writeInFlight({ id: 0, phase: "baseline", parent: commit, commit, runId, startedAt: deps.now().toISOString() });
      return runOnce(session, deps, worker, 0, what, commit, runId, index);
    };
    // A repeat slowed by a busy machine (steps/s far below the earlier runs) is run again.
    const checked = await rerunWhileContended({ deps, history: session.history, trainHash, earlier: runs, at: runs.length, id: 0, run: await again(), seed: rule.seedOf(index), logPath: session.paths.runLog(0, index + 1), guard: () => guardRun(session, deps, worker.clone, 0, commit), again, what: `baseline run ${index + 1}` });
    const { run } = checked;
    contended.push(...checked.contended);
    durationSec += run.durationSec + checked.contended.reduce((a, r) => a + r.durationSec, 0);
    runs.push(sampleOf(run, rule.seedOf(index)));
    const violations = [...checked.violations, ...(await guardRun(session, deps, worker.clone, 0, commit))];
    const decision = decide({ run, direction: session.info.config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations, interrupted: deps.stop.signal.aborted });
    if (decision.status === "crash") {
      return { run, runs, contended, failed: { ...decision, detail: `baseline run ${index + 1} of ${rule.baselineRuns}: ${decision.detail}` } };
    }
  }
  const metric = Number(mean(runs.map((r) => r.metric as number)).toPrecision(12));
  return { run: { ...first, metric, durationSec }, runs, contended, failed: null };
}

/** Records a decided baseline (keep) as experiment 0. */
export function recordBaseline(session: SessionState, deps: LoopDeps, baseline: ExperimentRecord): void {
  session.ledger.record(baseline);
  session.history.push(baseline);
  session.ledger.removeInFlight(0);
  deps.emit({ type: "experiment", record: baseline, best: baseline, baseline, noise: noiseOfRecords(session.history)?.sd ?? null });
}

export interface ExperimentInput {
  /**
   * The experiment's key while it is in flight (state.json, its pending ref and logs, the events
   * of its runs): not its number, which it gets when it is decided (contiguous in decision order).
   */
  key: number;
  proposal: Proposal;
  /** The training script to run: the proposal applied to `parent`'s script. */
  newText: string;
  /** The best it is built on (the best when it started). */
  parent: ExperimentRecord;
  /** Set when this experiment retries an out-of-memory crash. */
  oomRetryOf?: number;
  /** Set when this experiment re-runs experiment n's change on the current best. */
  rebaseOf?: number;
  /** Set when this experiment applies the changes of kept nodes off the head's lineage onto the head. */
  combines?: number[];
  /** A proposal made on that combination: its own change comes on top of the combined ones. */
  onCombination?: boolean;
  /** When its proposal was ready. */
  queuedAt?: string;
  /** Resume: its commit exists and its run (started by a killed orchestrator) is followed instead of started. */
  attach?: { handle: RunHandle; commit: string; runId: string };
}

/** What a decision may hand back to the scheduler: a change to run again on the current best. */
export interface Rerun {
  key: number;
  proposal: Proposal;
  newText: string;
  /** The best the rebased text is built on. */
  base: string;
  rebaseOf: number;
  oomRetryOf?: number;
}

export interface ExperimentControl {
  /** Decisions happen one at a time (the research branch moves only there). */
  decisions: Serial;
  /** A stale candidate that beat its parent: the scheduler queues its re-run first (it gets a key, and its number when decided). */
  rerun?: (make: (key: number) => Rerun) => void;
  /** Its (first) run has started. */
  runStarted?: () => void;
  /** Its run has ended and its clone is reset: its decision comes next (unless `runsAgain` follows). */
  ranOnce?: () => void;
  /** It runs again before it is decided (a contended run, a confirmation run, its parent's paired run): its decision is not imminent. */
  runsAgain?: () => void;
}

/** The record's fields that say where it ran. */
function placeOf(worker: Worker): Pick<ExperimentRecord, "worker" | "device" | "host"> {
  return { worker: worker.slot.worker, device: worker.slot.device, ...(worker.slot.host !== undefined && { host: worker.slot.host }) };
}

/** Worker 0: the baseline's. */
function baselineWorker(session: SessionState): Worker {
  return session.workers[0] ?? { slot: { worker: 0, device: null }, clone: session.clone };
}

/**
 * Spec 2.3-2.5 for one proposal on one worker: commit it on its parent (the best when it
 * starts), run it in the worker's clone, then, one decision at a time, decide it against the
 * best at that moment: keep or reset (the commit stays reachable under refs/autoresearch/<tag>/<n>),
 * record it. A candidate whose parent stopped being the best while it ran is never kept: when it
 * beat its parent, its change is re-applied on the current best and handed back to run again.
 */
export async function runExperiment(session: SessionState, deps: LoopDeps, worker: Worker, input: ExperimentInput, control: ExperimentControl): Promise<ExperimentRecord | null> {
  const { config } = session.info;
  const { git } = deps;
  const parent = input.parent;
  const startedAt = deps.now().toISOString();
  const { proposal } = input;
  const { clone } = worker;

  // state.json holds the experiment as ready already (the script to run, its base): a kill before
  // the run starts runs that again on the best, which is what this does. It is rewritten as
  // running, with the run's marker (a run orphaned by a kill is found by it), before the run starts.
  let inFlight: InFlight = {
    id: input.key,
    phase: "proposed",
    parent: parent.commit,
    proposal,
    newText: input.newText,
    ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
    ...(input.rebaseOf !== undefined && { rebaseOf: input.rebaseOf }),
    ...(input.combines !== undefined && { combines: input.combines }),
    ...(input.onCombination && { onCombination: true }),
    runId: input.attach?.runId ?? newRunId(deps),
    worker: worker.slot.worker,
    device: worker.slot.device,
    ...(worker.slot.host !== undefined && { host: worker.slot.host }),
    ...(input.queuedAt !== undefined && { queuedAt: input.queuedAt }),
    startedAt,
  };
  // Not fsynced (see Ledger.writeInFlight): the entry it replaces was, and a machine crash ends the
  // run too. A cluster job's handle is: that job outlives the crash and resume re-attaches to it.
  const track = (change: Partial<InFlight>) => {
    inFlight = { ...inFlight, ...change };
    session.ledger.writeInFlight(inFlight, { durable: change.handle !== undefined });
  };
  const parentText = await trainTextAt(session, git, parent.commit);
  // Made in the user's repository without touching its checkout, and kept reachable under
  // refs/autoresearch/<tag>/pending-<key> until its decision numbers it (refs/autoresearch/<tag>/<n>).
  const commit = input.attach?.commit ?? (await session.repo.commitExperiment(session.repo.pendingRef(input.key), parent.commit, config.train, session.trainMode, input.newText, `exp: ${cleanSubject(proposal.description)}`, deps.now()));
  session.trainTexts.set(commit, input.newText);
  track({ phase: "running", commit, ...(input.attach && { handle: input.attach.handle }) });

  // A run being followed is still running in this clone: nothing in it may move (no git, no
  // reset) until it has ended. Only a run started afresh gets the clone put at its commit first.
  let fresh = false;
  let runStartedAt: string | undefined;
  const hooks: RunHooks = {
    onStarted: (at) => {
      if (runStartedAt === undefined) control.runStarted?.();
      runStartedAt ??= at;
      // Only a queued job's start changes what state.json tells (pending -> running, see
      // report/in-flight.ts); a run started at once has it written with the next change: one
      // write of state.json less per run.
      if (inFlight.handle?.queues) track({ runStartedAt });
      else inFlight = { ...inFlight, runStartedAt };
    },
    onHandle: (handle) => track({ handle }),
    beforeFreshRun: async () => {
      fresh = true;
      await clone.moveTo(commit);
    },
  };
  // Its output goes to a log named by its key until the decision gives it a number.
  const pendingLog = session.paths.pendingLog(input.key);
  // What this worker ran just before: when it was the parent's code, the first pair of a paired decision reuses it.
  const before = session.lastRuns?.get(worker.slot.worker);
  let run = await runOnce(session, deps, worker, input.key, proposal.description, commit, inFlight.runId, 0, { ...hooks, logPath: pendingLog, ...(input.attach && { attach: input.attach.handle }) });
  // The run has ended: a resume after this must run it again, not follow a finished job whose output was consumed.
  if (inFlight.handle) track({ handle: undefined });
  // Aborted while it ran (second Ctrl-C): it was killed; whatever it printed is not a result.
  const interrupted = deps.stop.signal.aborted;
  const inspection = await inspectClone(session, deps, clone, input.key, fresh ? undefined : commit);
  const { violations } = inspection;
  // Back to exactly its own commit (outputs removed; no git call when the run left nothing), and
  // outside the decisions' queue: each decision is made while the others wait, so it does no
  // clone work. A clone between experiments sits at its last commit; the next one moves it.
  await inspection.resetTo(commit);
  // Cut off by the user (a second Ctrl-C) before anything was measured: no result, no number, no
  // row; it stays in state.json as running, so `resume` runs it again. A run that broke a rule
  // on the way is still recorded as such (what it did is a result).
  if (interrupted && violations.length === 0) return cutOff(session, deps, inFlight);
  const lines = countLines(input.newText);
  const trainHash = sha256(input.newText);
  // Runs of code that ran before (here, or as confirmation runs below) slowed by a busy machine are
  // run again rather than decided (src/search/contention.ts); a followed run is taken as it is.
  // With one worker the records' order is the runs' order: the load track (src/metric/load-tracker.ts) reads it.
  const loadTrack = session.keepRule.paired && session.workers.length <= 1 && parent.trainHash ? loadTracker(session.history, parent.trainHash) : undefined;
  const contention = { deps, history: session.history, trainHash, id: input.key, guard: () => guardRun(session, deps, clone, input.key, commit), ...(loadTrack && { loadTrack }) };
  const contendedRuns: RunSample[] = [];
  // Its parent's runs made for it so far (paired or tracked decisions): with its own, they place each run in time (the
  // load track), and they are its parent's latest runs (the next one's contention check).
  const parentSamples: RunSample[] = [];
  const pendingViolations: string[] = [];
  control.ranOnce?.();
  if (fresh && violations.length === 0 && !interrupted) {
    const again = (): Promise<RunResult> => {
      const runId = newRunId(deps);
      track({ runId });
      control.runsAgain?.();
      return runOnce(session, deps, worker, input.key, proposal.description, commit, runId, 0, { logPath: pendingLog });
    };
    const checked = await rerunWhileContended({ ...contention, run, at: 0, seed: session.keepRule.seedOf(0), logPath: pendingLog, again, what: "its run" });
    if (checked.contended.length > 0) {
      run = checked.run;
      contendedRuns.push(...checked.contended);
      violations.push(...checked.violations, ...(await guardRun(session, deps, clone, input.key, commit)));
    }
  }
  const confirmations: RunSample[] = [sampleOf(run, session.keepRule.seedOf(0))];
  // Adjacent only when the first run ran once, afresh, right after it (no contended run between).
  const previous = fresh && contendedRuns.length === 0 && before?.commit === parent.commit && before.sample.metric !== null ? before.sample : undefined;
  const common = {
    commit,
    parent: parent.commit,
    trainHash,
    description: proposal.description,
    category: proposal.category,
    startedAt,
    proposer: deps.proposer.name,
    lines,
    ...placeOf(worker),
    ...(input.queuedAt !== undefined && { queuedAt: input.queuedAt }),
    ...(runStartedAt !== undefined && { runStartedAt }),
    ...(run.pendingSec !== undefined && { pendingSec: run.pendingSec }),
    ...(input.rebaseOf !== undefined && { rebaseOf: input.rebaseOf }),
    ...(input.combines !== undefined && { combines: input.combines }),
    ...(input.onCombination && { onCombination: true }),
    ...(proposal.direction !== undefined && { direction: proposal.direction }),
    ...(proposal.rationale !== undefined && { rationale: proposal.rationale }),
    ...(proposal.expectedDelta !== undefined && Number.isFinite(proposal.expectedDelta) && { expectedDelta: proposal.expectedDelta }),
    ...(proposal.usage !== undefined && { usage: proposal.usage }),
    ...(proposal.costUsd !== undefined && { costUsd: proposal.costUsd }),
    ...(proposal.planStep !== undefined && { planStep: proposal.planStep }),
    ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
    ...(proposal.violations?.length && { agentViolations: proposal.violations }),
    ...(proposal.changes !== undefined && { changes: proposal.changes }),
  };

  return control.decisions.run(async () => {
    // Its number, now that it is decided: the next in decision order (a refused proposal, or one
    // dropped before it ran, took none). Its logs and diff are filed under it before anything else
    // (confirmation runs write runs/<n>.run<k>.log); state.json notes it, so a resume after a kill
    // from here on knows the entry once it is recorded. Its commit stays under its pending ref
    // until the decision is final: then one ref transaction files it under the number and moves
    // the research branch when it is the new head (numberExperiment below).
    const id = nextNumber(session);
    session.ledger.numberLogs(input.key, id);
    session.ledger.writePatch(id, createTwoFilesPatch(`a/${config.train}`, `b/${config.train}`, parentText, input.newText));
    track({ number: id });
    // One experiment at a time. In the tree every node is decided against its own parent, whatever
    // the head is now; in a chain a candidate whose parent stopped being the best is stale.
    const head = bestOf(session);
    const tree = config.search !== "chain";
    // Decided against its parent's measured metric now (the mean of all its runs so far, see
    // ledger/tree.ts measuredOf), not the number it had when this experiment started.
    const best = tree ? measuredNode(session.history, parent) : head;
    const stale = !tree && head.commit !== parent.commit;
    const first = decide({ run, direction: config.direction, bestMetric: best.metric as number, lines, bestLines: parent.lines, violations, interrupted });
    if (stale) {
      const verdict = await staleVerdict(session, deps, { ...input, id }, first, run, parentText, best, control);
      await session.repo.numberExperiment(input.key, id, commit);
      return finish(session, deps, record({ id, ...common, ...verdict, bestBefore: parent.metric, run }, deps), proposal, input.key);
    }
    // A would-be keep that still faces checks or confirmation runs (or any measured first run
    // under a paired rule) runs again in the clone, which is at the candidate's commit already
    // (reset above); each run or check looks at the shared data itself.
    // The keep rule in force: threshold, --check commands, confirmation runs, pairs (src/search/apply-keep-rule.ts).
    const kept = await applyKeepRule(session, deps, {
      id,
      decision: first,
      run,
      best,
      trainHash,
      cwd: clone.dir,
      env: runEnvironment(session, deps, input.key, 0, worker),
      worker: worker.slot.worker,
      ...(previous && { previous }),
      // Built from the same records (one worker: nothing was decided since): not built twice.
      ...(loadTrack && best.trainHash === parent.trainHash && { loadTrack }),
      runAgain: async (index) => {
        const again = (): Promise<RunResult> => {
          const runId = newRunId(deps);
          track({ runId });
          control.runsAgain?.();
          return runOnce(session, deps, worker, input.key, `${proposal.description} (confirmation run ${index + 1})`, commit, runId, index, { logPath: session.paths.runLog(id, index + 1) });
        };
        // A confirmation run slowed by a busy machine is run again (src/search/contention.ts); the
        // track's moment for it counts every run made for this experiment before it.
        const checked = await rerunWhileContended({
          ...contention,
          ...(loadTrack && { loadTrack: { expected: loadTrack.expected, next: loadTrack.next + contendedRuns.length + parentSamples.length } }),
          earlier: confirmations,
          at: confirmations.length + parentSamples.length,
          run: await again(),
          seed: session.keepRule.seedOf(index),
          logPath: session.paths.runLog(id, index + 1),
          again,
          what: `confirmation run ${index + 1}`,
        });
        contendedRuns.push(...checked.contended);
        pendingViolations.push(...checked.violations);
        confirmations.push(sampleOf(checked.run, session.keepRule.seedOf(index)));
        return checked.run;
      },
      // Only a node decided against its own parent is paired (a chain's stale candidates are not decided here).
      ...(tree && {
        runParent: async (pair: number, seed: number) => {
          control.runsAgain?.();
          await clone.moveTo(parent.commit);
          // Inside the decision: the experiment has its number (its events keep the key they had in flight).
          const logPath = join(dirname(session.paths.runLog(id)), `${id}.parent${pair + 1}.log`);
          const once = (): Promise<RunResult> => {
            const runId = newRunId(deps);
            track({ runId });
            return runOnce(session, deps, worker, input.key, `${proposal.description} (its parent #${parent.id}, pair ${pair + 1})`, parent.commit, runId, 0, { seed, logPath });
          };
          // A parent run slowed by a busy machine is run again too (its code ran before): it would bend its pair.
          const checked = await rerunWhileContended({
            deps,
            history: session.history,
            trainHash: parent.trainHash,
            // Its runs in this decision's earlier pairs: the latest of its code, nearest in time.
            earlier: parentSamples,
            id,
            guard: () => guardRun(session, deps, clone, id, parent.commit),
            run: await once(),
            seed,
            logPath,
            again: once,
            what: `its parent's run in pair ${pair + 1}`,
            // The track's expectation at this run's moment: after every run made for this experiment so far
            // (its parent's earlier ones counted there as `earlier`).
            ...(loadTrack && { loadTrack: { expected: loadTrack.expected, next: loadTrack.next + contendedRuns.length + confirmations.length } }),
            at: confirmations.length + parentSamples.length,
          });
          contendedRuns.push(...checked.contended);
          parentSamples.push(sampleOf(checked.run, seed));
          const found = [...checked.violations, ...(await guardRun(session, deps, clone, id, parent.commit))];
          await clone.moveTo(commit);
          return { run: checked.run, violations: found };
        },
      }),
      guard: async () => [...pendingViolations.splice(0), ...(await guardRun(session, deps, clone, id, commit))],
      // Checks run unconfined (src/search/apply-keep-rule.ts): the shared data is looked at around each.
      beforeCheck: () => clone.beforeRun(false),
      track: (runId) => track({ runId }),
    });
    const { decision } = kept;
    // Cut off during its confirmation or paired runs: undecided, so not recorded (resume runs it again).
    if (decision.reason === "interrupted") return cutOff(session, deps, inFlight);

    const detail = decision.status === "keep" && decision.reason === "improved" ? describeGain(kept.metric as number, best.metric as number, kept.runs ? decision.detail : null) : decision.detail;
    const experiment = record(
      {
        id,
        ...common,
        status: decision.status,
        reason: decision.reason,
        detail,
        bestBefore: best.metric,
        run: { ...run, metric: kept.metric, durationSec: kept.durationSec },
        ...(kept.runs && { runs: kept.runs }),
        ...(kept.parentRuns?.length && { parentRuns: kept.parentRuns, ...(kept.firstPaired && { firstPaired: true }) }),
        ...(kept.loadDelta !== undefined && { loadDelta: kept.loadDelta, ...(kept.loadSe !== undefined && { loadSe: kept.loadSe }), ...(kept.runOrder && { runOrder: kept.runOrder }) }),
        ...(kept.checks && { checks: kept.checks }),
        ...(contendedRuns.length > 0 && { contendedRuns }),
      },
      deps,
    );
    // Each check, confirmation and paired run was guarded (the clone is back at the commit after
    // each). The research branch follows the head: this node when it is the best kept one now (in
    // a chain every keep is; in the tree a keep may beat its parent and still trail the head).
    const newHead = decision.status === "keep" && (!tree || becomesHead(session, experiment));
    const warning = await session.repo.numberExperiment(input.key, id, commit, newHead);
    if (warning) deps.emit({ type: "warning", message: warning });
    return finish(session, deps, experiment, proposal, input.key);
  });
}

/**
 * A candidate whose parent stopped being the best while it ran (another experiment was kept):
 * its measurement is of code that is not the current best plus its change, so it is never kept.
 * If it beat its parent (the plain comparison and the threshold), its change is re-applied on the
 * current best and run again as a new experiment (`rebaseOf`); if the change no longer applies
 * there, it is discarded saying so (the proposer reads that in the history). Otherwise it is
 * decided as usual against its parent: a regression or a crash.
 */
async function staleVerdict(
  session: SessionState,
  deps: LoopDeps,
  input: ExperimentInput & { id: number },
  first: Decision,
  run: RunResult,
  parentText: string,
  best: ExperimentRecord,
  control: ExperimentControl,
): Promise<Pick<ExperimentRecord, "status" | "reason" | "detail">> {
  const { config } = session.info;
  if (first.status !== "keep") return { status: first.status, reason: first.reason, detail: first.detail };
  // Its parent is what it was measured against: the threshold applies to that gain.
  const below = session.keepRule.belowThreshold(first, run.metric as number, input.parent.metric as number, config.direction);
  if (below) return below;
  const gainText = first.reason === "improved" ? `beat its parent #${input.parent.id} (${formatDelta(delta(run.metric as number, input.parent.metric as number))})` : `matched its parent #${input.parent.id} with fewer lines`;
  const bestText = await trainTextAt(session, deps.git, best.commit);
  const rebased = rebaseChange(parentText, input.newText, bestText, input.proposal);
  const tried = new Set(session.history.map((e) => e.trainHash));
  if (!rebased.ok || tried.has(sha256(rebased.text)) || !control.rerun) {
    const why = !rebased.ok ? `its change no longer applies on the current best #${best.id} (${rebased.reason})` : !control.rerun ? "no re-run is possible now" : `on the current best #${best.id} it is a script already run`;
    return { status: "discard", reason: "stale", detail: `${gainText} while #${best.id} was kept, but ${why}; not kept` };
  }
  const text = rebased.text;
  control.rerun((key) => ({
    key,
    proposal: input.proposal,
    newText: text,
    base: best.commit,
    rebaseOf: input.id,
    ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
  }));
  // Its re-run is numbered when it is decided, like any experiment: its record names this one (`rebaseOf`).
  return { status: "discard", reason: "rebased", detail: `${gainText} while #${best.id} was kept: re-run on the current best` };
}

/**
 * An experiment the user cut off (second Ctrl-C) is left undecided: its state.json entry, made
 * durable here, is what `resume` runs again (src/loop/resume.ts), under the next number then.
 */
function cutOff(session: SessionState, deps: LoopDeps, entry: InFlight): null {
  session.ledger.writeInFlight(entry, { durable: true });
  deps.emit({ type: "warning", message: `cut off: ${entry.proposal?.description ?? `experiment ${entry.id}`} (not recorded; \`autoresearch resume\` runs it again)` });
  return null;
}

/** The number the next decided experiment gets: one more than the last one recorded. */
export function nextNumber(session: Pick<SessionState, "history">): number {
  let last = -1;
  for (const e of session.history) if (e.id > last) last = e.id;
  return last + 1;
}

/** Records a decided experiment (experiments.jsonl, results.tsv, research notes), takes it (in flight as `key`) out of state.json and announces it. */
function finish(session: SessionState, deps: LoopDeps, experiment: ExperimentRecord, proposal: Proposal, key: number): ExperimentRecord {
  // What the proposal says the previous result taught, and its ideas, join the research notes.
  const previous = session.history[session.history.length - 1];
  session.ledger.record(experiment);
  session.history.push(experiment);
  appendMemory(
    session.paths.memory,
    proposalMemory(proposal, previous ? { id: previous.id, kept: previous.status === "keep" } : null, experiment.id, experiment.finishedAt),
  );
  // experiments.jsonl (just fsynced) is what says it is done: resume skips a recorded id.
  session.ledger.removeInFlight(key, { durable: false });
  deps.emit({ type: "experiment", key, record: experiment, best: bestOf(session), baseline: baselineOf(session.history), noise: noiseOfRecords(session.history)?.sd ?? null });
  return experiment;
}

/** Whether a node just kept is the new head (the best kept node, see ledger/tree.ts). */
function becomesHead(session: SessionState, node: ExperimentRecord): boolean {
  return headOf([...session.history, node], session.info.config.direction).id === node.id;
}

function describeGain(metric: number, best: number, confirmed: string | null): string {
  return `${formatDelta(delta(metric, best))} improvement${confirmed ? ` (${confirmed})` : ""}`;
}

/** A commit subject is one line; a model's description may not be. */
function cleanSubject(text: string): string {
  return cleanField(text).slice(0, 200) || "experiment";
}
