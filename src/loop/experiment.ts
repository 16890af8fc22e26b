import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { platformEnv } from "../platform/index.js";
import { matchMetric, metricRegExp } from "../runner/index.js";
import type { ExperimentRecord, Proposal, RunResult } from "../types.js";
import { cleanField } from "../ledger/results-tsv.js";
import { countLines } from "../proposers/apply.js";
import { decide, type Decision } from "./decide.js";
import { restoreGuarded, restoreTracked, sha256 } from "./guards.js";
import { baselineOf, bestOf, type LoopDeps, type SessionState } from "./state.js";

export const BASELINE_DESCRIPTION = "Baseline — no modifications";

/** Runs the experiment command once at the current HEAD. */
export async function runOnce(session: SessionState, deps: LoopDeps, id: number, description: string, commit: string): Promise<RunResult> {
  const { config, platform } = session.info;
  deps.emit({ type: "run-start", iteration: id, description, commit, budgetSec: config.budgetSec, timeoutSec: config.timeoutSec });
  const metric = { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) };
  const pattern = metricRegExp(metric);
  return deps.executor.run(
    {
      cwd: session.root,
      command: config.command,
      env: {
        ...deps.baseEnv,
        ...platformEnv(platform),
        AUTORESEARCH_TIME_BUDGET: String(config.budgetSec),
        AUTORESEARCH_EXPERIMENT: String(id),
      },
      budgetSec: config.budgetSec,
      hardTimeoutSec: config.timeoutSec,
      graceMs: deps.graceMs ?? 5000,
      logPath: session.paths.runLog(id),
      metric,
      onLine: (line) => {
        const value = matchMetric(line, pattern);
        if (value !== null) deps.emit({ type: "run-metric", iteration: id, value });
      },
    },
    deps.stop.signal,
  );
}

/** After a run: put back anything it was not allowed to change, and say what that was. */
async function enforceGuards(session: SessionState, deps: LoopDeps): Promise<string[]> {
  const problems = [
    ...(await restoreTracked(deps.git)),
    ...(await restoreGuarded(session.root, deps.git, session.info.baseCommit, session.info.guardedHashes)),
  ];
  if (session.ledger.rewriteResultsIfTampered()) problems.push(`modified ${session.info.config.results}`);
  return problems;
}

function record(
  session: SessionState,
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
    finishedAt: deps.now().toISOString(),
  };
}

/** Phase 1.3: the unmodified training script, run once. */
export async function runBaseline(session: SessionState, deps: LoopDeps): Promise<{ record: ExperimentRecord; decision: Decision; run: RunResult }> {
  const startedAt = deps.now().toISOString();
  const commit = await deps.git.head();
  const trainText = readFileSync(join(session.root, session.info.config.train), "utf8");
  const run = await runOnce(session, deps, 0, BASELINE_DESCRIPTION, commit);
  const violations = await enforceGuards(session, deps);
  const decision = decide({ run, direction: session.info.config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations });
  const status = decision.status === "crash" ? "crash" : "keep";
  return {
    run,
    decision,
    record: record(
      session,
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
      },
      deps,
    ),
  };
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

  // Written before the commit, so a kill between the two still leaves the proposal to re-run.
  session.ledger.writeInFlight({ id: input.id, phase: "proposed", parent: best.commit, proposal, startedAt });
  writeFileSync(join(session.root, config.train), input.newText);
  const commit = await git.commitPaths([config.train], `exp: ${cleanSubject(proposal.description)}`);
  session.ledger.writeInFlight({ id: input.id, phase: "running", parent: best.commit, commit, proposal, startedAt });
  await git.updateRef(`refs/autoresearch/${config.tag}/${input.id}`, commit);
  writeFileSync(session.paths.patch(input.id), `${await git.diff(best.commit, commit)}\n`);

  const run = await runOnce(session, deps, input.id, proposal.description, commit);
  const violations = [...(await enforceGuards(session, deps))];
  const lines = countLines(input.newText);
  const decision = decide({ run, direction: config.direction, bestMetric: best.metric as number, lines, bestLines: best.lines, violations });

  if (decision.status !== "keep") await git.resetHard(best.commit);

  const detail = decision.status === "keep" && decision.reason === "improved" ? describeGain(run.metric as number, best.metric as number) : decision.detail;
  const experiment = record(
    session,
    {
      id: input.id,
      commit,
      parent: best.commit,
      trainHash: sha256(input.newText),
      description: proposal.description,
      category: proposal.category,
      status: decision.status,
      reason: decision.reason,
      detail,
      bestBefore: best.metric,
      startedAt,
      proposer: deps.proposer.name,
      lines,
      run,
      ...(proposal.direction !== undefined && { direction: proposal.direction }),
      ...(proposal.rationale !== undefined && { rationale: proposal.rationale }),
      ...(proposal.usage !== undefined && { usage: proposal.usage }),
      ...(proposal.costUsd !== undefined && { costUsd: proposal.costUsd }),
      ...(proposal.planStep !== undefined && { planStep: proposal.planStep }),
      ...(input.oomRetryOf !== undefined && { oomRetryOf: input.oomRetryOf }),
    },
    deps,
  );
  session.ledger.record(experiment);
  session.history.push(experiment);
  session.ledger.clearInFlight();
  deps.emit({ type: "experiment", record: experiment, best: bestOf(session.history), baseline: baselineOf(session.history) });
  return experiment;
}

function describeGain(metric: number, best: number): string {
  const d = metric - best;
  return `${d >= 0 ? "+" : ""}${d.toFixed(6)} improvement`;
}

/** A commit subject is one line; a model's description may not be. */
function cleanSubject(text: string): string {
  return cleanField(text).slice(0, 200) || "experiment";
}
