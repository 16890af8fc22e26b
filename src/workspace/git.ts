import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { devNull } from "node:os";
import { RuntimeFailure, UsageError } from "../errors.js";
import { sanitizeEnv } from "../runner/run-env.js";

/**
 * The real `git` binary, run in one repo, with a configuration the experiments cannot influence:
 * no hooks, no fsmonitor, no signing, no global attributes file, no system config; in the
 * tool's own clones (`isolated`) not even the user's global config, so no filter, alias or
 * include planted anywhere a run can write is ever executed by the tool. Children run in their
 * own process group (spawn with `detached`; execFile ignores that option), so the terminal's
 * Ctrl-C never kills a commit or a reset half-way: the loop decides when to stop.
 */
export const HARDENING = [
  "-c",
  `core.hooksPath=${devNull}`,
  "-c",
  "core.fsmonitor=false",
  "-c",
  "commit.gpgsign=false",
  "-c",
  "tag.gpgsign=false",
  "-c",
  `core.attributesFile=${devNull}`,
  "-c",
  "core.untrackedCache=false",
  "-c",
  "gc.auto=0",
  "-c",
  "maintenance.auto=false",
] as const;

export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface GitOptions {
  input?: string;
  env?: Record<string, string>;
}

const FALLBACK_IDENTITY = {
  GIT_AUTHOR_NAME: "autoresearch",
  GIT_AUTHOR_EMAIL: "autoresearch@localhost",
  GIT_COMMITTER_NAME: "autoresearch",
  GIT_COMMITTER_EMAIL: "autoresearch@localhost",
};

/** The environment every tool git call gets (exported for tests). */
export function gitEnv(isolated: boolean, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...sanitizeEnv(process.env),
    ...extra,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    ...(isolated && { GIT_CONFIG_GLOBAL: devNull }),
    // The run's environment must never redirect the tool's git to another repo or index.
    LC_ALL: "C",
  };
}

/** Variables that would point git elsewhere than the repo we name: never inherited. */
const REDIRECTING = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXEC_PATH"];

export class Git {
  private identityEnv: Record<string, string> | null = null;

  /**
   * @param cwd the working tree (or git dir) git runs in
   * @param isolated the tool's own clone: the user's global config is not read either
   */
  constructor(
    readonly cwd: string,
    readonly isolated = false,
  ) {}

  /**
   * Runs git; resolves with the exit code instead of throwing. A git killed by SIGINT is run again,
   * once: in its own process group the terminal's Ctrl-C cannot reach it, except in the instant
   * between its fork and its new group (the signal, blocked then, is delivered as it starts), and
   * then it had done nothing yet. Ctrl-C once must not fail the commit or reset the loop was making.
   */
  async raw(args: string[], options: GitOptions = {}): Promise<GitResult> {
    const first = await this.spawnGit(args, options);
    return first.signal === "SIGINT" ? this.spawnGit(args, options) : first;
  }

  private spawnGit(args: string[], options: GitOptions): Promise<GitResult & { signal: NodeJS.Signals | null }> {
    return new Promise((resolve, reject) => {
      const env = gitEnv(this.isolated, options.env);
      for (const name of REDIRECTING) if (!options.env || !(name in options.env)) delete env[name];
      // No input: git's stdin is the null device rather than a pipe (one pipe and stream less per
      // call, a few hundred per session).
      const input = options.input;
      const child = spawn("git", [...HARDENING, ...args], {
        cwd: this.cwd,
        env,
        stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        windowsHide: true,
        detached: process.platform !== "win32",
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
      child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
      child.on("error", (error) => {
        reject(new RuntimeFailure(`could not run git: ${error.message}`, "Install git and make sure it is on PATH."));
      });
      child.on("close", (code, signal) => {
        const stderr = Buffer.concat(err).toString("utf8");
        resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: signal ? `${stderr}killed by ${signal}` : stderr, code: code ?? 1, signal });
      });
      if (child.stdin) {
        child.stdin.on("error", () => {}); // git may exit before reading its input
        child.stdin.end(input);
      }
    });
  }

