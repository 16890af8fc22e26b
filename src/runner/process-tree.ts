/**
 * Kill a run's whole process tree. POSIX: SIGTERM to the group and to every marked process,
 * SIGKILL to all that remain after the grace, repeated until none is left (bounded). Windows:
 * `taskkill /T /F /PID <root>`.
 */
import { spawn } from "node:child_process";
import { listRunPids, type RunTree } from "./process-list.js";

export { listRunPids, parsePsListing, RUN_ID_ENV, type RunTree, selectRunPids } from "./process-list.js";

/** Pure: the Windows command that kills a process and all its descendants. */
export function windowsKillCommand(pid: number): { file: string; args: string[] } {
  if (!Number.isInteger(pid) || pid <= 0) throw new RangeError(`not a process id: ${pid}`);
  return { file: "taskkill", args: ["/T", "/F", "/PID", String(pid)] };
}

export interface KillTreeOptions extends RunTree {
  /** Time between SIGTERM and SIGKILL. */
  graceMs: number;
  platform?: NodeJS.Platform;
  /** How often to look for survivors (default 50 ms). */
  pollMs?: number;
  /** How long to keep SIGKILLing survivors before giving up (default 10 s: GPU teardown can be slow). */
  killWaitMs?: number;
  /** Lists the run's live pids (default: listRunPids). */
  list?: (tree: RunTree) => Promise<number[]>;
}

export interface KillTreeResult {
  /** Pids still alive when it gave up (empty when the whole tree is gone). */
  survivors: number[];
  /** Whether any signal had to be sent. */
  signalled: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Signal a process (pid > 0) or a process group (pid < 0), ignoring "no such process" / "not
 * permitted". Never signals pid 0, 1, -1 (everything) or this process.
 */
export function trySignal(pid: number, sig: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || Math.abs(pid) <= 1 || pid === process.pid || pid === -process.pid) return;
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone; EPERM: not ours (pid reused) — nothing to do either way.
  }
}

function signalAll(tree: RunTree, pids: readonly number[], sig: NodeJS.Signals): void {
  trySignal(-tree.rootPid, sig);
  for (const pid of pids) trySignal(pid, sig);
}

export async function killRunTree(opts: KillTreeOptions): Promise<KillTreeResult> {
  const platform = opts.platform ?? process.platform;
  if (platform === "win32") return killWindowsTree(opts.rootPid);
  const tree: RunTree = { rootPid: opts.rootPid, runId: opts.runId, ...(opts.cgroupDir !== undefined && { cgroupDir: opts.cgroupDir }) };
  const list = opts.list ?? ((t: RunTree) => listRunPids(t, platform));
  const pollMs = opts.pollMs ?? 50;
  let pids = await list(tree);
  if (pids.length === 0) return { survivors: [], signalled: false };

  signalAll(tree, pids, "SIGTERM");
  const graceEnd = Date.now() + Math.max(0, opts.graceMs);
  // Looked at again after 1, 2, 4 ... ms, then every pollMs: what a sweep finds after a run is most
  // often already on its way out (its last members leaving a moment after its main process), and
  // the next experiment waits for this.
  let wait = 1;
  while (pids.length > 0 && Date.now() < graceEnd) {
    await sleep(Math.min(wait, pollMs, Math.max(1, graceEnd - Date.now())));
    wait *= 2;
    pids = await list(tree);
  }
  const killEnd = Date.now() + (opts.killWaitMs ?? 10_000);
  while (pids.length > 0) {
    signalAll(tree, pids, "SIGKILL");
    if (Date.now() >= killEnd) break;
    await sleep(Math.min(pollMs, 20));
    pids = await list(tree);
  }
  return { survivors: pids, signalled: true };
}

function killWindowsTree(pid: number): Promise<KillTreeResult> {
  const { file, args } = windowsKillCommand(pid);
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: "ignore", windowsHide: true });
    const done = () => resolve({ survivors: [], signalled: true });
    child.once("error", done);
    child.once("exit", done);
  });
}
