/**
 * Entry point of the run watchdog (see watchdog.ts): `node watchdog-main.js <orchestrator pid>`.
 * Reads `run <runId> <graceMs> <deadline ms|-> [survives]` (a run started), `done <runId>` (it ended),
 * `idle` (none in flight) and `exit` lines on stdin. On end of input without `exit`, kills every
 * announced run's processes but those that `survives` (a SLURM job: its --time bounds it, and
 * `resume` follows it by job id) and exits. At a run's deadline plus its grace plus
 * DEADLINE_SLACK_MS, kills it if it is still in flight: the orchestrator kills at the deadline
 * itself, so this only acts when the orchestrator could not (stopped).
 */
import { killOrphanedRun } from "./orphans.js";

const DEADLINE_SLACK_MS = 2000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Every run in flight (several with workers), each with its own deadline. */
const current = new Map<string, { graceMs: number; timer: NodeJS.Timeout | null; survives: boolean }>();
let exiting = false;
let pending = "";

// Ctrl-C in the terminal reaches the orchestrator's group, not this one; ignore it anyway.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});

function forget(runId: string): void {
  const entry = current.get(runId);
  if (entry?.timer) clearTimeout(entry.timer);
  current.delete(runId);
}

function watchDeadline(runId: string, graceMs: number, deadline: number): NodeJS.Timeout {
  const wait = Math.min(MAX_TIMER_MS, Math.max(0, deadline - Date.now()) + graceMs + DEADLINE_SLACK_MS);
  return setTimeout(() => {
    if (!current.has(runId)) return;
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
    const [word, runId, grace, deadline, flag] = line.split(" ");
    if (word === "run" && runId) {
      forget(runId);
      const graceMs = Number(grace) || 0;
      const timer = deadline !== undefined && Number.isFinite(Number(deadline)) ? watchDeadline(runId, graceMs, Number(deadline)) : null;
      current.set(runId, { graceMs, timer, survives: flag === "survives" });
    } else if (word === "done" && runId) forget(runId);
    else if (word === "idle") for (const id of [...current.keys()]) forget(id);
    else if (word === "exit") exiting = true;
    nl = pending.indexOf("\n");
  }
});

const finish = async () => {
  const runs = [...current.entries()].filter(([, entry]) => !entry.survives);
  for (const [, entry] of current) if (entry.timer) clearTimeout(entry.timer);
  if (!exiting && runs.length > 0) {
    // Every run in flight at once: each gets its grace, none waits for another's.
    await Promise.all(runs.map(([runId, entry]) => killOrphanedRun(runId, entry.graceMs).catch(() => [])));
  }
  process.exit(0);
};
process.stdin.on("end", () => void finish());
process.stdin.on("error", () => void finish());
