import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RuntimeFailure, UsageError } from "../../src/errors.js";
import { loadReportData } from "../../src/report/load.js";
import { type MergeStrategy, executeMerge, mergeMessage, mergeTargets, planMerge } from "../../src/report/merge.js";
import { Git } from "../../src/workspace/git.js";
import { type GitSession, TRAIN_PY, createGitSession, git, removeDir, tempDir } from "../helpers/session-fixture.js";

let session: GitSession;
let root: string;
let repo: Git;

beforeEach(() => {
  root = tempDir("ar-merge-");
  session = createGitSession(root);
  repo = new Git(root);
});
afterEach(() => removeDir(root));

const head = (ref: string) => git(root, "rev-parse", ref);

/** The research branch and its archived experiments are exactly as the session left them. */
function expectResearchUntouched(): void {
  expect(head(session.branch)).toBe(session.keptCommits[2]);
  expect(git(root, "rev-list", "--count", `${session.baseCommit}..${session.branch}`)).toBe("3");
  expect(git(root, "for-each-ref", "--format=%(refname)", "refs/autoresearch/")).toBe("refs/autoresearch/mar8/2");
  expect(git(root, "branch", "--list", "autoresearch-merge/*")).toBe("");
}

/** main moves on after the session started: a new commit touching `file`. */
function moveMain(file: string, text: string): string {
  git(root, "checkout", "--quiet", "main");
  writeFileSync(join(root, file), text);
  git(root, "commit", "--quiet", "-am", `main: edit ${file}`);
  git(root, "checkout", "--quiet", session.branch);
  return head("main");
}

async function merge(strategy: MergeStrategy, precheck = true) {
  const plan = await planMerge(repo, session.branch, "main");
  const data = loadReportData({ root });
  return { plan, outcome: await executeMerge(repo, plan, { strategy, message: mergeMessage(plan, strategy, data), precheck }) };
}

