import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { FINALIZE_FILE, FINALIZE_TABLE_FILE, PROGRESS_FILE } from "../file-names.js";

/**
 * Where a session keeps its files: in the repository's git dir, where no git command run in a
 * working tree reaches them (reset, clean, add, stash, checkout), and beside the clone the
 * experiments run in:
 *
 *   <git-common-dir>/autoresearch/
 *     lock                 the one loop of this repo (pid, host, process start time)
 *     current              the tag of the latest session (what resume, status, report, show read)
 *     <tag>/records/       session.json, experiments.jsonl, rejected.jsonl, measurements.jsonl,
 *                          state.json, progress.md, runs/<n>.log, patches/<n>.patch, agent/
 *     <tag>/w0/            the experiment clone (worker 0; w<k> for more workers)
 *
 * Sessions from before this layout kept their records in `<checkout>/.autoresearch/`; they are
 * read there and moved here on the first `resume` or `report` (migrateLegacy).
 */
export interface SessionPaths {
  /** The user's checkout (results.tsv, summary and chart are written there). */
  root: string;
  /** <git-common-dir>/autoresearch: every session of this repo. */
  home: string;
  /** The session's records. */
  dir: string;
  session: string;
  experiments: string;
  rejected: string;
  /** Runs made by `autoresearch confirm` (src/ledger/measurements.ts). */
  measurements: string;
  /** Research notes: findings, dead ends, ideas (src/ledger/memory.ts). */
  memory: string;
  state: string;
  progress: string;
  /** `autoresearch finalize`'s runs and verdicts (src/ledger/finalize-records.ts). */
  finalize: string;
  /** The contribution table finalize last rendered (markdown). */
  finalizeTable: string;
  /** The repo's loop lock (one loop per repo). */
  lock: string;
  runs: string;
  patches: string;
  /** Scratch files of a coding-agent proposer (prompt, proposal, its logs). */
  agent: string;
  /** Worker 0's experiment clone. */
  workdir: string;
  /** Worker k's experiment clone (`w<k>` beside w0), and the coding agent's (`p`). */
  workerDir(worker: number): string;
  proposalDir: string;
  /** True for a session still in the old in-checkout layout (read-only until migrated). */
  legacy: boolean;
  /** The log of an experiment's run; `run` > 1 for its repeats (confirmation or baseline runs). */
  runLog(id: number, run?: number): string;
  /**
   * The log of a run not decided yet, by its in-flight key: an experiment is numbered when it is
   * decided (numbers are contiguous in decision order), and its logs are renamed to runLog then.
   */
  pendingLog(key: number, run?: number): string;
  patch(id: number): string;
}

/** The old layout's folder in the checkout. */
export const LEGACY_DIR = ".autoresearch";
/** Folder name under the git dir. */
export const HOME_DIR = "autoresearch";
/** Under HOME_DIR: the records of starts whose baseline failed, one folder each (`<tag>-<time>`). */
export const FAILED_DIR = "failed";

/**
 * The repository's common git dir, found on disk without running git (so `status` and
 * `report` stay fast): `.git` itself, or the `gitdir:` a linked worktree's `.git` file names
 * (and its `commondir`). Null when `root` is not the top of a git checkout.
 */
export function commonGitDir(root: string): string | null {
  const dotGit = join(root, ".git");
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(dotGit);
  } catch {
    return null;
  }
  if (st.isDirectory()) return dotGit;
  if (!st.isFile()) return null;
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotGit, "utf8"));
  if (!match) return null;
  const gitDir = resolve(root, match[1] as string);
  const commondir = join(gitDir, "commondir");
  if (!existsSync(commondir)) return gitDir;
  const rel = readFileSync(commondir, "utf8").trim();
  return isAbsolute(rel) ? rel : resolve(gitDir, rel);
}

/** <git-common-dir>/autoresearch for the checkout at `root`, or null outside a repo. */
export function sessionsHome(root: string): string | null {
  const common = commonGitDir(root);
  return common ? join(common, HOME_DIR) : null;
}

/** The files of a session whose records are in `dir` (an old layout's archived session), read where they are. */
export function recordsPaths(root: string, dir: string): SessionPaths {
  return build(root, sessionsHome(root) ?? dir, dir, root, join(dir, "lock"), true);
}

