import { randomUUID } from "node:crypto";
import { createTwoFilesPatch } from "diff";
import type { InFlight } from "../ledger/ledger.js";
import { appendMemory, proposalMemory } from "../ledger/memory.js";
import { cleanField } from "../ledger/results-tsv.js";
import { delta, mean, noiseOfRecords } from "../metric/index.js";
import { formatDelta } from "../report/format.js";
import { countLines } from "../proposers/apply.js";
import { matchMetric, metricRegExp } from "../runner/index.js";
import type { ExperimentRecord, Proposal, RunResult, RunSample } from "../types.js";
import { applyKeepRule, sampleOf } from "./confirm.js";
import { type Decision, decide } from "./decide.js";
import { sha256 } from "./guards.js";
import { keepPolicy, seedOf } from "./keep-rule.js";
import { sessionRunEnv } from "./run-environment.js";
import { baselineOf, bestOf, type LoopDeps, type SessionState, trainTextAt } from "./state.js";

export const BASELINE_DESCRIPTION = "Baseline — no modifications";

/**
 * The run's environment (see sessionRunEnv); run `runIndex` of an experiment gets its own
 * AUTORESEARCH_SEED, and the first run of every experiment the same one, so comparisons are paired.
 */
export function runEnvironment(session: SessionState, deps: LoopDeps, id: number, runIndex = 0): Record<string, string> {
  return sessionRunEnv(session.info, deps, id, seedOf(keepPolicy(session.info.config), runIndex));
}

/**
 * Runs the experiment command once at the current HEAD. `runId` is the run's marker; callers
 * record it in state.json first, so the run can be found if this process is killed. `runIndex`
 * > 0 is a repeat of the same code (its own seed and log).
 */
export async function runOnce(
  session: SessionState,
  deps: LoopDeps,
  id: number,
  description: string,
  commit: string,
  runId: string = randomUUID(),
  runIndex = 0,
): Promise<RunResult> {
  const { config } = session.info;
  const metric = { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) };
  const pattern = metricRegExp(metric);
  const graceMs = deps.graceMs ?? 5000;
  deps.runWatch?.running(runId, graceMs, Date.now() + config.timeoutSec * 1000);
  try {
    return await deps.executor.run(
      {
        cwd: session.clone.dir,
        command: config.command,
        env: runEnvironment(session, deps, id, runIndex),
        budgetSec: config.budgetSec,
        hardTimeoutSec: config.timeoutSec,
        graceMs,
        logPath: session.paths.runLog(id, runIndex + 1),
        metric,
        runId,
        // Announced once the run exists, so whoever reacts to it (a person, a test) sees a live run.
        onStart: () => deps.emit({ type: "run-start", iteration: id, description, commit, budgetSec: config.budgetSec, timeoutSec: config.timeoutSec }),
        onLine: (line) => {
          const value = matchMetric(line, pattern);
          if (value !== null && value !== undefined) deps.emit({ type: "run-metric", iteration: id, value });
        },
      },
      deps.stop.signal,
    );
  } finally {
    deps.runWatch?.idle();
  }
}

/**
 * After a run: what it did that it was not allowed to (the clone's git state, tracked files,
 * read-only and dependency files, shared data), then the clone back to exactly `target` (the
 * best commit after the decision): reset and cleaned, or recreated when its git state changed.
 */
async function inspectClone(session: SessionState): Promise<{ violations: string[]; resetTo: (target: string) => Promise<void> }> {
  const inspection = await session.clone.inspect(session.info.guardedHashes);
  // The records are out of the run's reach; a run that went looking for them anyway is caught here
  // (their content is compared with what the loop wrote, and put back).
  // results.tsv sits in the user's checkout: an edit there is the user's, rewritten but not blamed on the run.
  const results = `modified ${session.info.config.results}`;
  const tampered = session.ledger.restoreTampered().filter((problem) => problem !== results);
  return { violations: [...inspection.violations, ...tampered], resetTo: (target) => session.clone.reset(target, inspection) };
}

/**
 * After a run or a check that is followed by more of the same code (repeats, checks,
 * confirmation runs): what it did wrong, then the clone back at exactly `commit` and its state
 * remembered for the next one.
 */
async function guardRun(session: SessionState, commit: string): Promise<string[]> {
  const { violations, resetTo } = await inspectClone(session);
  await resetTo(commit);
  session.clone.beforeRun();
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
    finishedAt: deps.now().toISOString(),
  };
}

