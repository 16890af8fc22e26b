import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every git command the tool runs in the user's repository is written in src/workspace/: the
 * rest of the code calls its named methods (resolve, diffCommits, commitsOnlyOn ...), so what
 * the tool may do to a repository can be read in one folder. Commands sent to an SSH host as
 * shell text are the SSH executor's and are not matched here.
 */
const RAW_GIT = /\bgit\w*\.(?:raw|run)\(|\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*["'`]git["'`]/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("git commands", () => {
  it("are run only from src/workspace/", () => {
    const src = join(import.meta.dirname, "../../src");
    const found: string[] = [];
    for (const file of sourceFiles(src)) {
      const rel = relative(src, file).split("\\").join("/");
      if (rel.startsWith("workspace/")) continue;
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (RAW_GIT.test(line)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found).toEqual([]);
  });

  it("the pattern matches each way of running git and not the named methods", () => {
    for (const line of ['await git.run(["branch", "-D", b]);', "const r = await this.git.raw(args);", 'spawn("git", args)', "execFileSync('git', ['status'])"]) expect(RAW_GIT.test(line), line).toBe(true);
    for (const line of ["await git.resolve(what);", "await git.diffCommits(a, b, paths);", "await runner.run(spec, signal);"]) expect(RAW_GIT.test(line), line).toBe(false);
  });
});
