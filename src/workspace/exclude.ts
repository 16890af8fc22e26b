import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Git } from "./git.js";

/**
 * The tool's own files are listed in .git/info/exclude (local to this clone, never committed):
 * git then neither shows them as untracked nor lets `add` pick them up, and a reset leaves
 * them alone because they are never tracked.
 */
export async function excludeFromGit(git: Git, patterns: string[]): Promise<void> {
  const path = await git.gitPath("info/exclude");
  const current = existsSync(path) ? readFileSync(path, "utf8") : "";
  const have = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  const missing = patterns.filter((p) => !have.has(p));
  if (missing.length === 0) return;
  mkdirSync(dirname(path), { recursive: true });
  const prefix = current === "" || current.endsWith("\n") ? "" : "\n";
  appendFileSync(path, `${prefix}# autoresearch session files\n${missing.join("\n")}\n`);
}