/** Phase 1.3: the unmodified training script, run once. */
export async function runBaseline(session: SessionState, deps: LoopDeps): Promise<{ record: ExperimentRecord; decision: Decision; run: RunResult }> {
  const startedAt = deps.now().toISOString();
  const commit = session.info.baseCommit;
  const trainText = await trainTextAt(session, deps.git, commit);
  const runId = randomUUID();
  session.ledger.writeInFlight({ id: 0, phase: "baseline", parent: commit, commit, runId, startedAt });
  await session.clone.moveTo(commit);
  session.clone.beforeRun();
  const first = await runOnce(session, deps, 0, BASELINE_DESCRIPTION, commit, runId);
  const interrupted = deps.stop.signal.aborted;
  const violations = await guardRun(session, commit);
  let decision = decide({ run: first, direction: session.info.config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations, interrupted });
  // --baseline-runs K: the same code K times; their spread is the session's first noise estimate.
  const repeated = decision.status === "crash" ? null : await repeatBaseline(session, deps, commit, first);
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
        trainHash: sha256(trainText),
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
      },
      deps,
    ),
  };
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
): Promise<{ run: RunResult; runs: RunSample[]; failed: Decision | null }> {
  const policy = keepPolicy(session.info.config);
  const runs = [sampleOf(first, seedOf(policy, 0))];
  if (policy.baselineRuns < 2) return { run: first, runs, failed: null };
  if (policy.baselineRaised) {
    deps.emit({ type: "warning", message: "--keep-rule confirm needs a noise floor from the start: the baseline runs twice (--baseline-runs 2)" });
  }
  let durationSec = first.durationSec;
  for (let index = 1; index < policy.baselineRuns; index++) {
    const runId = randomUUID();
    session.ledger.writeInFlight({ id: 0, phase: "baseline", parent: commit, commit, runId, startedAt: deps.now().toISOString() });
    session.clone.beforeRun();
    const run = await runOnce(session, deps, 0, `${BASELINE_DESCRIPTION} (run ${index + 1} of ${policy.baselineRuns})`, commit, runId, index);
    durationSec += run.durationSec;
    runs.push(sampleOf(run, seedOf(policy, index)));
    const violations = await guardRun(session, commit);
    const decision = decide({ run, direction: session.info.config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations, interrupted: deps.stop.signal.aborted });
    if (decision.status === "crash") {
      return { run, runs, failed: { ...decision, detail: `baseline run ${index + 1} of ${policy.baselineRuns}: ${decision.detail}` } };
    }
  }
  const metric = Number(mean(runs.map((r) => r.metric as number)).toPrecision(12));
  return { run: { ...first, metric, durationSec }, runs, failed: null };
}

/** Records a decided baseline (keep) as experiment 0. */
export function recordBaseline(session: SessionState, deps: LoopDeps, baseline: ExperimentRecord): void {
  session.ledger.record(baseline);
  session.history.push(baseline);
  session.ledger.clearInFlight();
  deps.emit({ type: "experiment", record: baseline, best: baseline, baseline, noise: noiseOfRecords(session.history)?.sd ?? null });
}

export interface ExperimentInput {
  id: number;
  proposal: Proposal;
  newText: string;
  /** Set when this experiment retries an out-of-memory crash. */
  oomRetryOf?: number;
}

/**
 * Spec 2.3-2.5 for one proposal: commit it, run it, decide, keep or reset (the commit stays
 * reachable under refs/autoresearch/<tag>/<n>), record it. Returns the decided record.
 */
