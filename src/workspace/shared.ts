import { existsSync, linkSync, lstatSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { mkdirSync } from "node:fs";
import type { Git } from "./git.js";

/**
 * Paths of the user's checkout that git does not track but a run needs (data, environments)
 * are linked into the experiment clone, never copied: a uv `.venv`, `node_modules`, `data/`.
 * A share root with no tracked file in it is linked whole; one that holds tracked files too
 * (nanoGPT's `data/<name>/prepare.py` beside its ignored `train.bin`) has each ignored entry
 * linked. A cheap manifest (names, sizes, mtimes) of everything shared is taken before and
 * after each run: any change is a violation of that experiment (a run must not clobber the
 * data the next run reads).
 */
export const DEFAULT_SHARE = [".venv", "venv", "data", "node_modules"] as const;

export interface SharedEntry {
  /** Repo-relative path, forward slashes. */
  rel: string;
  /** Absolute path in the user's checkout. */
  target: string;
  isDir: boolean;
}

/** What to share from `root`: each root in `roots` that exists, as whole links or its ignored entries. */
export async function resolveShared(git: Git, root: string, roots: readonly string[]): Promise<SharedEntry[]> {
  const out: SharedEntry[] = [];
  for (const raw of roots) {
    const rel = raw.replace(/\\/g, "/").replace(/^\.\/+/, "").replace(/\/+$/, "");
    if (rel === "" || rel === ".git" || rel.startsWith(".git/")) continue;
    const target = join(root, ...rel.split("/"));
    if (!existsSync(target)) continue;
    if ((await git.trackedUnder(rel)).length === 0) {
      out.push({ rel, target, isDir: statSync(target).isDirectory() });
      continue;
    }
    const ignored = (await git.run(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory", "--", rel])).split("\0").filter(Boolean);
    for (const entry of ignored) {
      const clean = entry.replace(/\/$/, "");
      const abs = join(root, ...clean.split("/"));
      if (existsSync(abs)) out.push({ rel: clean, target: abs, isDir: statSync(abs).isDirectory() });
    }
  }
  return out;
}

/** Creates (or re-creates) the link for each entry in `clone`; returns those it had to repair. */
export function linkShared(clone: string, entries: readonly SharedEntry[]): string[] {
  const repaired: string[] = [];
  for (const entry of entries) {
    const link = join(clone, ...entry.rel.split("/"));
    if (pointsTo(link, entry.target)) continue;
    if (exists(link)) {
      repaired.push(entry.rel);
      rmSync(link, { recursive: true, force: true }); // never follows a link: the shared data is safe
    }
    mkdirSync(dirname(link), { recursive: true });
    try {
      symlinkSync(entry.target, link, entry.isDir ? "junction" : "file");
    } catch (error) {
      // Windows without the symlink privilege: a file can still be hard-linked (its manifest still guards it).
      if (entry.isDir || process.platform !== "win32") throw error;
      linkSync(entry.target, link);
    }
  }
  return repaired;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function pointsTo(link: string, target: string): boolean {
  try {
    if (!lstatSync(link).isSymbolicLink()) return false;
    const to = readlinkSync(link);
    return to === target || to.replace(/[\\/]+$/, "") === target.replace(/[\\/]+$/, "");
  } catch {
    return false;
  }
}

/** name -> "kind size mtime" for every entry under each shared target (links inside are not followed). */
export type Manifest = Map<string, string>;

export function manifest(entries: readonly SharedEntry[]): Manifest {
  const out: Manifest = new Map();
  const walk = (abs: string, rel: string): void => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      out.set(rel, "dir");
      let names: string[];
      try {
        names = readdirSync(abs);
      } catch {
        return;
      }
      for (const name of names) walk(abs + sep + name, `${rel}/${name}`);
      return;
    }
    out.set(rel, `${st.isSymbolicLink() ? "link" : "file"} ${st.size} ${st.mtimeMs}`);
  };
  for (const entry of entries) walk(entry.target, entry.rel);
  return out;
}

/** What differs between two manifests, one line per path (at most `limit`, then a count). */
export function manifestChanges(before: Manifest, after: Manifest, limit = 5): string[] {
  const lines: string[] = [];
  for (const [path, stamp] of after) {
    const was = before.get(path);
    if (was === undefined) lines.push(`created ${path}`);
    else if (was !== stamp) lines.push(`modified ${path}`);
  }
  for (const path of before.keys()) if (!after.has(path)) lines.push(`deleted ${path}`);
  if (lines.length > limit) return [...lines.slice(0, limit), `… and ${lines.length - limit} more`];
  return lines;
}