  /** Runs git and returns trimmed stdout; a non-zero exit is a RuntimeFailure naming the command. */
  async run(args: string[], options: GitOptions = {}): Promise<string> {
    const result = await this.raw(args, options);
    if (result.code !== 0) {
      throw new RuntimeFailure(`git ${args.join(" ")} failed: ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result.stdout.replace(/\n$/, "");
  }

  async isRepo(): Promise<boolean> {
    const result = await this.raw(["rev-parse", "--is-inside-work-tree"]);
    return result.code === 0 && result.stdout.trim() === "true";
  }

  async version(): Promise<string> {
    return (await this.run(["--version"])).replace(/^git version\s*/, "");
  }

  async topLevel(): Promise<string> {
    return this.run(["rev-parse", "--show-toplevel"]);
  }

  /** Path of `cwd` below the top level, with a trailing slash ("" at the top). */
  async prefix(): Promise<string> {
    return (await this.run(["rev-parse", "--show-prefix"])).trim();
  }

  /** An absolute path inside the git dir (`git rev-parse --git-path`), shared across worktrees where git shares it. */
  async gitPath(name: string): Promise<string> {
    return this.run(["rev-parse", "--path-format=absolute", "--git-path", name]);
  }

  /** The repository's common git dir (the main `.git` even from a linked worktree), absolute. */
  async commonDir(): Promise<string> {
    return this.run(["rev-parse", "--path-format=absolute", "--git-common-dir"]);
  }

  async currentBranch(): Promise<string | null> {
    const result = await this.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async head(): Promise<string> {
    return this.run(["rev-parse", "HEAD"]);
  }

  /** The full sha a revision names, or null when it names nothing. */
  async resolve(rev: string): Promise<string | null> {
    const result = await this.raw(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async hasCommits(): Promise<boolean> {
    return (await this.raw(["rev-parse", "--verify", "--quiet", "HEAD"])).code === 0;
  }

  async branchExists(name: string): Promise<boolean> {
    return (await this.raw(["rev-parse", "--verify", "--quiet", `refs/heads/${name}`])).code === 0;
  }

  async isValidBranchName(name: string): Promise<boolean> {
    return (await this.raw(["check-ref-format", "--branch", name])).code === 0;
  }

  /** Porcelain status lines, untracked files included, ignored files not. */
  async statusLines(): Promise<string[]> {
    const out = await this.run(["status", "--porcelain=v1", "--untracked-files=all"]);
    return out.split("\n").filter((line) => line.length > 0);
  }

  /**
   * Tracked files with changes (staged or not), as porcelain lines: the one "is the tree clean"
   * check. With `paths`, only those (untracked ones included).
   */
  async trackedChanges(paths: string[] = []): Promise<string[]> {
    const out = await this.run(["status", "--porcelain=v1", paths.length > 0 ? "--untracked-files=all" : "--untracked-files=no", "--", ...paths]);
    return out.split("\n").filter((line) => line.length > 0);
  }

  /**
   * The checkout's tracked files as they stand: its commit, the status lines of what differs from
   * it, and a digest of how (the diff). Two equal states: nothing tracked changed between them.
   */
  async trackedState(): Promise<{ head: string; lines: string[]; digest: string }> {
    const [head, lines, diff] = await Promise.all([this.head(), this.trackedChanges(), this.run(["diff", "HEAD", "--no-ext-diff", "--binary"])]);
    return { head, lines, digest: createHash("sha256").update(diff).digest("hex") };
  }

  /** A new repository here with every file committed (the demo's copy of the example). */
  async initWithEverything(message: string): Promise<void> {
    await this.run(["init", "--quiet", "--initial-branch=main"]);
    await this.run(["add", "-A"]);
    await this.commit(message);
  }

  /** A merge, rebase, cherry-pick or revert in progress (named), or null. */
  async operationInProgress(): Promise<string | null> {
    for (const marker of ["MERGE_HEAD", "rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD"]) {
      if (existsSync(await this.gitPath(marker))) return marker.startsWith("rebase") ? "rebase" : marker === "MERGE_HEAD" ? "merge" : marker === "CHERRY_PICK_HEAD" ? "cherry-pick" : "revert";
    }
    return null;
  }

  /** A configured value, or null. */
  async config(key: string): Promise<string | null> {
    const result = await this.raw(["config", "--get", key]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  /** Commit identity env: the user's when configured, else the fallback. Cached per instance. */
  async commitEnv(): Promise<Record<string, string>> {
    if (this.identityEnv) return this.identityEnv;
    // Both keys in one git call ("user.name Ada" lines; exit 1 when neither is set).
    const lines = (await this.raw(["config", "--get-regexp", "^user\\.(name|email)$"])).stdout.split("\n");
    // The last one wins, as with `git config --get`.
    const value = (key: string) => [...lines].reverse().find((l) => l.startsWith(`${key} `))?.slice(key.length + 1).trim() || null;
    const name = value("user.name");
    const email = value("user.email");
    const hasEnv = process.env.GIT_AUTHOR_NAME && process.env.GIT_AUTHOR_EMAIL;
    this.identityEnv = (name && email) || hasEnv ? {} : { ...FALLBACK_IDENTITY };
    return this.identityEnv;
  }

  /** The committer line git would write now ("Name <email> <time> <tz>"), with the fallback identity when none is configured. */
  async committerIdent(): Promise<string> {
    return this.run(["var", "GIT_COMMITTER_IDENT"], { env: await this.commitEnv() });
  }

  /** Commits exactly the given paths (already written) on the checked-out branch, returns the new full sha. */
  async commitPaths(paths: string[], message: string): Promise<string> {
    await this.run(["add", "--", ...paths]);
    await this.run(["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message, "--", ...paths], { env: await this.commitEnv() });
    return this.head();
  }

  async commit(message: string): Promise<void> {
    await this.run(["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message], { env: await this.commitEnv() });
  }

  async resetHard(ref: string): Promise<void> {
    await this.run(["reset", "--quiet", "--hard", ref]);
  }

  async checkout(ref: string, options: { create?: boolean; detach?: boolean; force?: boolean } = {}): Promise<GitResult> {
    const args = ["checkout", "--quiet", ...(options.force ? ["--force"] : []), ...(options.detach ? ["--detach"] : []), ...(options.create ? ["-b"] : []), ref];
    return this.raw(args);
  }

  async deleteBranch(name: string): Promise<void> {
    await this.run(["branch", "-D", name]);
  }

  async createBranch(name: string, at: string): Promise<void> {
    await this.run(["branch", name, at]);
  }

  /**
   * Points `ref` at `sha`. With `expected` (a sha, or "" for "must not exist yet") the update
   * only happens when the ref is still there: nobody else's move is ever overwritten.
   */
  async updateRef(ref: string, sha: string, expected?: string): Promise<void> {
    await this.run(["update-ref", "-m", "autoresearch", ref, sha, ...(expected !== undefined ? [expected || "0".repeat(40)] : [])]);
  }

  async deleteRef(ref: string): Promise<void> {
    await this.run(["update-ref", "-d", ref]);
  }

  /** Every ref under `prefix` with the sha it names. */
  async refs(prefix: string): Promise<Map<string, string>> {
    const out = await this.run(["for-each-ref", "--format=%(refname) %(objectname)", prefix]);
    return new Map(
      out
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(" ") as [string, string]),
    );
  }

  async showFile(ref: string, path: string): Promise<string | null> {
    const result = await this.raw(["show", `${ref}:${path}`]);
    return result.code === 0 ? result.stdout : null;
  }

  async hasPath(ref: string, path: string): Promise<boolean> {
    return (await this.raw(["cat-file", "-e", `${ref}:${path}`])).code === 0;
  }

  /** The file mode git records for `path` at `ref` ("100644", "100755"), or null. */
  async fileMode(ref: string, path: string): Promise<string | null> {
    const out = (await this.raw(["ls-tree", ref, "--", path])).stdout.trim();
    return out ? (out.split(" ")[0] ?? null) : null;
  }

  async isTracked(path: string): Promise<boolean> {
    return (await this.raw(["ls-files", "--error-unmatch", "--", path])).code === 0;
  }

  /** Which of `paths` (repo-relative) git tracks, a folder when it tracks a file below it: one git call for all. */
  async trackedAmong(paths: readonly string[]): Promise<Set<string>> {
    const wanted = [...new Set(paths)];
    if (wanted.length === 0) return new Set();
    const listed = (await this.run(["ls-files", "-z", "--full-name", "--", ...wanted])).split("\0").filter(Boolean);
    return new Set(wanted.filter((path) => listed.some((file) => file === path || file.startsWith(`${path.replace(/\/+$/, "")}/`))));
  }

  /** Tracked files at or below `path` (empty when none). */
  async trackedUnder(path: string): Promise<string[]> {
    return (await this.run(["ls-files", "-z", "--", path])).split("\0").filter(Boolean);
  }

  async mergeBase(a: string, b: string): Promise<string | null> {
    return (await this.raw(["merge-base", a, b])).stdout.trim() || null;
  }

  /** Commits in `range` oldest first: sha and subject. */
  async log(range: string): Promise<{ sha: string; subject: string }[]> {
    const out = await this.run(["log", "--reverse", "--format=%H%x09%s", range]);
    return out
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [sha, ...subject] = line.split("\t");
        return { sha: sha as string, subject: subject.join("\t") };
      });
  }

  /** Files a three-way merge of `a` and `b` would conflict in ([] = clean), or null when git cannot tell. */
  async mergeConflicts(a: string, b: string): Promise<string[] | null> {
    // git >= 2.38: a real three-way merge in memory; exit 1 = conflicts, names listed after the tree.
    const result = await this.raw(["merge-tree", "--write-tree", "--name-only", "--no-messages", a, b]);
    if (result.code === 0) return [];
    if (result.code === 1) return result.stdout.split("\n").slice(1).map((s) => s.trim()).filter(Boolean);
    return null;
  }

  /** Files with unresolved conflicts in the index. */
  async unmerged(): Promise<string[]> {
    return (await this.raw(["diff", "--name-only", "--diff-filter=U"])).stdout.split("\n").filter(Boolean);
  }

  async hasStagedChanges(): Promise<boolean> {
    return (await this.raw(["diff", "--cached", "--quiet"])).code !== 0;
  }

  /** How many commits of the local branch `branch` no other local branch contains. */
  async commitsOnlyOn(branch: string): Promise<number> {
    const others = (await this.run(["for-each-ref", "--format=%(refname)", "refs/heads/"])).split("\n").filter((r) => r !== "" && r !== `refs/heads/${branch}`);
    const count = await this.run(["rev-list", "--count", `refs/heads/${branch}`, ...(others.length > 0 ? ["--not", ...others] : [])]);
    return Number(count) || 0;
  }

  /** `git diff a b -- paths` without colour, or why git could not diff them (a commit is gone). */
  async diffCommits(a: string, b: string, paths: readonly string[]): Promise<{ diff: string } | { error: string }> {
    const result = await this.raw(["diff", "--no-color", a, b, "--", ...paths]);
    return result.code === 0 ? { diff: result.stdout } : { error: result.stderr.trim() };
  }
}

/** The repo that holds `cwd`, as a Git working at its top level (all paths are repo-relative). */
export async function requireRepo(cwd: string): Promise<Git> {
  // One git call: inside a working tree, its top level, and whether HEAD has a commit.
  const result = await new Git(cwd).raw(["rev-parse", "--is-inside-work-tree", "--show-toplevel", "--verify", "--quiet", "HEAD"]);
  const [inside, top, head] = result.stdout.split("\n");
  if (inside !== "true" || !top) {
    throw new UsageError(`${cwd} is not a git repository`, "Run autoresearch inside your training repo, or create one with `git init && git add -A && git commit -m init`.");
  }
  if (result.code !== 0 || !head) {
    throw new UsageError("the repository has no commits yet", "Commit your training code first: `git add -A && git commit -m init`.");
  }
  return new Git(top);
}
