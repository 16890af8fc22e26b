/**
 * What is left of a run whose orchestrator was killed (SIGKILL, OOM killer, closed terminal):
 * the run lives in its own process group, so it does not die with the orchestrator. It is
 * found by its marker AUTORESEARCH_RUN_ID (recorded in state.json before the run starts, and
 * announced to the watchdog) and killed: SIGTERM, a grace, then SIGKILL until none is left.
 */
// From the modules themselves, not ./index.js: the watchdog process loads this, and the index
// would load the output scanners and log writers it never uses.
import { removeRunCgroupWhenEmpty, runCgroupDir } from "./cgroup.js";
import { listRunPids } from "./process-list.js";
import { trySignal } from "./process-tree.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Live pids carrying the run's marker, and their descendants. Only the marker is trusted: a pid or group recorded before the kill may belong to someone else by now. */
export function orphanPids(runId: string): Promise<number[]> {
  // rootPid -1 matches no process and no group: selection is by marker (and descent) only.
  return listRunPids({ rootPid: -1, runId });
}

/** Kills every process of the run; resolves with the pids it found (empty when none was left). */
export async function killOrphanedRun(runId: string, graceMs: number, killWaitMs = 10_000): Promise<number[]> {
  let pids = await orphanPids(runId);
  const found = [...pids];
  if (pids.length === 0) return found;
  for (const pid of pids) trySignal(pid, "SIGTERM");
  const graceEnd = Date.now() + Math.max(0, graceMs);
  while (pids.length > 0 && Date.now() < graceEnd) {
    await sleep(50);
    pids = await orphanPids(runId);
  }
  const killEnd = Date.now() + killWaitMs;
  while (pids.length > 0 && Date.now() < killEnd) {
    for (const pid of pids) trySignal(pid, "SIGKILL");
    await sleep(20);
    pids = await orphanPids(runId);
  }
  for (const pid of pids) if (!found.includes(pid)) found.push(pid);
  // The run's cgroup, when the orchestrator that made it shared this process's cgroup (the watchdog does).
  const cgroup = runCgroupDir(runId);
  if (cgroup && pids.length === 0) await removeRunCgroupWhenEmpty(cgroup);
  return found;
}
