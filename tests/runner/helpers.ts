import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunSpec } from "../../src/types.js";

export const NODE = JSON.stringify(process.execPath);

export function makeTmp(prefix: string): { dir: string; write: (name: string, text: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function baseSpec(dir: string, command: string, over: Partial<RunSpec> = {}): RunSpec {
  return {
    cwd: dir,
    command,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    budgetSec: 5,
    hardTimeoutSec: 10,
    graceMs: 300,
    logPath: join(dir, "logs", "run.log"),
    metric: { name: "val_bpb" },
    ...over,
  };
}

/**
 * Whether a process is still running. A zombie counts as gone: it has exited and holds no
 * resources, and where PID 1 does not reap orphans (some containers and VMs) it stays forever.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw err;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return process.platform !== "linux";
  }
}

/** pgid of a live pid (Linux), or null. */
export function pgidOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return null;
  }
}

/** Pids printed by the scripts as `<role> <pid>` lines. */
export function pidsFrom(lines: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = /^(\w+) pid (\d+)$/.exec(l);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}
