import { closeSync, existsSync, fstatSync, openSync } from "node:fs";
import { readRange } from "../safe-fs.js";
import { eventsPath } from "./events-file.js";
import { type FinalizeAttempt, latestFinalize, readFinalizeEntries } from "./finalize-records.js";
import { loopLiveness } from "./liveness.js";
import { currentTag, type SessionPaths, sessionPaths } from "./paths.js";

/**
 * Where a session's finalize stands, for the views: finished (its result is recorded), running
 * (a finalize process is at work on it now) or stopped (Ctrl-C, a kill or an error; `finalize`
 * again continues it). Read-only, safe while anything runs.
 *
 * The repo's loop lock says a process holds the repo, not which command it is: `finalize` and
 * the loop take the same lock. The lock is finalize's, on this session, when a run of this
 * attempt ended after the lock was taken (only this session's finalize writes its runs), or, before
 * its first run ends, when the lock was taken after the attempt started and no loop started since
 * (a loop writes `session-start` to the current session's events as it takes the lock).
 */
export type FinalizeProgress = "finished" | "running" | "stopped";

export interface FinalizeState {
  attempt: FinalizeAttempt;
  progress: FinalizeProgress;
}

/** How much of the current session's events.jsonl's end is read for a `session-start`. */
const EVENTS_TAIL_BYTES = 64 * 1024;

/** The latest finalize attempt of the session at `paths` and where it stands; null when never finalized. */
export function readFinalizeState(paths: SessionPaths): FinalizeState | null {
  const attempt = latestFinalize(readFinalizeEntries(paths.finalize));
  if (!attempt) return null;
  if (attempt.result) return { attempt, progress: "finished" };
  return { attempt, progress: finalizeHoldsLock(paths, attempt) ? "running" : "stopped" };
}

function finalizeHoldsLock(paths: SessionPaths, attempt: FinalizeAttempt): boolean {
  const loop = loopLiveness(paths.lock);
  if (loop.state !== "running") return false;
  const since = Date.parse(loop.startedAt ?? "");
  if (Number.isNaN(since)) return false;
  if (attempt.runs.some((r) => Date.parse(r.finishedAt) >= since)) return true;
  if (since < Date.parse(attempt.startedAt)) return false;
  return !loopStartedSince(paths, since);
}

/** Whether the repo's current session logged a `session-start` at or after `since` (ms). */
function loopStartedSince(paths: SessionPaths, since: number): boolean {
  const tag = currentTag(paths.home);
  const dir = tag ? sessionPaths(paths.root, tag, paths.home).dir : paths.dir;
  for (const line of tail(eventsPath(dir), EVENTS_TAIL_BYTES).split("\n")) {
    if (!line.includes('"session-start"')) continue;
    try {
      const event = JSON.parse(line) as { type?: string; at?: string };
      if (event.type === "session-start" && Date.parse(event.at ?? "") >= since) return true;
    } catch {
      // a line being written
    }
  }
  return false;
}

function tail(path: string, bytes: number): string {
  if (!existsSync(path)) return "";
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    return readRange(fd, Math.max(0, size - bytes), size);
  } finally {
    closeSync(fd);
  }
}
