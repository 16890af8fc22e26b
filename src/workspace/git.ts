import { execFile } from "node:child_process";
import { devNull } from "node:os";
import { RuntimeFailure, UsageError } from "../errors.js";
import { sanitizeEnv } from "../runner/run-env.js";

/**
 * Git runs without the user's secrets and without hooks: a run (code a model wrote) could plant
 * a hook in .git/, and the tool must run no command but the configured experiment command.
 */
const NO_HOOKS = ["-c", `core.hooksPath=${devNull}`, "-c", "core.fsmonitor=false"];

/**
 * The real `git` binary, run in one repo. The tool's own commits use a fallback identity when
 * the user has none configured, so a fresh machine or CI can still run a session.
 */
export interface GitResult {
  stdout: string;
  stderr: string;
  code: number;
}

const FALLBACK_IDENTITY = {
  GIT_AUTHOR_NAME: "autoresearch",
  GIT_AUTHOR_EMAIL: "autoresearch@localhost",
  GIT_COMMITTER_NAME: "autoresearch",
  GIT_COMMITTER_EMAIL: "autoresearch@localhost",
};

export class Git {
  private identityEnv: Record<string, string> | null = null;

  constructor(readonly cwd: string) {}

  /** Runs git; resolves with the exit code instead of throwing. */
  raw(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        "git",
        [...NO_HOOKS, ...args],
        {
          cwd: this.cwd,
          maxBuffer: 256 * 1024 * 1024,
          env: { ...sanitizeEnv(process.env), ...options.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" },
          // Own process group: a Ctrl-C in the terminal (SIGINT to the foreground group) must
          // not kill a commit or reset half-way; the loop decides when to stop. (execFile passes
          // it on to spawn; its option type just does not list it.)
          ...({ detached: process.platform !== "win32" } as object),
        },
        (error, stdout, stderr) => {
          if (error && typeof (error as NodeJS.ErrnoException).code === "string") {
            reject(new RuntimeFailure(`could not run git: ${error.message}`, "Install git and make sure it is on PATH."));
            return;
          }
          const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
          resolve({ stdout, stderr, code });
        },
      );
      if (options.input !== undefined) child.stdin?.end(options.input);
    });
  }

  /** Runs git and returns trimmed stdout; a non-zero exit is a RuntimeFailure naming the command. */
  async run(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<string> {
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

  async topLevel(): Promise<string> {
    return this.run(["rev-parse", "--show-toplevel"]);
  }

  async currentBranch(): Promise<string | null> {
    const result = await this.raw(["symbolic-ref", "--quiet", "--short", "HEAD"]);
    return result.code === 0 ? result.stdout.trim() : null;
  }

  async head(): Promise<string> {
    return this.run(["rev-parse", "HEAD"]);
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

  /** Commit identity env: the user's when configured, else the fallback. Cached per instance. */
  async commitEnv(): Promise<Record<string, string>> {
    if (this.identityEnv) return this.identityEnv;
    const name = await this.raw(["config", "user.name"]);
    const email = await this.raw(["config", "user.email"]);
    const configured = name.code === 0 && email.code === 0 && name.stdout.trim() && email.stdout.trim();
    const hasEnv = process.env.GIT_AUTHOR_NAME && process.env.GIT_AUTHOR_EMAIL;
    this.identityEnv = configured || hasEnv ? {} : { ...FALLBACK_IDENTITY };
    return this.identityEnv;
  }

  /** Commits exactly the given paths (already written), returns the new full sha. */
  async commitPaths(paths: string[], message: string): Promise<string> {
    await this.run(["add", "--", ...paths]);
    await this.run(["commit", "--quiet", "--no-verify", "-m", message, "--", ...paths], { env: await this.commitEnv() });
    return this.head();
  }

  async resetHard(ref: string): Promise<void> {
    await this.run(["reset", "--quiet", "--hard", ref]);
  }

  async updateRef(ref: string, sha: string): Promise<void> {
    await this.run(["update-ref", ref, sha]);
  }

  async showFile(ref: string, path: string): Promise<string | null> {
    const result = await this.raw(["show", `${ref}:${path}`]);
    return result.code === 0 ? result.stdout : null;
  }

  async isTracked(path: string): Promise<boolean> {
    return (await this.raw(["ls-files", "--error-unmatch", "--", path])).code === 0;
  }

}

/** The repo that holds `cwd`, as a Git working at its top level (all paths are repo-relative). */
export async function requireRepo(cwd: string): Promise<Git> {
  const here = new Git(cwd);
  if (!(await here.isRepo())) {
    throw new UsageError(`${cwd} is not a git repository`, "Run autoresearch inside your training repo, or create one with `git init && git add -A && git commit -m init`.");
  }
  if (!(await here.hasCommits())) {
    throw new UsageError("the repository has no commits yet", "Commit your training code first: `git add -A && git commit -m init`.");
  }
  return new Git(await here.topLevel());
}
