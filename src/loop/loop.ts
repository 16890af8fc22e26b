import { stopConditionMet } from "../metric/stop-condition.js";
import { writeProgressReport } from "../report/progress.js";
import { runExperiment } from "./experiment.js";
import { nextProposal } from "./propose.js";
import { baselineOf, bestOf, type LoopDeps, type SessionState } from "./state.js";

/** Iterations in a row with no valid proposal before the session gives up. */
const MAX_SKIPPED_ITERATIONS = 5;

/** Why the session should stop now, or null to keep going. Checked between experiments. */
export function stopReason(session: SessionState, deps: LoopDeps): string | null {
  const { config } = session.info;
  const done = session.history.length - 1;
  if (deps.stop.stopRequested) return "stopped by the user";
  if (config.maxIterations !== null && done >= config.maxIterations) return `reached max iterations (${config.maxIterations})`;
  if (session.stopCondition) {
    const best = bestOf(session.history).metric;
    if (best !== null && stopConditionMet(session.stopCondition, best)) return `stop condition met: ${config.stopWhen} (best ${best})`;
  }
  if (config.maxTimeSec !== undefined) {
    const elapsed = (deps.now().getTime() - session.invocationStartedAt.getTime()) / 1000;
    if (elapsed >= config.maxTimeSec) return `reached max time (${config.maxTimeSec}s)`;
  }
  if (config.maxCostUsd !== undefined) {
    const spent = [...session.history, ...session.ledger.rejected()];
    const cost = spent.reduce((sum, e) => sum + (e.costUsd ?? 0), 0);
    if (cost >= config.maxCostUsd) return `reached max cost ($${cost.toFixed(2)} of $${config.maxCostUsd})`;
  }
  return null;
}

function maybeReport(session: SessionState, deps: LoopDeps): void {
  const done = session.history.length - 1;
  if (!deps.renderProgress) return;
  const markdown = deps.renderProgress(session);
  writeProgressReport(session.paths, markdown);
  if (done > 0 && done % session.info.config.reportEvery === 0) deps.emit({ type: "progress-report", iteration: done, markdown });
  deps.projectReports?.(session);
}

/** Phase 2: propose, run, decide, log, repeat until a stop condition holds. Returns why it stopped. */
export async function runLoop(session: SessionState, deps: LoopDeps): Promise<string> {
  let skipped = 0;
  maybeReport(session, deps);
  for (;;) {
    const reason = stopReason(session, deps);
    if (reason) return reason;
    const iteration = session.history.length;
    const outcome = await nextProposal(session, deps, iteration);
    if (outcome.kind === "exhausted") return `the ${deps.proposer.name} proposer has nothing more to propose`;
    if (outcome.kind === "skipped") {
      if (deps.stop.stopRequested) continue;
      skipped++;
      deps.emit({ type: "warning", message: `iteration ${iteration} skipped: no valid proposal (${outcome.reason})` });
      if (skipped >= MAX_SKIPPED_ITERATIONS) return `no valid proposal in ${MAX_SKIPPED_ITERATIONS} iterations in a row`;
      continue;
    }
    skipped = 0;
    // Aborted (second Ctrl-C) while the proposal was made: no run is started.
    if (deps.stop.signal.aborted) return "stopped by the user";
    await runExperiment(session, deps, {
      id: iteration,
      proposal: outcome.proposal,
      newText: outcome.newText,
      ...(outcome.oomRetryOf !== undefined && { oomRetryOf: outcome.oomRetryOf }),
    });
    maybeReport(session, deps);
  }
}

/** Phase 3 bookkeeping shared by every way a session ends. */
export async function endSession(session: SessionState, deps: LoopDeps, reason: string): Promise<string[]> {
  const written = deps.writeReports ? await deps.writeReports(session) : [];
  deps.emit({
    type: "session-end",
    reason,
    experiments: session.history.length - 1,
    best: session.history.length ? bestOf(session.history) : null,
    baseline: session.history.length ? baselineOf(session.history) : null,
  });
  return written;
}
