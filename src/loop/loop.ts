import { writeProgressReport } from "../report/progress.js";
import { Scheduler } from "../search/scheduler.js";
import { baselineOf, bestOf, type LoopDeps, type SessionState } from "../search/session.js";
export { countedExperiments, stopReason } from "../search/stop-reason.js";

/** After each decision: progress.md, the report every N experiments, the summary and chart. */
export function maybeReport(session: SessionState, deps: LoopDeps): void {
  const done = session.history.length - 1;
  if (!deps.renderProgress) return;
  const markdown = deps.renderProgress(session);
  writeProgressReport(session.paths, markdown);
  if (done > 0 && done % session.info.config.reportEvery === 0) deps.emit({ type: "progress-report", iteration: done, markdown });
  deps.projectReports?.(session);
}

/**
 * Phase 2: propose, run, decide, log, repeat until a stop condition holds. Returns why it
 * stopped. Every session goes through the scheduler (one worker is the plain serial loop with
 * proposals made while the run trains).
 */
export async function runLoop(session: SessionState, deps: LoopDeps): Promise<string> {
  maybeReport(session, deps);
  return new Scheduler(session, deps, () => maybeReport(session, deps)).run();
}

/** Phase 3 bookkeeping shared by every way a session ends. */
export async function endSession(session: SessionState, deps: LoopDeps, reason: string): Promise<string[]> {
  const written = deps.writeReports ? await deps.writeReports(session) : [];
  deps.emit({
    type: "session-end",
    reason,
    experiments: session.history.length - 1,
    best: session.history.length ? bestOf(session) : null,
    baseline: session.history.length ? baselineOf(session.history) : null,
  });
  return written;
}
