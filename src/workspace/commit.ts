import { RuntimeFailure } from "../errors.js";
import type { Git } from "./git.js";

/**
 * An experiment's commit, made in the user's repository without touching its checkout: one
 * `git fast-import` writes the blob, the tree, the commit and the ref that keeps it reachable
 * (refs/autoresearch/<tag>/<n>). No index, no working tree, no hooks, no filters, no signing:
 * nothing a run or the user's checkout holds can interfere, and it is one process per experiment.
 */
export interface FileCommit {
  /** Commit the new one is built on (its only parent). */
  parent: string;
  /** Repo-relative path (forward slashes) of the one file that changes. */
  path: string;
  /** Its new content. */
  text: string;
  /** Its mode in the parent ("100644" or "100755"). */
  mode: string;
  message: string;
  /** The ref that will name the new commit (created, or moved if a re-run reuses the number). */
  ref: string;
  /** Committer line from `git var GIT_COMMITTER_IDENT`: "Name <email> <epoch> <tz>". */
  ident: string;
}

/** fast-import's quoted path syntax. */
function quotePath(path: string): string {
  return `"${path.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

/** Writes the commit and its ref; returns the commit's full sha. */
export async function commitFile(git: Git, c: FileCommit): Promise<string> {
  const [sha] = await commitFiles(git, [c]);
  return sha as string;
}

/**
 * Writes several commits and their refs with one `git fast-import` (one process for a whole
 * wave of experiments rather than one each); returns their full shas in order. Each commit is
 * independent of the others (its own parent and ref).
 */
export async function commitFiles(git: Git, commits: readonly FileCommit[]): Promise<string[]> {
  if (commits.length === 0) return [];
  const stream = ["feature done\n"];
  commits.forEach((c, i) => {
    stream.push(
      `commit ${c.ref}\n`,
      `mark :${i + 1}\n`,
      `author ${c.ident}\n`,
      `committer ${c.ident}\n`,
      data(c.message),
      `from ${c.parent}\n`,
      `M ${c.mode} inline ${quotePath(c.path)}\n`,
      data(c.text),
      "\n",
    );
  });
  for (let i = 0; i < commits.length; i++) stream.push(`get-mark :${i + 1}\n`);
  stream.push("done\n");
  const result = await git.raw(["fast-import", "--quiet", "--force", "--done"], { input: stream.join("") });
  const shas = result.stdout.trim().split("\n").map((line) => line.trim());
  if (result.code !== 0 || shas.length !== commits.length || !shas.every((sha) => /^[0-9a-f]{40,64}$/.test(sha))) {
    const paths = [...new Set(commits.map((c) => c.path))].join(", ");
    throw new RuntimeFailure(`could not commit ${paths}: git fast-import failed: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return shas;
}
