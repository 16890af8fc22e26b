import { existsSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Git } from "./git.js";

/**
 * What the working tree looked like before the agent ran, and how to put everything but the
 * training script back afterwards. Paths are relative to the repository root (git's porcelain
 * paths). Ignored files are never listed by `git status`, so they are never touched; protected
 * paths (the session's own files) are skipped too.
 */
export interface TreeSnapshot {
  head: string;
  /** refs/heads/<name>, or null when HEAD was detached. */
  branchRef: string | null;
  /** Porcelain status code (XY) per dirty path. */
  status: Map<string, string>;
  /** Contents of the paths already dirty before (null: absent), to restore them if the agent touches them. */
  contents: Map<string, Buffer | null>;
  /** Protected paths that existed before. */
  protectedPresent: string[];
}

/** Parses `git status --porcelain=v1 -z`: both sides of renames and copies are listed. */
export function parsePorcelainZ(out: string): Map<string, string> {
  const entries = out.split("\0");
  const map = new Map<string, string>();
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as string;
    if (entry.length < 4) continue;
    const xy = entry.slice(0, 2);
    map.set(entry.slice(3), xy);
    if (xy.startsWith("R") || xy.startsWith("C")) {
      const source = entries[++i];
      if (source) map.set(source, xy);
    }
  }
  return map;
}

export function isProtected(path: string, protectedPaths: readonly string[]): boolean {
  return protectedPaths.some((p) => path === p || path.startsWith(`${p}/`));
}

async function status(git: Git): Promise<Map<string, string>> {
  return parsePorcelainZ(await git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all"]));
}

export async function snapshotTree(git: Git, root: string, protectedPaths: readonly string[]): Promise<TreeSnapshot> {
  const head = await git.head();
  const ref = await git.raw(["symbolic-ref", "--quiet", "HEAD"]);
  const st = await status(git);
  const contents = new Map<string, Buffer | null>();
  for (const path of st.keys()) {
    if (isProtected(path, protectedPaths)) continue;
    const abs = join(root, path);
    contents.set(path, existsSync(abs) ? readFileSync(abs) : null);
  }
  return {
    head,
    branchRef: ref.code === 0 ? ref.stdout.trim() : null,
    status: st,
    contents,
    protectedPresent: protectedPaths.filter((p) => existsSync(join(root, p))),
  };
}

/**
 * Undoes everything the agent did except to `keep` (the training script, handled by the caller):
 * commits and branch switches are rewound (the work tree is left as is and then cleaned per path),
 * tracked files are checked out from HEAD, files it created are deleted, files that were already
 * dirty get their earlier content back. Returns one line per violation.
 */
export async function restoreTree(
  git: Git,
  root: string,
  before: TreeSnapshot,
  protectedPaths: readonly string[],
  keep: string,
): Promise<string[]> {
  const violations: string[] = [];

  const ref = await git.raw(["symbolic-ref", "--quiet", "HEAD"]);
  const branchRef = ref.code === 0 ? ref.stdout.trim() : null;
  if (branchRef !== before.branchRef) {
    violations.push(`switched to ${branchRef ?? "a detached HEAD"} (switched back)`);
    if (before.branchRef) await git.run(["symbolic-ref", "HEAD", before.branchRef]);
    else await git.run(["update-ref", "--no-deref", "HEAD", before.head]);
  }
  if ((await git.head()) !== before.head) {
    violations.push("made commits (undone; the branch is back where it was)");
    await git.run(["reset", "--quiet", "--mixed", before.head]);
  }

  const after = await status(git);
  const paths = [...new Set([...after.keys(), ...before.contents.keys()])].sort();
  for (const path of paths) {
    if (path === keep || isProtected(path, protectedPaths)) continue;
    const abs = join(root, path);
    if (before.contents.has(path)) {
      // Dirty before the agent ran: put back exactly what was there.
      const was = before.contents.get(path) ?? null;
      const now = existsSync(abs) ? readFileSync(abs) : null;
      if (was === null ? now === null : now !== null && was.equals(now)) continue;
      if (was === null) removeFile(abs, root);
      else writeFileSync(abs, was);
      violations.push(`changed ${path} (restored)`);
      continue;
    }
    const xy = after.get(path) ?? "";
    const inHead = await git.hasPath("HEAD", path);
    if (inHead) {
      await git.run(["checkout", "HEAD", "--", path]);
      violations.push(`${xy.includes("D") ? "deleted" : "modified"} ${path} (restored)`);
    } else {
      await git.raw(["rm", "--cached", "--quiet", "--force", "--ignore-unmatch", "--", path]);
      removeFile(abs, root);
      violations.push(`created ${path} (removed)`);
    }
  }

  for (const p of before.protectedPresent) {
    if (!existsSync(join(root, p))) violations.push(`deleted ${p} (a protected path; not restorable)`);
  }
  return violations;
}

/** Deletes a file and the directories it leaves empty, up to (not including) the root. */
function removeFile(abs: string, root: string): void {
  rmSync(abs, { force: true, recursive: true });
  for (let dir = dirname(abs); dir.startsWith(root) && dir !== root && dir.length > root.length; dir = dirname(dir)) {
    try {
      rmdirSync(dir);
    } catch {
      break;
    }
  }
}

/** Puts `path` back as it is at HEAD (or writes `fallback` when HEAD does not have it). */
export async function restorePath(git: Git, root: string, path: string, fallback: string): Promise<void> {
  if (await git.hasPath("HEAD", path)) await git.run(["checkout", "HEAD", "--", path]);
  else writeFileSync(join(root, path), fallback);
}