describe("merge into the base branch (spec 3.2) on real repos", () => {
  it("plans: the kept commits, no divergence", async () => {
    const plan = await planMerge(repo, session.branch, "main");
    expect(plan.commits.map((c) => c.sha)).toEqual(session.keptCommits);
    expect(plan.diverged).toBe(false);
    expect(plan.conflicts).toEqual([]);
    const message = mergeMessage(plan, "squash", loadReportData({ root }));
    expect(message.split("\n")[0]).toBe("autoresearch: squash autoresearch/mar8 into main (val_bpb 1.000000 -> 0.965000, -3.50%)");
    expect(message).toContain(`- #1 ${String(session.keptCommits[0]).slice(0, 7)} val_bpb 0.980000 (-0.020000): increase learning rate to 0.04`);
    expect(message).toContain("ReLU² activation");
    expect(message).not.toContain("deeper model");
  });

  it("--squash: one commit on main with the research result, listing the kept experiments", async () => {
    const { outcome } = await merge("squash");
    expect(outcome.merged).toBe(true);
    expect(await repo.currentBranch()).toBe("main");
    expect(git(root, "rev-list", "--count", `${session.baseCommit}..main`)).toBe("1");
    expect(git(root, "rev-parse", "main^")).toBe(session.baseCommit);
    expect(git(root, "show", "main:train.py")).toBe(git(root, "show", `${session.branch}:train.py`));
    expect(git(root, "log", "-1", "--format=%B", "main")).toContain("Kept experiments:");
    expectResearchUntouched();
  });

  it("--merge: a merge commit whose second parent is the research branch", async () => {
    await merge("merge");
    expect(git(root, "rev-list", "--parents", "-n", "1", "main").split(" ").slice(1)).toEqual([session.baseCommit, session.keptCommits[2]]);
    expect(git(root, "log", "-1", "--format=%s", "main")).toContain("autoresearch: merge autoresearch/mar8 into main");
    expectResearchUntouched();
    // Merged: nothing left to merge.
    expect((await planMerge(repo, session.branch, "main")).commits).toEqual([]);
  });

  it("--rebase: main fast-forwards to the kept commits; the branch itself is not rewritten", async () => {
    await merge("rebase");
    expect(head("main")).toBe(session.keptCommits[2]);
    expectResearchUntouched();
  });

  it("refuses a dirty tree (tracked changes) and changes nothing; untracked files do not block", async () => {
    writeFileSync(join(root, "results.tsv"), "commit\tval_bpb\tmem_gb\tstatus\tdescription\n"); // ignored
    writeFileSync(join(root, "notes.txt"), "untracked\n");
    writeFileSync(join(root, "train.py"), `${TRAIN_PY}# local edit\n`);
    const error = await merge("squash").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain("uncommitted changes (train.py)");
    expect(await repo.currentBranch()).toBe(session.branch);
    expect(head("main")).toBe(session.baseCommit);
    git(root, "checkout", "--", "train.py");
    const { outcome } = await merge("squash");
    expect(outcome.merged).toBe(true);
  });

  for (const strategy of ["squash", "merge", "rebase"] as const) {
    it(`diverged base that conflicts: --${strategy} is refused, the repo restored, how to resolve given`, async () => {
      const mainTip = moveMain("train.py", TRAIN_PY.replace("LR = 0.02", "LR = 0.03"));
      const plan = await planMerge(repo, session.branch, "main");
      expect(plan.diverged).toBe(true);
      expect(plan.conflicts).toEqual(["train.py"]);
      for (const precheck of [true, false]) {
        const error = await merge(strategy, precheck).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RuntimeFailure);
        expect((error as RuntimeFailure).exitCode).toBe(1);
        expect((error as RuntimeFailure).message).toContain("train.py");
        expect((error as RuntimeFailure).hint).toContain("Resolve by hand");
        expect((error as RuntimeFailure).hint).toContain(strategy === "rebase" ? "git rebase main" : "git checkout main");
        expect(await repo.currentBranch()).toBe(session.branch);
        expect(head("main")).toBe(mainTip);
        expect(await repo.statusLines()).toEqual([]);
        expectResearchUntouched();
      }
    });

    it(`diverged base without conflict: --${strategy} works`, async () => {
      const mainTip = moveMain("README.md", "# tiny\n\nNew docs on main.\n");
      const plan = await planMerge(repo, session.branch, "main");
      expect(plan.diverged).toBe(true);
      expect(plan.conflicts).toEqual([]);
      const { outcome } = await merge(strategy);
      expect(outcome.merged).toBe(true);
      expect(outcome.baseBefore).toBe(mainTip);
      expect(await repo.currentBranch()).toBe("main");
      expect(git(root, "merge-base", "--is-ancestor", mainTip, "main")).toBe("");
      expect(git(root, "show", "main:README.md")).toContain("New docs on main.");
      expect(git(root, "show", "main:train.py")).toBe(git(root, "show", `${session.branch}:train.py`));
      if (strategy === "rebase") expect(git(root, "rev-list", "--count", `${mainTip}..main`)).toBe("3");
      expectResearchUntouched();
    });
  }

  it("says what is wrong with unknown branches", async () => {
    await expect(planMerge(repo, "autoresearch/nope", "main")).rejects.toThrow(/does not exist/);
    await expect(planMerge(repo, session.branch, "develop")).rejects.toThrow(/base branch develop does not exist/);
    await expect(planMerge(repo, "main", "main")).rejects.toThrow(/into itself/);
  });
});

describe("mergeTargets: which branch goes into which base", () => {
  const session = { branch: "autoresearch/mar8", baseBranch: "dev" };
  const none = { current: null, session: null, hasMain: true, hasMaster: false };
  it.each([
    ["the recorded session's branch and base", { ...none, session }, "autoresearch/mar8", "dev"],
    ["the current autoresearch branch first", { ...none, current: "autoresearch/mar9", session }, "autoresearch/mar9", "main"],
    ["--branch of another session: not the recorded base", { ...none, branch: "autoresearch/old", session }, "autoresearch/old", "main"],
    ["--branch of the recorded session: its base", { ...none, branch: "autoresearch/mar8", session }, "autoresearch/mar8", "dev"],
    ["--into wins", { ...none, into: "release", session }, "autoresearch/mar8", "release"],
    ["master when only master exists", { ...none, branch: "autoresearch/x", hasMain: false, hasMaster: true }, "autoresearch/x", "master"],
    ["main when neither exists (planMerge then names it)", { ...none, branch: "autoresearch/x", hasMain: false }, "autoresearch/x", "main"],
    ["a session started detached records no base", { ...none, session: { branch: "autoresearch/mar8", baseBranch: null } }, "autoresearch/mar8", "main"],
    ["no branch at all", { ...none, current: "feature" }, null, "main"],
  ])("%s", (_name, input, branch, base) => {
    expect(mergeTargets(input)).toEqual({ branch, base });
  });
});
