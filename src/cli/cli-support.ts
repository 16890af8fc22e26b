import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { UsageError } from "../errors.js";
import { type Direction, isDirection } from "../metric/index.js";
import { Git } from "../workspace/git.js";
import type { SessionPaths } from "../ledger/paths.js";
import { locateAnySession, unknownSessionError } from "../ledger/sessions.js";

/** Small helpers shared by the commands (status, report, export, merge, clean ...): where the repo is, flag parsing. */

/** --dir, else the top level of the git repo at cwd, else cwd. */
export async function resolveRoot(cwd: string, dir?: string): Promise<string> {
  if (dir) {
    const root = resolve(cwd, dir);
    if (!existsSync(root) || !statSync(root).isDirectory()) throw new UsageError(`--dir ${dir}: no such directory`);
    return root;
  }
  try {
    const git = new Git(cwd);
    if (await git.isRepo()) return await git.topLevel();
  } catch {
    // not a repo, or no git: the directory itself
  }
  return cwd;
}

export function parseDirection(value: unknown): Direction | undefined {
  if (value === undefined) return undefined;
  if (isDirection(value)) return value;
  throw new UsageError(`--direction must be min or max, not ${JSON.stringify(value)}`, "min: lower is better (loss, bpb); max: higher is better (accuracy).");
}

/** The current branch of the repo at `dir` when it is a research branch (autoresearch/*). */
export async function researchBranchAt(dir: string): Promise<string | null> {
  try {
    const git = new Git(dir);
    if (!(await git.isRepo())) return null;
    const branch = await git.currentBranch();
    return branch?.startsWith("autoresearch/") ? branch : null;
  } catch {
    return null;
  }
}

export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/** The session `--tag` names (a resumable tag, or an id `sessions` printed), or the error every command gives for one that is not there. */
export function sessionOfTag(root: string, tag: string): SessionPaths {
  const found = locateAnySession(root, tag);
  if (!found) throw unknownSessionError(root, tag);
  return found;
}
