/**
 * Which processes belong to a run. A run is its root process's group plus every process whose
 * environment carries the run's marker `AUTORESEARCH_RUN_ID=<id>` (this catches grandchildren
 * that left the group with setsid and double-forked), plus, on Linux with cgroup v2, every member
 * of the run's cgroup (this catches those that also hid or dropped the marker), plus all their
 * descendants. Zombies are dead and are left out. Linux reads /proc; macOS and other POSIX
 * systems read `ps -E`.
 * Windows has no cheap way to read another process's environment: the list is empty there.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { cgroupMembers, parseCgroup2Path, runIdOfCgroup } from "./cgroup.js";

export const RUN_ID_ENV = "AUTORESEARCH_RUN_ID";

/** Identifies a run's processes: its root pid (also its process group id) and marker id. */
export interface RunTree {
  rootPid: number;
  runId: string;
  /** Directory of the run's own cgroup (Linux, cgroup v2), when it has one. */
  cgroupDir?: string;
}

export interface ProcEntry {
  pid: number;
  ppid: number;
  pgid: number;
  zombie: boolean;
  /** The run id found in its environment, or null. */
  runId: string | null;
  /** The run id of the run cgroup it is in, when that was read; null or absent otherwise. */
  cgroupRunId?: string | null;
}

/**
 * Pure: the live pids of `tree` among `entries` (group ∪ marked ∪ cgroup members ∪ their
 * descendants). `members` are the pids listed in the run's cgroup.
 */
export function selectRunPids(entries: readonly ProcEntry[], tree: RunTree, selfPid = process.pid, members: readonly number[] = []): number[] {
  const chosen = new Set<number>();
  const children = new Map<number, number[]>();
  const inCgroup = new Set(members);
  for (const e of entries) {
    if (e.zombie || e.pid <= 1 || e.pid === selfPid) continue;
    if (e.pgid === tree.rootPid || e.pid === tree.rootPid || e.runId === tree.runId || e.cgroupRunId === tree.runId || inCgroup.has(e.pid)) chosen.add(e.pid);
    const list = children.get(e.ppid);
    if (list) list.push(e.pid);
    else children.set(e.ppid, [e.pid]);
  }
  const stack = [...chosen];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    for (const child of children.get(pid) ?? []) {
      if (!chosen.has(child)) {
        chosen.add(child);
        stack.push(child);
      }
    }
  }
  return [...chosen].sort((a, b) => a - b);
}

const MARKER_RE = new RegExp(`(?:^|\\s)${RUN_ID_ENV}=([^\\s]+)`);

/** Pure: parse `ps -E -o pid=,ppid=,pgid=,stat=,command=` output (environment after the command). */
export function parsePsListing(text: string): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      pid: Number(m[1]),
      ppid: Number(m[2]),
      pgid: Number(m[3]),
      zombie: (m[4] ?? "").startsWith("Z"),
      runId: MARKER_RE.exec(m[5] ?? "")?.[1] ?? null,
    });
  }
  return out;
}

/** Environment marker cache keyed by pid and start time, so each process's environ is read once. */
const markerCache = new Map<string, string | null>();
const MARKER_BYTES = Buffer.from(`${RUN_ID_ENV}=`);

function readMarker(pid: number): string | null {
  let env: Buffer;
  try {
    env = readFileSync(`/proc/${pid}/environ`);
  } catch {
    return null; // EACCES (another user's process), ENOENT (gone): not ours / nothing to do
  }
  let at = env.indexOf(MARKER_BYTES);
  while (at > 0 && env[at - 1] !== 0) at = env.indexOf(MARKER_BYTES, at + 1);
  if (at < 0) return null;
  const start = at + MARKER_BYTES.length;
  const end = env.indexOf(0, start);
  return env.toString("utf8", start, end < 0 ? env.length : end);
}

function readCgroupRunId(pid: number): string | null {
  try {
    const path = parseCgroup2Path(readFileSync(`/proc/${pid}/cgroup`, "utf8"));
    return path ? runIdOfCgroup(path) : null;
  } catch {
    return null;
  }
}

/**
 * Linux: one pass over /proc. Races (a process exiting mid-read) are skipped. `withCgroups`
 * also reads each process's cgroup (for finding an orphaned run whose cgroup path is unknown).
 */
export function readProcTable(withCgroups = false): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of readdirSync("/proc")) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0] ?? "";
    const key = `${pid}:${fields[19] ?? ""}`;
    let runId = markerCache.get(key);
    if (runId === undefined) {
      runId = readMarker(pid);
      if (markerCache.size > 20_000) markerCache.clear();
      if (state !== "Z" && state !== "X") markerCache.set(key, runId);
    }
    out.push({
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      zombie: state === "Z" || state === "X",
      runId,
      ...(withCgroups && { cgroupRunId: readCgroupRunId(pid) }),
    });
  }
  return out;
}

let lastTable: { at: number; entries: ProcEntry[] } | null = null;

/**
 * Linux: the process table, reused by readers that accept one up to `maxAgeMs` old. The memory
 * samplers of the runs in flight share it, so their ticks cost one pass over /proc between them
 * rather than one each (with 16 runs that was 80 passes a second). Killing reads afresh (0).
 */
function sharedProcTable(maxAgeMs: number): ProcEntry[] {
  const now = performance.now();
  if (maxAgeMs > 0 && lastTable && now - lastTable.at <= maxAgeMs) return lastTable.entries;
  const entries = readProcTable();
  lastTable = { at: now, entries };
  return entries;
}

function readPsTable(): Promise<ProcEntry[]> {
  return new Promise((resolve) => {
    execFile(
      "ps",
      ["-a", "-x", "-ww", "-E", "-o", "pid=,ppid=,pgid=,stat=,command="],
      { maxBuffer: 256 * 1024 * 1024, windowsHide: true },
      (err, stdout) => resolve(err ? [] : parsePsListing(stdout)),
    );
  });
}

/**
 * The live pids of a run (empty on Windows). A tree with a known root pid reads its cgroup's
 * member list (one file); an orphan search (rootPid -1: only the id is known) reads each
 * process's cgroup instead.
 */
export async function listRunPids(tree: RunTree, platform: NodeJS.Platform = process.platform, options: { maxAgeMs?: number } = {}): Promise<number[]> {
  if (platform === "win32") return [];
  let entries: ProcEntry[];
  if (platform === "linux") {
    try {
      entries = tree.rootPid < 0 ? readProcTable(true) : sharedProcTable(options.maxAgeMs ?? 0);
    } catch {
      entries = await readPsTable();
    }
  } else {
    entries = await readPsTable();
  }
  return selectRunPids(entries, tree, process.pid, tree.cgroupDir ? cgroupMembers(tree.cgroupDir) : []);
}
