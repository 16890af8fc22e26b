import { existsSync, linkSync, lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { RuntimeFailure, UsageError } from "../errors.js";
import type { Git } from "./git.js";

/**
 * Paths of the user's checkout that git does not track but a run needs (data, environments)
 * are linked into the experiment clone, never copied: a uv `.venv`, `node_modules`, `data/`.
 * A share root with no tracked file in it is linked whole; one that holds tracked files too
 * (nanoGPT's `data/<name>/prepare.py` beside its ignored `train.bin`) has each ignored entry
 * linked. Where runs are not confined by a sandbox, the shared data is looked at after each
 * run (src/workspace/shared-manifest.ts): any change is a violation of that experiment (a run
 * must not clobber the data the next run reads).
 */
export const DEFAULT_SHARE = [".venv", "venv", "data", "node_modules"] as const;

export interface SharedEntry {
  /** Repo-relative path, forward slashes. */
  rel: string;
  /** Absolute path in the user's checkout. */
  target: string;
  isDir: boolean;
}

/**
 * A `--share` path as given, normalised to a repo-relative path with forward slashes, or a
 * UsageError naming it and the fix: outside the checkout, or the git dir.
 */
export function normaliseShare(root: string, raw: string): string {
  const given = raw.replace(/\\/g, "/");
  const abs = isAbsolute(given) ? resolve(given) : resolve(root, given);
  const rel = relative(resolve(root), abs).split(sep).join("/");
  if (rel === "" || rel === ".." || rel.startsWith("../") || isAbsolute(rel)) {
    throw new UsageError(`--share "${raw}": not a path inside the repository ${root}`, "Share a folder or file of the checkout (paths are relative to the repository root); data elsewhere can be reached by a symbolic link inside the repo.");
  }
  if (rel === ".git" || rel.startsWith(".git/")) {
    throw new UsageError(`--share "${raw}": the git dir is the tool's and git's, never shared with a run`, "Share data or environment folders only.");
  }
  return rel;
}

/**
 * Checks the paths a user asked to share (`--share`), before anything is created: each inside
 * the checkout and there, none a tracked file (the clone has it already, at the experiment's commit), and
 * no path through a symbolic link inside the checkout (`data/x` where `data` links elsewhere:
 * share `data` itself). A path inside another shared path is fine: it is shared with its parent.
 */
export async function checkShareRoots(git: Git, root: string, roots: readonly string[]): Promise<void> {
  for (const raw of roots) {
    const rel = normaliseShare(root, raw);
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (lstatSync(join(root, ...parent.split("/")), { throwIfNoEntry: false })?.isSymbolicLink()) {
        throw new UsageError(`--share "${raw}": ${parent} is a symbolic link, so ${rel} is not in the checkout`, `Share ${parent} instead (its target is shared as a whole).`);
      }
    }
    // A mistyped name (`datasets` for `dataset/`) would link nothing, and the baseline fail on the missing data.
    if (!lstatSync(join(root, ...rel.split("/")), { throwIfNoEntry: false })) {
      throw new UsageError(`--share "${raw}": no such file or folder in ${root}`, "Give the path of untracked data or an environment in your checkout, relative to the repository root.");
    }
    const tracked = await git.trackedUnder(rel);
    if (tracked.length === 1 && tracked[0] === rel) {
      throw new UsageError(`--share "${raw}": ${rel} is tracked by git, so every experiment's clone has its own copy already`, "Share only untracked data and environments (add them to .gitignore), or leave this path out.");
    }
  }
}

/**
 * What to share from `root`: each root in `roots` that exists, as whole links or its ignored
 * entries. Paths are normalised; one inside another shared path is left to its parent (linking
 * both would go through the parent's link and replace the user's own files); a shared path that is
 * a symbolic link is shared as what it points to, so the manifest sees the real files.
 */
export async function resolveShared(git: Git, root: string, roots: readonly string[]): Promise<SharedEntry[]> {
  const found: SharedEntry[] = [];
  for (const raw of roots) {
    let rel: string;
    try {
      rel = normaliseShare(root, raw);
    } catch {
      continue; // checkShareRoots refused it for a new session; an old session's list is read as it can be
    }
    const target = join(root, ...rel.split("/"));
    if (!existsSync(target) || throughLink(root, rel)) continue;
    if ((await git.trackedUnder(rel)).length === 0) {
      found.push(entry(rel, target));
      continue;
    }
    const ignored = (await git.run(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory", "--", rel])).split("\0").filter(Boolean);
    for (const item of ignored) {
      const clean = item.replace(/\/$/, "");
      const abs = join(root, ...clean.split("/"));
      if (existsSync(abs) && !throughLink(root, clean)) found.push(entry(clean, abs));
    }
  }
  // Outermost first; a path at or under one already taken is shared through it.
  found.sort((a, b) => a.rel.split("/").length - b.rel.split("/").length || a.rel.localeCompare(b.rel));
  const out: SharedEntry[] = [];
  for (const e of found) if (!out.some((o) => e.rel === o.rel || e.rel.startsWith(`${o.rel}/`))) out.push(e);
  return out;
}

function entry(rel: string, target: string): SharedEntry {
  let real = target;
  try {
    real = realpathSync(target);
  } catch {}
  return { rel, target: real, isDir: statSync(real).isDirectory() };
}

/** True when a folder on the way to `rel` (not `rel` itself) is a symbolic link. */
function throughLink(root: string, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    if (lstatSync(join(root, ...parts.slice(0, i)), { throwIfNoEntry: false })?.isSymbolicLink()) return true;
  }
  return false;
}

/** Creates (or re-creates) the link for each entry in `clone`; returns those it had to repair. */
export function linkShared(clone: string, entries: readonly SharedEntry[]): string[] {
  const repaired: string[] = [];
  for (const entry of entries) {
    const link = join(clone, ...entry.rel.split("/"));
    if (pointsTo(link, entry.target)) continue;
    // Never remove or create anything through a link: the folder holding the link must be the clone's own.
    if (throughLink(clone, entry.rel)) {
      throw new RuntimeFailure(`the shared path ${entry.rel} would be linked through a symbolic link in the experiment clone ${clone}; nothing was changed`, "Share the outer folder only (see --share).");
    }
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