export async function runExperiment(session: SessionState, deps: LoopDeps, input: ExperimentInput): Promise<ExperimentRecord> {
  const { config } = session.info;
  const { git } = deps;
  const best = bestOf(session.history);
  const startedAt = deps.now().toISOString();
  const { proposal } = input;

  // Written before the commit, so a kill anywhere after leaves the exact script to run again,
  // and the run's marker, so a run orphaned by a kill can be found and stopped.
  const inFlight: InFlight = {
    id: input.id,
    phase: "proposed",
    parent: best.commit,
    proposal,
    newText: input.newText,
    ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
    runId: randomUUID(),
    startedAt,
  };
  session.ledger.writeInFlight(inFlight);
  const bestText = await trainTextAt(session, git, best.commit);
  // Made in the user's repository without touching its checkout, and kept reachable under
  // refs/autoresearch/<tag>/<n> whatever the decision.
  const commit = await session.repo.commitExperiment(input.id, best.commit, config.train, session.trainMode, input.newText, `exp: ${cleanSubject(proposal.description)}`, deps.now());
  session.trainTexts.set(commit, input.newText);
  session.ledger.writeInFlight({ ...inFlight, phase: "running", commit });
  // The experiment's diff against the best it was built on (only the training script can differ).
  session.ledger.writePatch(input.id, createTwoFilesPatch(`a/${config.train}`, `b/${config.train}`, bestText, input.newText));

  await session.clone.moveTo(commit);
  session.clone.beforeRun();
  const run = await runOnce(session, deps, input.id, proposal.description, commit, inFlight.runId);
  // Aborted while it ran (second Ctrl-C): it was killed; whatever it printed is not a result.
  const interrupted = deps.stop.signal.aborted;
  const inspection = await inspectClone(session);
  const { violations } = inspection;
  const lines = countLines(input.newText);
  const trainHash = sha256(input.newText);
  const first = decide({ run, direction: config.direction, bestMetric: best.metric as number, lines, bestLines: best.lines, violations, interrupted });
  // A would-be keep that still faces checks or confirmation runs needs the candidate exactly as
  // committed in a clean clone; anything else goes straight back to the best (one reset, no more).
  const policy = keepPolicy(config);
  const moreRuns = first.status === "keep" && (policy.checks.length > 0 || policy.rule === "confirm");
  if (moreRuns) {
    await inspection.resetTo(commit);
    session.clone.beforeRun();
  }
  // The keep rule in force: threshold, --check commands, confirmation runs (src/loop/confirm.ts).
  const kept = await applyKeepRule(session, deps, {
    id: input.id,
    decision: first,
    run,
    best,
    trainHash,
    cwd: session.clone.dir,
    env: runEnvironment(session, deps, input.id),
    runAgain: (index) => {
      const runId = randomUUID();
      session.ledger.writeInFlight({ ...inFlight, phase: "running", commit, runId });
      return runOnce(session, deps, input.id, `${proposal.description} (confirmation run ${index + 1})`, commit, runId, index);
    },
    guard: () => guardRun(session, commit),
    track: (runId) => session.ledger.writeInFlight({ ...inFlight, phase: "running", commit, runId }),
  });
  const { decision } = kept;

  const newBest = decision.status === "keep" ? commit : best.commit;
  if (!moreRuns) await inspection.resetTo(newBest);
  else if (newBest !== commit) await guardRun(session, newBest);
  if (decision.status === "keep") {
    const warning = await session.repo.moveBranch(commit);
    if (warning) deps.emit({ type: "warning", message: warning });
  }

  const detail = decision.status === "keep" && decision.reason === "improved" ? describeGain(kept.metric as number, best.metric as number, kept.runs ? decision.detail : null) : decision.detail;
  const experiment = record(
    {
      id: input.id,
      commit,
      parent: best.commit,
      trainHash,
      description: proposal.description,
      category: proposal.category,
      status: decision.status,
      reason: decision.reason,
      detail,
      bestBefore: best.metric,
      startedAt,
      proposer: deps.proposer.name,
      lines,
      run: { ...run, metric: kept.metric, durationSec: kept.durationSec },
      ...(kept.runs && { runs: kept.runs }),
      ...(kept.checks && { checks: kept.checks }),
      ...(proposal.direction !== undefined && { direction: proposal.direction }),
      ...(proposal.rationale !== undefined && { rationale: proposal.rationale }),
      ...(proposal.expectedDelta !== undefined && Number.isFinite(proposal.expectedDelta) && { expectedDelta: proposal.expectedDelta }),
      ...(proposal.usage !== undefined && { usage: proposal.usage }),
      ...(proposal.costUsd !== undefined && { costUsd: proposal.costUsd }),
      ...(proposal.planStep !== undefined && { planStep: proposal.planStep }),
      ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
      ...(proposal.violations?.length && { agentViolations: proposal.violations }),
      ...(proposal.changes !== undefined && { changes: proposal.changes }),
    },
    deps,
  );
  // What the proposal says the previous result taught, and its ideas, join the research notes.
  const previous = session.history[session.history.length - 1];
  session.ledger.record(experiment);
  session.history.push(experiment);
  appendMemory(
    session.paths.memory,
    proposalMemory(proposal, previous ? { id: previous.id, kept: previous.status === "keep" } : null, input.id, experiment.finishedAt),
  );
  session.ledger.clearInFlight();
  deps.emit({ type: "experiment", record: experiment, best: bestOf(session.history), baseline: baselineOf(session.history), noise: noiseOfRecords(session.history)?.sd ?? null });
  return experiment;
}

function describeGain(metric: number, best: number, confirmed: string | null): string {
  return `${formatDelta(delta(metric, best))} improvement${confirmed ? ` (${confirmed})` : ""}`;
}

/** A commit subject is one line; a model's description may not be. */
function cleanSubject(text: string): string {
  return cleanField(text).slice(0, 200) || "experiment";
}
