/**
 * Entry point of the run watchdog (see watchdog.ts): `node watchdog-main.js <orchestrator pid>`.
 * Reads `run <runId> <graceMs> [<deadline ms>]`, `idle` and `exit` lines on stdin. On end of
 * input without `exit`, kills the announced run's processes and exits. At a run's deadline plus
 * its grace plus DEADLINE_SLACK_MS, kills it if it is still the run in flight: the orchestrator
 * kills at the deadline itself, so this only acts when the orchestrator could not (stopped).
 */
import { killOrphanedRun } from "./orphans.js";

const DEADLINE_SLACK_MS = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;

let current: { runId: string; graceMs: number } | null = null;
let deadlineTimer: NodeJS.Timeout | null = null;
let exiting = false;
let pending = "";

// Ctrl-C in the terminal reaches the orchestrator's group, not this one; ignore it anyway.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});

function watchDeadline(runId: string, graceMs: number, deadline: number): void {
  const wait = Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()) + graceMs + DEADLINE_SLACK_MS);
  deadlineTimer = setTimeout(() => {
    if (current?.runId !== runId) return;
    void killOrphanedRun(runId, graceMs).catch(() => {});
  }, wait);
}

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  let nl = pending.indexOf("\n");
  while (nl >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    const [word, runId, grace, deadline] = line.split(" ");
    if (word === "run" || word === "idle") {
      if (deadlineTimer) clearTimeout(deadlineTimer);
      deadlineTimer = null;
    }
    if (word === "run" && runId) {
      current = { runId, graceMs: Number(grace) || 0 };
      if (deadline !== undefined && Number.isFinite(Number(deadline))) watchDeadline(runId, current.graceMs, Number(deadline));
    } else if (word === "idle") current = null;
    else if (word === "exit") exiting = true;
    nl = pending.indexOf("\n");
  }
});

const finish = async () => {
  if (deadlineTimer) clearTimeout(deadlineTimer);
  if (!exiting && current) {
    try {
      await killOrphanedRun(current.runId, current.graceMs);
    } catch {
      // nothing more this process can do
    }
  }
  process.exit(0);
};
process.stdin.on("end", () => void finish());
process.stdin.on("error", () => void finish());
