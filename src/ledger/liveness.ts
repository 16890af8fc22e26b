import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { isAlive } from "./lock.js";

/**
 * Whether the loop of a session is alive, from the loop lock (`<git dir>/autoresearch/lock`: {pid, host, startedAt, procStart}):
 * alive when the lock names this host and the pid answers signal 0. A lock from another host
 * cannot be checked from here.
 */
export interface LoopLiveness {
  state: "running" | "stopped" | "unknown";
  pid: number | null;
  host: string | null;
  startedAt: string | null;
  /** One line for people. */
  text: string;
}

export function loopLiveness(lockPath: string, thisHost = hostname()): LoopLiveness {
  if (!existsSync(lockPath)) return { state: "stopped", pid: null, host: null, startedAt: null, text: "not running (no lock)" };
  let lock: { pid?: unknown; host?: unknown; startedAt?: unknown; procStart?: unknown };
  try {
    lock = JSON.parse(readFileSync(lockPath, "utf8"));
  } catch {
    return { state: "unknown", pid: null, host: null, startedAt: null, text: "unknown (unreadable lock file)" };
  }
  const pid = typeof lock.pid === "number" && Number.isInteger(lock.pid) && lock.pid > 0 ? lock.pid : null;
  const host = typeof lock.host === "string" ? lock.host : null;
  const startedAt = typeof lock.startedAt === "string" ? lock.startedAt : null;
  const since = startedAt ? `, since ${startedAt}` : "";
  if (pid === null) return { state: "unknown", pid, host, startedAt, text: "unknown (lock without a pid)" };
  if (host !== null && host !== thisHost) {
    return { state: "unknown", pid, host, startedAt, text: `unknown: the lock belongs to pid ${pid} on ${host}${since} (another machine)` };
  }
  const alive = isAlive({ pid, host: host ?? thisHost, startedAt: startedAt ?? "", ...(typeof lock.procStart === "string" && { procStart: lock.procStart }) });
  return alive
    ? { state: "running", pid, host, startedAt, text: `running (pid ${pid}${host ? ` on ${host}` : ""}${since})` }
    : { state: "stopped", pid, host, startedAt, text: `not running (stale lock of pid ${pid}${since})` };
}
