import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { Git } from "../workspace/git.js";

/** Dependency files the spec forbids touching; hashed at setup and checked after every run. */
const DEPENDENCY_FILE = /^(pyproject\.toml|uv\.lock|poetry\.lock|Pipfile(\.lock)?|requirements.*\.txt|setup\.(py|cfg)|environment\.ya?ml|package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.(toml|lock))$/;

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export function hashFile(path: string): string | null {
  return existsSync(path) ? sha256(readFileSync(path)) : null;
}

/** The read-only scripts plus every dependency file at the repo's top level. */
export function guardedFiles(root: string, readonly: string[]): string[] {
  const deps = readdirSync(root).filter((name) => DEPENDENCY_FILE.test(name));
  return [...new Set([...readonly, ...deps])];
}

export function hashGuarded(root: string, files: string[]): Record<string, string | null> {
  return Object.fromEntries(files.map((file) => [file, hashFile(join(root, file))]));
}

/**
 * Compares guarded files with their setup hashes and puts back any that changed: from the
 * base commit when tracked there, else deleted when they did not exist. Returns what was wrong.
 */
export async function restoreGuarded(
  root: string,
  git: Git,
  baseCommit: string,
  expected: Record<string, string | null>,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [file, hash] of Object.entries(expected)) {
    const now = hashFile(join(root, file));
    if (now === hash) continue;
    problems.push(hash === null ? `created ${file}` : now === null ? `deleted ${file}` : `modified ${file}`);
    if (hash === null) {
      unlinkSync(join(root, file));
    } else if ((await git.raw(["cat-file", "-e", `${baseCommit}:${file}`])).code === 0) {
      await git.run(["checkout", baseCommit, "--", file]);
    }
  }
  return problems;
}

/** Tracked files the run changed or deleted (the training script included): reported and reset. */
export async function restoreTracked(git: Git): Promise<string[]> {
  const out = await git.run(["status", "--porcelain=v1", "--untracked-files=no"]);
  const changed = out
    .split("\n")
    .filter(Boolean)
    .map((line) => `${line.slice(0, 2).includes("D") ? "deleted" : "modified"} ${line.slice(3)}`);
  if (changed.length > 0) await git.resetHard("HEAD");
  return changed;
}

/**
 * The run may not move the session's branch or switch away from it (a `git commit`, `reset`
 * or `checkout` in the training command): the branch goes back to the experiment's commit.
 */
export async function restoreHead(git: Git, branch: string, commit: string): Promise<string[]> {
  const problems: string[] = [];
  // One git call: the sha of HEAD, then the branch it is on ("HEAD" when detached).
  const [sha, ref] = (await git.run(["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"])).split("\n");
  if (ref !== `refs/heads/${branch}`) {
    problems.push(`switched to ${ref?.startsWith("refs/heads/") ? ref.slice(11) : "a detached HEAD"}`);
    await git.run(["checkout", "--quiet", "--force", branch]);
  } else if (sha === commit) {
    return problems;
  }
  if ((await git.head()) !== commit) {
    problems.push(`moved ${branch}`);
    await git.resetHard(commit);
  }
  return problems;
}
