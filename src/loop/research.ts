
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ResearchConfig } from "../config/options.js";
import { type CheckedConfig, validateConfig } from "../config/resolve.js";
import { checkExecutorConfig } from "../executors/check-config.js";
import { AutoresearchError, RuntimeFailure, UsageError } from "../errors.js";
import { takeKernelLock } from "../ledger/kernel-lock.js";
import { acquireLock, isAlive, readLock } from "../ledger/lock.js";
import { lockPath } from "../ledger/paths.js";
import type { PlatformInfo } from "../types.js";
import { endSession, runLoop } from "./loop.js";
import { type ResumeOverrides, resumeSession } from "./resume.js";
import { removeClones, startSession, validateNewSession } from "./setup.js";
import { type ResolvedSession, resolveSession } from "../search/slots.js";
import { PROPOSER_GAVE_UP } from "../search/scheduler.js";
import type { LoopDeps, SessionState } from "../search/session.js";
import { startWatchdog } from "../runner/watchdog.js";

/**
 * A new session takes its config as typed by a library caller (checked here, as the CLI checks
 * it) or already checked by the one resolve-and-check of the CLI (resolveChecked), which is not
 * repeated.
 */
export type ResearchMode =
  | { kind: "new"; config: ResearchConfig; platform: PlatformInfo }
  | { kind: "new"; checked: CheckedConfig; platform: PlatformInfo }
  | { kind: "resume"; overrides?: ResumeOverrides; tag?: string };

export interface ResearchOutcome {
  session: SessionState;
  reason: string;
  /** Report files written at the end (summary, chart). */
  written: string[];
  /** True when the user stopped it (exit 130). */
  interrupted: boolean;
  /** True when it ended because the proposer gave no valid proposal, time after time (exit 1: nothing was researched). */
  proposerGaveUp: boolean;
}

/**
 * A whole session from start (or resume) to Phase 3: holds the repo lock, runs the loop, and
 * writes the summary however the loop ends — max iterations, stop condition, Ctrl-C or error.
 */
export async function research(root: string, mode: ResearchMode, deps: LoopDeps): Promise<ResearchOutcome> {
  // A library caller gets the CLI's checks: a session `run` would refuse is refused here, before
  // anything is written (resume checks its overrides the same way once it has read the session).
  const checked = mode.kind !== "new" ? null : "checked" in mode ? mode.checked : validateConfig(mode.config, root);
  if (checked) checkExecutorConfig(checked.config);
  if (checked) await validateNewSession(deps.git, root, checked.config);
  // Workers, devices and hosts that cannot work together are refused here too (exit 2); setup
  // takes the slots resolved here.
  const resolved = checked && mode.kind === "new" ? resolveSession(checked, mode.platform) : null;
  // The session's own executor, once its config is known (resume reads it from session.json).
  deps = { ...deps };
  if (checked && deps.executorFor) deps.executor = deps.executorFor(checked.config);
  const lockFile = lockPath(root);
  if (!lockFile) throw new UsageError(`${root} is not the top of a git checkout`, "Run autoresearch in your training repo.");
  mkdirSync(dirname(lockFile), { recursive: true });
  // The kernel's lock first: a run that deleted the lock file does not let a second loop in.
  const kernel = await takeKernelLock(dirname(lockFile));
  if (!kernel) throw loopRunning(lockFile);
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(lockFile, deps.now());
  } catch (error) {
    kernel.release();
    throw error;
  }
  // Kills the run in flight if this process dies without cleaning up (SIGKILL included).
  const watch = deps.runWatch ? null : startWatchdog();
  if (watch) deps = { ...deps, runWatch: watch };
  deps.executor.warmUp?.();
  try {
    if (lock.recoveredStale) {
      deps.emit({ type: "warning", message: `recovered a stale lock left by pid ${lock.recoveredStale.pid} (${lock.recoveredStale.startedAt})` });
    }
    const session = mode.kind === "new" ? await startSession(root, resolved as ResolvedSession, mode.platform, deps) : await resumeSession(root, deps, mode.overrides, mode.tag);
    let reason: string;
    try {
      reason = await runLoop(session, deps);
    } catch (error) {
      const failure = asFailure(error);
      await endSession(session, deps, `stopped by an error: ${(failure as Error).message}`).catch(() => []);
      throw failure;
    } finally {
      // The clones are throwaway: resume makes them again. Their outputs were cleaned after each run.
      removeClones(session);
      await deps.executor.close?.();
    }
    const written = await endSession(session, deps, reason);
    return { session, reason, written, interrupted: deps.stop.stopRequested, proposerGaveUp: reason === PROPOSER_GAVE_UP };
  } catch (error) {
    throw asFailure(error);
  } finally {
    // What was made ready for a first run that never came (a session that failed to start).
    await deps.executor.close?.();
    watch?.close();
    lock.release();
    kernel.release();
  }
}

/** Another process holds the repository's loop lock: named from the lock file when it is still there. */
function loopRunning(lockFile: string): UsageError {
  const existing = readLock(lockFile);
  if (existing && existing.pid !== process.pid && isAlive(existing)) {
    return new UsageError(
      `another autoresearch loop (pid ${existing.pid} on ${existing.host}, started ${existing.startedAt}) is running in this repo`,
      `Watch it with \`autoresearch status\`, or stop it (kill -INT ${existing.pid}) before starting another.`,
    );
  }
  return new UsageError(
    `another autoresearch loop is running in this repo (its lock file ${lockFile} was removed or replaced, but the loop still holds the repository's lock)`,
    "Watch it with `autoresearch status` or find it with `ps`, and stop it (kill -INT <pid>) before starting another.",
  );
}



/** Codes of a file system that cannot take more writes: the session stops cleanly and `resume` continues once fixed. */
const STORAGE_ERRORS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "an input/output error",
  EMFILE: "too many open files",
};

/** A write that failed for want of space or permission becomes a clear runtime failure (exit 1), not a stack trace. */
export function asFailure(error: unknown): unknown {
  if (error instanceof AutoresearchError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === "string" && code in STORAGE_ERRORS) {
    const path = (error as NodeJS.ErrnoException).path;
    return new RuntimeFailure(
      `could not write${path ? ` ${path}` : ""}: ${STORAGE_ERRORS[code]} (${code})`,
      "Free space (or fix the permissions), then run `autoresearch resume`: everything recorded so far is kept and the experiment in flight runs again.",
    );
  }
  return error;
}
