/**
 * What the session's files may be, checked on the resolved config for every entry point (run,
 * init, resume, the library): the training script, the read-only scripts and the results file
 * must be plain paths of this repository — not through a symbolic link out of it, not inside a
 * submodule or nested repository (whose files the session's git cannot commit or restore), and
 * the results file must land in an existing folder that is not the tool's own.
 */
import { existsSync, lstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { DEFAULT_RESULTS_FILE, TOOL_FILES } from "../file-names.js";
import type { ResearchConfig } from "./options.js";

/** Folders the tool keeps its own records in (old layout) and git's own. */
const TOOL_DIRS = [".autoresearch", ".git"];

/** `./a/../train.py` and `train.py` are the same file: compare repo paths in this form. */
export function repoPath(path: string): string {
  return normalize(path).split(sep).join("/").replace(/^\.\//, "");
}

/** The nearest folder between the repo root and `path` (exclusive) that holds its own `.git`. */
function nestedRepo(root: string, path: string): string | null {
  let dir = dirname(join(root, path));
  while (relative(root, dir) !== "" && !relative(root, dir).startsWith("..")) {
    if (existsSync(join(dir, ".git"))) return relative(root, dir);
    dir = dirname(dir);
  }
  return null;
}

/** Whether the existing part of `path` resolves, through any symbolic link, outside `root`. */
function leadsOutside(root: string, path: string): boolean {
  let target = join(root, path);
  while (!existsSync(target) && dirname(target) !== target) target = dirname(target);
  const real = realpathSync(target);
  const realRoot = realpathSync(root);
  return !(real === realRoot || real.startsWith(realRoot + sep));
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every problem with the session's paths, each naming the flag, the problem and the fix. */
export function pathProblems(config: Pick<ResearchConfig, "train" | "readonly" | "results">, root: string): string[] {
  const problems: string[] = [];
  const train = repoPath(config.train);
  const scripts: [string, string][] = [["--train", config.train], ...config.readonly.map((p): [string, string] => ["--readonly", p])];
  for (const [flag, path] of scripts) {
    if (isAbsolute(path)) continue; // refused as outside the repo, or made relative, elsewhere
    if (existsSync(join(root, path)) && (isSymlink(join(root, path)) || leadsOutside(root, path))) {
      problems.push(`${flag} "${path}" is a symbolic link or leads outside the repository: give the real file inside it`);
    }
    const nested = nestedRepo(root, path);
    if (nested !== null) problems.push(`${flag} "${path}" is inside the submodule or nested repository ${nested}/: the session's git cannot commit or restore it; give a file of this repository`);
  }
  for (const path of config.readonly) {
    if (repoPath(path) === train) problems.push(`--readonly "${path}" is the training script ${config.train}, the one file that may change: give different paths`);
  }
  const results = repoPath(config.results);
  const resultsDir = dirname(join(root, config.results));
  if (!existsSync(resultsDir)) problems.push(`--results "${config.results}": the folder ${relative(root, resultsDir) || "."} does not exist: create it first (mkdir -p) or pick another path`);
  const top = results.split("/")[0] ?? "";
  if (TOOL_DIRS.includes(top)) problems.push(`--results "${config.results}" is inside ${top}/, the tool's or git's own folder: pick a path elsewhere in the repository`);
  if (TOOL_FILES.includes(results)) problems.push(`--results "${config.results}" is a file the tool writes itself: pick another name, e.g. ${DEFAULT_RESULTS_FILE}`);
  if (results === train || config.readonly.some((p) => repoPath(p) === results)) problems.push(`--results "${config.results}" is a script of the session: pick another name, e.g. ${DEFAULT_RESULTS_FILE}`);
  if (isSymlink(join(root, config.results)) || (existsSync(resultsDir) && leadsOutside(root, config.results))) {
    problems.push(`--results "${config.results}" is a symbolic link or leads outside the repository: give a plain path inside it`);
  }
  const nested = nestedRepo(root, config.results);
  if (nested !== null) problems.push(`--results "${config.results}" is inside the submodule or nested repository ${nested}/: pick a path of this repository`);
  return problems;
}
