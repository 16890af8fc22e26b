/**
 * Entry point of the run watchdog (see watchdog.ts): `node watchdog-main.js <orchestrator pid>`.
 * Reads `run <runId> <graceMs>`, `idle` and `exit` lines on stdin; on end of input without
 * `exit`, kills the announced run's processes and exits.
 */
import { killOrphanedRun } from "./orphans.js";

let current: { runId: string; graceMs: number } | null = null;
let exiting = false;
let pending = "";

// Ctrl-C in the terminal reaches the orchestrator's group, not this one; ignore it anyway.
process.on("SIGINT", () => {});
process.on("SIGHUP", () => {});

process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  pending += chunk;
  let nl = pending.indexOf("\n");
  while (nl >= 0) {
    const line = pending.slice(0, nl).trim();
    pending = pending.slice(nl + 1);
    const [word, runId, grace] = line.split(" ");
    if (word === "run" && runId) current = { runId, graceMs: Number(grace) || 0 };
    else if (word === "idle") current = null;
    else if (word === "exit") exiting = true;
    nl = pending.indexOf("\n");
  }
});

const finish = async () => {
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
