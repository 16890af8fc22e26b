/**
 * Linux cgroup v2 tracking of a run's processes. A process can leave its process group
 * (setsid), drop or hide the environment marker (`env -i`, a setgid helper, prctl
 * PR_SET_DUMPABLE 0), and be re-parented to init by a double fork, but it cannot leave its
 * cgroup without write access to another one. Each run gets its own cgroup, a child of the
 * orchestrator's, when the orchestrator may create one there (root, or a delegated subtree such as
 * a systemd user service); the run's shell moves itself in before it executes the command, so
 * everything the command starts is a member. Where no writable cgroup v2 exists (cgroup v1
 * hosts, unprivileged containers, macOS, Windows) this returns null and the process group plus
 * the marker are what track the run (docs/guarantees.md says what each platform guarantees).
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

export const CGROUP_PREFIX = "autoresearch-run-";

/** Pure: the cgroup v2 mount point in a /proc/self/mountinfo text, or null. */
export function parseCgroup2Mount(mountinfo: string): string | null {
  for (const line of mountinfo.split("\n")) {
    // <id> <parent> <maj:min> <root> <mount point> <options> [optional...] - <fstype> <source> <super options>
    const [left, right] = line.split(" - ");
    if (!left || !right?.startsWith("cgroup2 ")) continue;
    const mountPoint = left.split(" ")[4];
    if (mountPoint) return mountPoint.replace(/\\040/g, " ");
  }
  return null;
}

/** Pure: the cgroup v2 path (`0::<path>`) in a /proc/<pid>/cgroup text, or null. */
export function parseCgroup2Path(procCgroup: string): string | null {
  for (const line of procCgroup.split("\n")) if (line.startsWith("0::")) return line.slice(3).trim() || "/";
  return null;
}

/** Pure: the run id of a cgroup path made by createRunCgroup, or null. */
export function runIdOfCgroup(path: string): string | null {
  const last = path.slice(path.lastIndexOf("/") + 1);
  return last.startsWith(CGROUP_PREFIX) ? last.slice(CGROUP_PREFIX.length) : null;
}

let mountCache: string | null | undefined;

function cgroup2Mount(): string | null {
  if (mountCache === undefined) {
    try {
      mountCache = parseCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"));
    } catch {
      mountCache = null;
    }
  }
  return mountCache;
}

/** The directory of a cgroup path as seen from this process (null off Linux or without cgroup v2). */
export function cgroupDir(path: string): string | null {
  const mount = cgroup2Mount();
  return mount ? join(mount, path) : null;
}

export interface RunCgroup {
  /** Directory of the run's cgroup. */
  dir: string;
  /** Its `cgroup.procs`: writing a pid there moves that process in. */
  procsFile: string;
}

/** Where run `runId`'s cgroup is when this process (or its parent, the orchestrator) made it. */
export function runCgroupDir(runId: string, platform: NodeJS.Platform = process.platform): string | null {
  if (platform !== "linux" || !/^[\w-]+$/.test(runId)) return null;
  try {
    const own = parseCgroup2Path(readFileSync("/proc/self/cgroup", "utf8"));
    const base = own ? cgroupDir(own) : null;
    return base ? join(base, `${CGROUP_PREFIX}${runId}`) : null;
  } catch {
    return null;
  }
}

/**
 * Creates the run's cgroup as a child of this process's cgroup, or returns null where it cannot
 * or where `AUTORESEARCH_CGROUP=off` asks not to (a process in a cgroup of its own forks a little
 * slower, about half a millisecond a process on the machines here: only a run that starts dozens
 * of short processes notices).
 */
export function createRunCgroup(runId: string, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): RunCgroup | null {
  if (env.AUTORESEARCH_CGROUP === "off") return null;
  const dir = runCgroupDir(runId, platform);
  if (!dir) return null;
  sweepStaleRunCgroups(dirname(dir));
  try {
    mkdirSync(dir);
    return { dir, procsFile: join(dir, "cgroup.procs") };
  } catch {
    return null; // read-only /sys/fs/cgroup, no delegation, cgroup v1 only: not available here
  }
}

/** The live members of a cgroup directory (empty when it is gone). */
export function cgroupMembers(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/**
 * Whether any process ever ran in the cgroup (its cpu.stat counts CPU time from the first
 * member on): the run's shell moved in. False when it could not (and where cpu.stat is missing).
 */
export function cgroupEntered(dir: string): boolean {
  try {
    const usage = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, "cpu.stat"), "utf8"));
    return usage !== null && Number(usage[1]) > 0;
  } catch {
    return false;
  }
}

/** Removes an empty run cgroup; a cgroup that still has members stays (rmdir refuses). */
export function removeRunCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes a run cgroup once its last member is gone: processes that were just killed leave it
 * a moment later than their parent sees them exit, so the removal is retried for up to `waitMs`.
 */
export async function removeRunCgroupWhenEmpty(dir: string, waitMs = 2000): Promise<boolean> {
  const end = Date.now() + waitMs;
  for (;;) {
    if (removeRunCgroup(dir)) return true;
    if (Date.now() >= end) return false;
    // A timer that keeps the process alive: an unref'd one let the process end mid-await with exit 0.
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A run cgroup this old and empty belongs to no run (its orchestrator was killed before removing it). */
const STALE_MS = 10 * 60 * 1000;
const swept = new Set<string>();

/** Once per process and parent: removes empty run cgroups left by orchestrators that were killed. */
function sweepStaleRunCgroups(parent: string): void {
  if (swept.has(parent)) return;
  swept.add(parent);
  try {
    for (const name of readdirSync(parent)) {
      if (!name.startsWith(CGROUP_PREFIX)) continue;
      const dir = join(parent, name);
      // Old enough that it is no run starting right now; rmdir refuses one that still has members.
      if (Date.now() - statSync(dir).mtimeMs > STALE_MS) removeRunCgroup(dir);
    }
  } catch {
    // not readable: nothing to sweep
  }
}

/**
 * The command that moves the run's shell into its cgroup, then becomes `argv` (exec keeps the pid,
 * so the process group and the root pid are those of the run): `/bin/sh -c <command>`, or bwrap
 * for a confined run, with no shell of its own in between. A failed move (the cgroup removed, no
 * permission) leaves the run untracked by cgroup but still running.
 */
export function cgroupShellArgs(procsFile: string, argv: readonly string[]): { file: string; args: string[] } {
  return { file: "/bin/sh", args: ["-c", '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"', procsFile, ...argv] };
}
