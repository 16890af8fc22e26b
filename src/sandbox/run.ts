/**
 * What the local executor does with a run's sandbox: the command line that starts it confined,
 * the run's scratch folder made ready, and the variables that send temp files and compiler caches
 * there (the rest of the file system is read-only to the run).
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RunSandbox } from "../types.js";
import { bwrapArgv, bwrapCommand } from "./bwrap.js";
import { bwrapPath } from "./probe.js";
import { sandboxExecCommand } from "./sandbox-exec.js";

export interface ConfinedRun {
  /** The confined command as one shell line. */
  command: string;
  /** Under bubblewrap: the same as an argv, started as it is (no shell around bwrap). */
  argv?: string[];
  env: Record<string, string>;
}

/**
 * The scratch folder keeps `cache/` (Triton, Inductor and CUDA kernels compiled by earlier runs of
 * this worker: recompiling them every run would cost minutes) and gets an empty `tmp/` each run.
 */
export function confine(sandbox: RunSandbox, cwd: string, command: string, env: NodeJS.ProcessEnv = process.env): ConfinedRun {
  const tmp = join(sandbox.scratch, "tmp");
  const cache = join(sandbox.scratch, "cache");
  // A tmp/ the last run left empty is empty already (no removal and re-creation: two directory
  // operations less on the way from one run to the next).
  if (!isEmptyDir(tmp)) {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
  }
  if (!existsSync(cache)) mkdirSync(cache, { recursive: true });
  const vars = {
    TMPDIR: tmp,
    TRITON_CACHE_DIR: join(cache, "triton"),
    TORCHINDUCTOR_CACHE_DIR: join(cache, "inductor"),
    CUDA_CACHE_PATH: join(cache, "cuda"),
    MPLCONFIGDIR: join(cache, "matplotlib"),
  };
  if (sandbox.kind === "bwrap") {
    const bwrap = bwrapPath(env);
    return { command: bwrapCommand(bwrap, sandbox, cwd, command), argv: bwrapArgv(bwrap, sandbox, cwd, command), env: vars };
  }
  return { command: sandboxExecCommand(sandbox, command), env: vars };
}

/** A real folder (not a link to one) with nothing in it. */
function isEmptyDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory() && readdirSync(path).length === 0;
  } catch {
    return false;
  }
}