function build(root: string, home: string, dir: string, workdir: string, lock: string, legacy: boolean): SessionPaths {
  return {
    root,
    home,
    dir,
    session: join(dir, "session.json"),
    experiments: join(dir, "experiments.jsonl"),
    rejected: join(dir, "rejected.jsonl"),
    measurements: join(dir, "measurements.jsonl"),
    memory: join(dir, "memory.jsonl"),
    state: join(dir, "state.json"),
    progress: join(dir, PROGRESS_FILE),
    finalize: join(dir, FINALIZE_FILE),
    finalizeTable: join(dir, FINALIZE_TABLE_FILE),
    lock,
    runs: join(dir, "runs"),
    patches: join(dir, "patches"),
    agent: join(dir, "agent"),
    workdir,
    workerDir: (worker) => join(dirname(workdir), `w${worker}`),
    proposalDir: join(dirname(workdir), "p"),
    legacy,
    runLog: (id, run = 1) => join(dir, "runs", run > 1 ? `${id}.run${run}.log` : `${id}.log`),
    pendingLog: (key, run = 1) => join(dir, "runs", run > 1 ? `pending-${key}.run${run}.log` : `pending-${key}.log`),
    patch: (id) => join(dir, "patches", `${id}.patch`),
  };
}

/** The paths of session `tag` of the checkout at `root` (which must be a git checkout). */
export function sessionPaths(root: string, tag: string, home: string | null = sessionsHome(root)): SessionPaths {
  if (!home) throw new Error(`${root} is not the top of a git checkout`);
  return build(root, home, join(home, tag, "records"), join(home, tag, "w0"), join(home, "lock"), false);
}

/** The repo's loop lock (also for a repo with no session yet). */
export function lockPath(root: string): string | null {
  const home = sessionsHome(root);
  return home ? join(home, "lock") : null;
}

/** The old in-checkout layout's paths (read where they are). */
export function legacyPaths(root: string): SessionPaths {
  const dir = join(root, LEGACY_DIR);
  return build(root, sessionsHome(root) ?? dir, dir, root, join(dir, "lock"), true);
}

export function hasLegacySession(root: string): boolean {
  return existsSync(join(root, LEGACY_DIR, "session.json"));
}

/** The tag `current` names, or null. */
export function currentTag(home: string): string | null {
  try {
    const tag = readFileSync(join(home, "current"), "utf8").trim();
    return tag && !tag.includes("..") ? tag : null;
  } catch {
    return null;
  }
}

/** Tags of every session kept under `home`, oldest folder first. */
export function sessionTags(home: string): string[] {
  try {
    return readdirSync(home, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(home, d.name, "records", "session.json")))
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/**
 * The session `status`, `report`, `show` and `resume` work on: `tag` when given, else the one
 * `current` names, else an old-layout session still in the checkout. Null when there is none.
 */
export function locateSession(root: string, tag?: string): SessionPaths | null {
  const home = sessionsHome(root);
  if (home) {
    const chosen = tag ?? currentTag(home);
    if (chosen && existsSync(join(home, chosen, "records", "session.json"))) return sessionPaths(root, chosen, home);
    if (tag) return null;
  }
  return hasLegacySession(root) ? legacyPaths(root) : null;
}

/**
 * Moves an old-layout session's records out of the checkout into `<git dir>/autoresearch/<tag>/records`
 * and makes it current. Nothing is deleted: files that are not records (an archive of older
 * sessions) move along under records/legacy-archive. Returns the new paths.
 */
export function migrateLegacy(root: string, tag: string): SessionPaths {
  const legacy = legacyPaths(root);
  const paths = sessionPaths(root, tag);
  mkdirSync(dirname(paths.dir), { recursive: true });
  if (existsSync(paths.dir)) renameSync(paths.dir, `${paths.dir}.before-migration-${Date.now()}`);
  mkdirSync(paths.dir, { recursive: true });
  for (const entry of readdirSync(legacy.dir)) {
    if (entry === "lock") continue;
    const to = entry === "archive" || entry === "failed" ? join(paths.dir, `legacy-${entry}`) : join(paths.dir, entry);
    renameSync(join(legacy.dir, entry), to);
  }
  writeCurrent(paths.home, tag);
  return paths;
}

/** Leaves no session current (the one `current` named was removed). */
export function forgetCurrent(home: string): void {
  rmSync(join(home, "current"), { force: true });
}

/** Points `current` at `tag` (atomic: write then rename). */
export function writeCurrent(home: string, tag: string): void {
  mkdirSync(home, { recursive: true });
  const tmp = join(home, `current.${process.pid}.tmp`);
  writeFileSync(tmp, `${tag}\n`);
  renameSync(tmp, join(home, "current"));
}
