import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { UsageError } from "../errors.js";

export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export function readLock(path: string): LockInfo | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

export function isAlive(lock: LockInfo): boolean {
  if (lock.host !== hostname()) return true; // cannot check another machine: assume alive
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One loop per repo. A lock whose process is gone (killed orchestrator) is stale and taken
 * over; a live one is refused with how to stop it.
 */
export function acquireLock(path: string, now: Date): { release(): void; recoveredStale: LockInfo | null } {
  const existing = readLock(path);
  if (existing && existing.pid !== process.pid && isAlive(existing)) {
    throw new UsageError(
      `another autoresearch loop (pid ${existing.pid} on ${existing.host}, started ${existing.startedAt}) is running in this repo`,
      `Watch it with \`autoresearch status\`, or stop it (kill -INT ${existing.pid}) before starting another.`,
    );
  }
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: now.toISOString() };
  writeFileSync(path, `${JSON.stringify(mine)}\n`);
  return {
    recoveredStale: existing && existing.pid !== process.pid ? existing : null,
    release() {
      const current = readLock(path);
      if (current?.pid === process.pid) unlinkSync(path);
    },
  };
}
