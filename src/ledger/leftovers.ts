/**
 * What runs of the tool leave behind outside any session a user would think of: the demo's
 * repositories (`autoresearch demo` without --dir makes one in the system temp folder each time)
 * and the records of failed starts (`<git dir>/autoresearch/failed/<tag>-<time>`: a start whose
 * baseline failed). `sessions` lists them with their size and age, `clean --leftovers` removes
 * them. Read-only here; src/loop/clean.ts plans the removal.
 *
 * Only what the tool made is listed: a demo folder is a real directory (not a link) directly in
 * the temp folder, named as `demo` names it, owned by this user, holding a git repository and the
 * example's scripts. Anything else of that name is left alone.
 */
import { lstatSync, readdirSync, realpathSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { loopLiveness } from "./liveness.js";
import { FAILED_DIR, HOME_DIR, sessionsHome } from "./paths.js";

/** The prefix of the folder `autoresearch demo` makes in the system temp folder (mkdtemp adds 6 characters). */
export const DEMO_DIR_PREFIX = "autoresearch-demo-";
const DEMO_NAME = new RegExp(`^${DEMO_DIR_PREFIX}[A-Za-z0-9]{6}$`);
/** The example's files every demo repository has (examples/tinylm). */
const DEMO_FILES = ["train.js", "prepare.js"];
/** A demo folder changed more recently than this, without a live loop, may be a demo still setting up. */
export const DEMO_SETTLE_MS = 2 * 60 * 1000;

export interface Leftover {
  kind: "demo" | "failed-start";
  /** For a failed start, the id `sessions` gives it (`failed/<name>`, what `report --tag` takes); for a demo, its path. */
  id: string;
  path: string;
  /** Bytes in its files (links not followed). */
  bytes: number;
  /** When anything directly in it last changed. */
  modifiedAt: Date;
  /**
   * Why `clean` must leave it alone, or null: a demo whose loop is running (or that was just
   * made and may be starting), or the repository `sessions`/`clean` was run in.
   */
  inUse: string | null;
}

export interface LeftoverOptions {
  /** The system temp folder (default os.tmpdir(), which follows TMPDIR / TEMP). */
  tmp?: string;
  now?: Date;
}

/** The leftovers of the repository at `root` (its failed starts) and of this user's demos, oldest first. */
export function listLeftovers(root: string, options: LeftoverOptions = {}): Leftover[] {
  const now = options.now ?? new Date();
  const found = [...failedStarts(root), ...demoRepos(root, options.tmp ?? tmpdir(), now)];
  return found.sort((a, b) => a.modifiedAt.getTime() - b.modifiedAt.getTime());
}

function failedStarts(root: string): Leftover[] {
  const home = sessionsHome(root);
  if (!home) return [];
  const dir = join(home, FAILED_DIR);
  return entries(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = realDir(path);
    return stat ? [{ kind: "failed-start" as const, id: `${FAILED_DIR}/${name}`, path, bytes: sizeOf(path), modifiedAt: stat.mtime, inUse: null }] : [];
  });
}

function demoRepos(root: string, tmp: string, now: Date): Leftover[] {
  const here = realOrSelf(root);
  return entries(tmp)
    .filter((name) => DEMO_NAME.test(name))
    .flatMap((name) => {
      const path = join(tmp, name);
      const stat = realDir(path);
      if (!stat || !ownedByMe(stat) || !isDemoRepo(path)) return [];
      const real = realOrSelf(path);
      const inUse = here === real || here.startsWith(real + sep) ? "it is the repository you are in" : demoInUse(path, stat, now);
      return [{ kind: "demo" as const, id: path, path, bytes: sizeOf(path), modifiedAt: stat.mtime, inUse }];
    });
}

function demoInUse(path: string, stat: Stats, now: Date): string | null {
  if (loopLiveness(join(path, ".git", HOME_DIR, "lock")).state === "running") return "its loop is running (stop it first)";
  if (now.getTime() - stat.mtime.getTime() < DEMO_SETTLE_MS) return "it was made moments ago (a demo may be starting in it)";
  return null;
}

/** A git repository holding the example's scripts, as `createDemoRepo` leaves it. */
function isDemoRepo(path: string): boolean {
  return realDir(join(path, ".git")) !== null && DEMO_FILES.every((file) => lstatOrNull(join(path, file))?.isFile() === true);
}

/** Whether this user owns it (where the platform has user ids; elsewhere the temp folder is the user's own). */
function ownedByMe(stat: Stats): boolean {
  return typeof process.getuid !== "function" || stat.uid === process.getuid();
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/** Its stats when `path` is a directory itself (a link to one does not count), else null. */
function realDir(path: string): Stats | null {
  const stat = lstatOrNull(path);
  return stat?.isDirectory() ? stat : null;
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The bytes of the files under `dir`, links counted as links (never followed). */
export function sizeOf(dir: string): number {
  let bytes = 0;
  const stack = [dir];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    for (const name of entries(next)) {
      const path = join(next, name);
      const stat = lstatOrNull(path);
      if (!stat) continue;
      if (stat.isDirectory()) stack.push(path);
      else bytes += stat.size;
    }
  }
  return bytes;
}
