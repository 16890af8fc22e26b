
import { mkdirSync } from "node:fs";
import { type CheckedConfig, validateConfig } from "../config/resolve.js";
import { sessionPaths } from "../ledger/paths.js";
import type { PlatformInfo } from "../types.js";
import type { ResearchConfig } from "../config/options.js";
import { acquireLock } from "../ledger/lock.js";
import { endSession, runLoop } from "./loop.js";
import { type ResumeOverrides, resumeSession } from "./resume.js";
import { startSession, validateNewSession } from "./setup.js";
import type { LoopDeps, SessionState } from "./state.js";
import { startWatchdog } from "./watchdog.js";

export type ResearchMode = { kind: "new"; config: ResearchConfig; platform: PlatformInfo } | { kind: "resume"; overrides?: ResumeOverrides };

export interface ResearchOutcome {
  session: SessionState;
  reason: string;
  /** Report files written at the end (summary, chart). */
  written: string[];
  /** True when the user stopped it (exit 130). */
  interrupted: boolean;
}

/**
 * A whole session from start (or resume) to Phase 3: holds the repo lock, runs the loop, and
 * writes the summary however the loop ends — max iterations, stop condition, Ctrl-C or error.
 */
export async function research(root: string, mode: ResearchMode, deps: LoopDeps): Promise<ResearchOutcome> {
  // A library caller gets the CLI's checks: a session `run` would refuse is refused here, before
  // anything is written (resume checks its overrides the same way once it has read the session).
  const checked = mode.kind === "new" ? validateConfig(mode.config, root) : null;
  if (checked) await validateNewSession(deps.git, root, checked.config);
  const paths = sessionPaths(root);
  mkdirSync(paths.dir, { recursive: true });
  const lock = acquireLock(paths.lock, deps.now());
  // Kills the run in flight if this process dies without cleaning up (SIGKILL included).
  const watch = deps.runWatch ? null : startWatchdog();
  if (watch) deps = { ...deps, runWatch: watch };
  try {
    if (lock.recoveredStale) {
      deps.emit({ type: "warning", message: `recovered a stale lock left by pid ${lock.recoveredStale.pid} (${lock.recoveredStale.startedAt})` });
    }
    const session = mode.kind === "new" ? await startSession(root, checked as CheckedConfig, mode.platform, deps) : await resumeSession(root, deps, mode.overrides);
    let reason: string;
    try {
      reason = await runLoop(session, deps);
    } catch (error) {
      await endSession(session, deps, `stopped by an error: ${(error as Error).message}`);
      throw error;
    }
    const written = await endSession(session, deps, reason);
    return { session, reason, written, interrupted: deps.stop.stopRequested };
  } finally {
    watch?.close();
    lock.release();
  }
}


