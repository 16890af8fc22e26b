/**
 * The bubblewrap (`bwrap`) command line that confines one run on Linux. Pure: the same sandbox
 * gives the same argv, so the rules are unit-tested here and run for real in tests/sandbox.
 *
 * Mounts are applied in order, later ones on top of earlier ones, so the order is the policy:
 *   1. `/` read-only: the user's checkout, shared data (through the clone's links or not), the
 *      user's `.git` and every environment can be read and not changed;
 *   2. `/dev` bound as it is (GPU device nodes, /dev/shm for data loaders), a fresh `/proc`;
 *   3. each hidden folder (the session records, the lock, other workers' clones) replaced by an
 *      empty tmpfs, shallowest first;
 *   4. the run's own clone and scratch folder bound writable on top, deepest last, so a clone that
 *      lives inside a hidden folder is visible again.
 * The network, the pid namespace and the process group stay the user's: the run is killed, listed
 * and measured as any other (`--die-with-parent` ends it if bwrap itself is killed). A pid
 * namespace of its own (`--unshare-pid`) would not spare the run its cgroup: with
 * `--die-with-parent` the kernel empties it the moment the run's shell dies, so a trainer's
 * SIGTERM handler never finishes its grace; without, bwrap ends before its namespace does and the
 * sweep must look for what is left all the same.
 */
import { shellQuote } from "../text.js";
import type { RunSandbox } from "../types.js";

const depth = (path: string): number => path.split("/").filter(Boolean).length;
const byDepth = (paths: readonly string[]): string[] => [...new Set(paths)].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));

export function bwrapArgs(sandbox: Pick<RunSandbox, "writable" | "hidden" | "scratch">, cwd: string): string[] {
  const args = ["--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc"];
  for (const dir of byDepth(sandbox.hidden)) args.push("--tmpfs", dir);
  for (const dir of byDepth([...sandbox.writable, sandbox.scratch])) args.push("--bind", dir, dir);
  args.push("--die-with-parent", "--chdir", cwd);
  return args;
}

/** The argv that starts `command` (through `/bin/sh -c`) confined: started directly, no shell around bwrap. */
export function bwrapArgv(bwrap: string, sandbox: Pick<RunSandbox, "writable" | "hidden" | "scratch">, cwd: string, command: string): string[] {
  return [bwrap, ...bwrapArgs(sandbox, cwd), "--", "/bin/sh", "-c", command];
}

/**
 * `exec bwrap <args> -- /bin/sh -c <command>` as one shell command line (for display and for
 * callers that go through a shell). `exec`: the shell becomes bwrap (same pid, same process group)
 * instead of forking it and waiting.
 */
export function bwrapCommand(bwrap: string, sandbox: Pick<RunSandbox, "writable" | "hidden" | "scratch">, cwd: string, command: string): string {
  return `exec ${bwrapArgv(bwrap, sandbox, cwd, command).map(shellQuote).join(" ")}`;
}

