import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Git } from "../../src/workspace/git.js";
import { ResearchRepo } from "../../src/workspace/research-repo.js";
import { createRepo, git } from "../helpers/repo.js";

const refOf = (root: string, ref: string): string | null => {
  try {
    return git(root, "rev-parse", "--verify", "--quiet", ref);
  } catch {
    return null;
  }
};

/** A repo with the research branch at its first commit and one experiment commit kept under pending-7. */
async function session() {
  const root = createRepo({ "train.py": "LR = 1\n" });
  const base = git(root, "rev-parse", "HEAD");
  const repo = new ResearchRepo(new Git(root), "t");
  await repo.createBranch(base);
  const commit = await repo.commitExperiment(repo.pendingRef(7), base, "train.py", "100644", "LR = 2\n", "exp: LR 2", new Date());
  return { root, base, repo, commit };
}

describe("an experiment's number and the research branch (one ref transaction)", () => {
  it("files the number, moves the branch and drops the pending ref in one git process", async () => {
    const { root, repo, commit } = await session();
    // Where the checkout's HEAD file is: asked once a session, before its first decision.
    expect(await repo.checkedOut()).toBe(false);
    const trace = join(mkdtempSync(join(tmpdir(), "ar-trace-")), "git.log");
    process.env.GIT_TRACE = trace;
    try {
      expect(await repo.numberExperiment(7, 3, commit, true)).toBeNull();
    } finally {
      delete process.env.GIT_TRACE;
    }
    expect(refOf(root, repo.experimentRef(3))).toBe(commit);
    expect(refOf(root, repo.branchRef)).toBe(commit);
    expect(refOf(root, repo.pendingRef(7))).toBeNull();
    // The checkout's HEAD is read from its file (no git); the refs change in one update-ref.
    expect(readFileSync(trace, "utf8").match(/built-in: git /g)).toHaveLength(1);
    // The branch's reflog says who moved it.
    expect(git(root, "reflog", "show", "--format=%gs", repo.branchRef).split("\n")[0]).toBe("autoresearch");
  });

  it("changes both refs or neither: a branch that cannot be moved leaves the number unfiled and the pending ref in place", async () => {
    const { root, base, repo, commit } = await session();
    // Another git process holds the branch's lock: the transaction fails as a whole.
    const lock = join(root, ".git", "refs", "heads", "autoresearch", "t.lock");
    writeFileSync(lock, "");
    await expect(repo.numberExperiment(7, 3, commit, true)).rejects.toThrow(/update-ref/);
    expect(refOf(root, repo.experimentRef(3))).toBeNull();
    expect(refOf(root, repo.branchRef)).toBe(base);
    expect(refOf(root, repo.pendingRef(7))).toBe(commit);
    rmSync(lock);
    expect(await repo.numberExperiment(7, 3, commit, true)).toBeNull();
    expect([refOf(root, repo.experimentRef(3)), refOf(root, repo.branchRef), refOf(root, repo.pendingRef(7))]).toEqual([commit, commit, null]);
  });

  it("a discard files its number and leaves the branch", async () => {
    const { root, base, repo, commit } = await session();
    expect(await repo.numberExperiment(7, 3, commit)).toBeNull();
    expect([refOf(root, repo.experimentRef(3)), refOf(root, repo.branchRef), refOf(root, repo.pendingRef(7))]).toEqual([commit, base, null]);
  });

  it("never moves the branch the user has checked out: the number is filed and a warning says why", async () => {
    const { root, base, repo, commit } = await session();
    git(root, "switch", "-q", repo.branch);
    const warning = await repo.numberExperiment(7, 3, commit, true);
    expect(warning).toMatch(/autoresearch\/t is checked out in your checkout, so it was not moved/);
    expect([refOf(root, repo.experimentRef(3)), refOf(root, repo.branchRef), refOf(root, repo.pendingRef(7))]).toEqual([commit, base, null]);
  });
});
