import { proposalSpend } from "../config/session-limits.js";
import { stopConditionMet } from "../metric/stop-condition.js";
import type { ExperimentRecord } from "../types.js";
import { bestOf, type LoopDeps, type SessionState } from "./session.js";

/** Experiments after the baseline that count towards --max-iterations: a re-run of a stale candidate's change does not (its original did). */
export function countedExperiments(history: readonly Pick<ExperimentRecord, "id" | "rebaseOf" | "category">[]): number {
  return history.filter((e) => e.category !== "baseline" && e.id !== 0 && e.rebaseOf === undefined).length;
}

/**
 * Why the session should stop taking new work now, or null to keep going. `inFlight`: experiments
 * proposed or running that count towards --max-iterations, and what their proposals cost.
 */
export function stopReason(session: SessionState, deps: LoopDeps, inFlight: { count: number; costUsd: number } = { count: 0, costUsd: 0 }): string | null {
  const { config } = session.info;
  const done = countedExperiments(session.history) + inFlight.count;
  if (deps.stop.stopRequested) return "stopped by the user";
  if (config.maxIterations !== null && done >= config.maxIterations) return `reached max iterations (${config.maxIterations})`;
  if (session.stopCondition) {
    const best = bestOf(session).metric;
    if (best !== null && stopConditionMet(session.stopCondition, best)) return `stop condition met: ${config.stopWhen} (best ${best})`;
  }
  if (config.maxTimeSec !== undefined) {
    const elapsed = (deps.now().getTime() - session.invocationStartedAt.getTime()) / 1000;
    if (elapsed >= config.maxTimeSec) return `reached max time (${config.maxTimeSec}s)`;
  }
  if (config.maxCostUsd !== undefined) {
    // Proposals made and not decided yet were paid for too.
    const cost = proposalSpend([...session.history, ...session.ledger.rejected()]) + inFlight.costUsd;
    if (cost >= config.maxCostUsd) return `reached max cost ($${cost.toFixed(2)} of $${config.maxCostUsd})`;
  }
  return null;
}

