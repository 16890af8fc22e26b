import { join } from "node:path";

/** Where a session keeps its files. `.autoresearch/` is git-excluded and never reset. */
export interface SessionPaths {
  root: string;
  dir: string;
  session: string;
  experiments: string;
  /** Research notes: findings, dead ends, ideas (src/ledger/memory.ts). */
  memory: string;
  state: string;
  progress: string;
  lock: string;
  runs: string;
  patches: string;
  /** The log of an experiment's run; `run` > 1 for its repeats (confirmation or baseline runs). */
  runLog(id: number, run?: number): string;
  patch(id: number): string;
}

export const STATE_DIR = ".autoresearch";

export function sessionPaths(root: string): SessionPaths {
  return recordsPaths(root, join(root, STATE_DIR));
}

/** The files of a session whose records are in `dir` (the current one, or an archived one). */
export function recordsPaths(root: string, dir: string): SessionPaths {
  return {
    root,
    dir,
    session: join(dir, "session.json"),
    experiments: join(dir, "experiments.jsonl"),
    memory: join(dir, "memory.jsonl"),
    state: join(dir, "state.json"),
    progress: join(dir, "progress.md"),
    lock: join(dir, "lock"),
    runs: join(dir, "runs"),
    patches: join(dir, "patches"),
    runLog: (id, run = 1) => join(dir, "runs", run > 1 ? `${id}.run${run}.log` : `${id}.log`),
    patch: (id) => join(dir, "patches", `${id}.patch`),
  };
}
