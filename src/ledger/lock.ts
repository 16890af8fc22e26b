import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { UsageError } from "../errors.js";

/** `<git dir>/autoresearch/lock`: which process runs the loop of this repo. */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** Linux: the process's start time (/proc/<pid>/stat field 22), so a reused pid is not taken for the loop. */
  procStart?: string;
}

export function readLock(path: string): LockInfo | null {
  try {
    const lock = JSON.parse(readFileSync(path, "utf8")) as LockInfo;
    return typeof lock?.pid === "number" ? lock : null;
  } catch {
    return null;
  }
}

/** Start time of a process in clock ticks since boot (Linux), or null where unknown. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(lock: LockInfo): boolean {
  if (lock.host !== hostname()) return true; // cannot check another machine: assume alive
  try {
    process.kill(lock.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // The pid answers, but after a reboot or a long time it may be another process.
  if (lock.procStart !== undefined) {
    const now = processStartTime(lock.pid);
    if (now !== null && now !== lock.procStart) return false;
  }
  return true;
}

export interface HeldLock {
  release(): void;
  /** The lock of a dead loop that was taken over (a killed orchestrator), if any. */
  recoveredStale: LockInfo | null;
}

/**
 * One loop per repo. The lock file is created atomically with its full content (written to a
 * temp file, then hard-linked into place, which fails if a lock exists), so two loops started
 * together cannot both win. A lock whose process is gone (killed orchestrator) is stale and is
 * taken over; a live one is refused with how to stop it.
 */
export function acquireLock(path: string, now: Date): HeldLock {
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: now.toISOString() };
  const procStart = processStartTime(process.pid);
  if (procStart !== null) mine.procStart = procStart;
  const text = `${JSON.stringify(mine)}\n`;
  let recoveredStale: LockInfo | null = null;
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(path, text)) break;
    const existing = readLock(path);
    if (existing === null) {
      // Unreadable: being written right now by a lock of an older version, or garbage.
      if (attempt < 20 && ageMs(path) < 2000) {
        sleepSync(50);
        continue;
      }
    } else if (existing.pid === process.pid && existing.host === mine.host) {
      writeFileSync(path, text); // this process already holds it
      break;
    } else if (isAlive(existing)) {
      throw new UsageError(
        `another autoresearch loop (pid ${existing.pid} on ${existing.host}, started ${existing.startedAt}) is running in this repo`,
        existing.host === mine.host
          ? `Watch it with \`autoresearch status\`, or stop it (kill -INT ${existing.pid}) before starting another.`
          : `It runs on another machine; stop it there, or delete ${path} if that machine is gone.`,
      );
    }
    if (attempt >= 20) throw new UsageError(`could not take the lock ${path}`, "Another autoresearch process keeps replacing it; stop it first.");
    // Stale: move it aside under a name only we use, then check that we moved the stale one.
    const aside = `${path}.stale.${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue; // someone else took it over first: look again
    }
    const moved = readLock(aside);
    if (moved && existing && (moved.pid !== existing.pid || moved.startedAt !== existing.startedAt) && isAlive(moved)) {
      // We moved a fresh lock that replaced the stale one in between: put it back and refuse.
      try {
        linkSync(aside, path);
      } catch {}
      unlinkQuiet(aside);
      continue;
    }
    unlinkQuiet(aside);
    recoveredStale = existing;
  }
  return {
    recoveredStale,
    release() {
      const current = readLock(path);
      if (current?.pid === process.pid && current.host === mine.host) unlinkQuiet(path);
    },
  };
}

function createExclusive(path: string, text: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // File systems without hard links: exclusive create.
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") {
      try {
        writeFileSync(path, text, { flag: "wx" });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw e;
      }
    }
    throw error;
  } finally {
    unlinkQuiet(tmp);
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
