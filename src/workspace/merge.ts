import { RuntimeFailure, UsageError } from "../errors.js";
import type { Git } from "./git.js";

/**
 * Spec 3.2, the git side: merging the research branch into its base, locally (the commit
 * message is written by report/merge.ts). Refuses a dirty tree and a
 * base that moved in a conflicting way (nothing is touched then), never pushes, never rewrites
 * the research branch: --rebase replays a temporary copy of it.
 */

export const MERGE_STRATEGIES = ["squash", "rebase", "merge"] as const;
export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];

export interface MergePlan {
  branch: string;
  base: string;
  branchTip: string;
  baseTip: string;
  mergeBase: string;
  /** Commits on the research branch that are not on the base, oldest first. */
  commits: { sha: string; subject: string }[];
  /** The base has commits the research branch does not have (it moved since the session began). */
  diverged: boolean;
  /** Files that would conflict, from `git merge-tree`; [] = clean; null = could not tell. */
  conflicts: string[] | null;
}

export interface MergeOutcome {
  strategy: MergeStrategy;
  base: string;
  baseBefore: string;
  baseAfter: string;
  /** False when there was nothing to merge. */
  merged: boolean;
}

/** What a merge of `branch` into `base` would bring, and whether it would conflict. */
export async function planMerge(git: Git, branch: string, base: string): Promise<MergePlan> {
  if (!(await git.branchExists(branch))) {
    throw new UsageError(`research branch ${branch} does not exist`, "Pass the session's branch with --branch autoresearch/<tag>.");
  }
  if (!(await git.branchExists(base))) {
    throw new UsageError(`base branch ${base} does not exist`, "Pass the branch to merge into with --into <branch>.");
  }
  if (branch === base) throw new UsageError(`cannot merge ${branch} into itself`, "Pass the base branch with --into <branch>.");
  const branchTip = (await git.resolve(`refs/heads/${branch}`)) as string;
  const baseTip = (await git.resolve(`refs/heads/${base}`)) as string;
  const mergeBase = await git.mergeBase(baseTip, branchTip);
  if (!mergeBase) throw new UsageError(`${branch} and ${base} have no common history`, "Check --into: the base must be the branch the session started from.");
  const commits = await git.log(`${baseTip}..${branchTip}`);
  const diverged = mergeBase !== baseTip;
  const conflicts = diverged && commits.length > 0 ? await git.mergeConflicts(baseTip, branchTip) : [];
  return { branch, base, branchTip, baseTip, mergeBase, commits, diverged, conflicts };
}

/** Tracked changes (staged or not) block a merge; untracked files such as results.tsv do not. */
export async function assertCleanTree(git: Git): Promise<void> {
  const status = await git.trackedChanges();
  if (status.length > 0) {
    const files = status
      .slice(0, 5)
      .map((l) => l.slice(3))
      .join(", ");
    throw new UsageError(
      `the working tree has uncommitted changes (${files})`,
      "Commit or stash them first (`git stash`), then run `autoresearch merge` again. Nothing was changed.",
    );
  }
  const operation = await git.operationInProgress();
  if (operation) {
    throw new UsageError(`a git ${operation} is in progress`, `Finish or abort it first (\`git ${operation} --abort\`).`);
  }
}

export function conflictHint(plan: MergePlan, strategy: MergeStrategy, files: string[] | null): string {
  const list = files && files.length > 0 ? files.join(" ") : "<files>";
  const how =
    strategy === "rebase"
      ? [`git checkout -b ${plan.branch}-rebased ${plan.branch}`, `git rebase ${plan.base}`, `# fix the conflicts in ${list}, then: git add ${list} && git rebase --continue`, `git checkout ${plan.base} && git merge --ff-only ${plan.branch}-rebased`]
      : [`git checkout ${plan.base}`, strategy === "squash" ? `git merge --squash ${plan.branch}` : `git merge --no-ff ${plan.branch}`, `# fix the conflicts in ${list}, then: git add ${list} && git commit`];
  return [
    `${plan.base} has moved since the session started and its changes conflict with ${plan.branch}. Nothing was changed; ${plan.branch} is untouched.`,
    "  Resolve by hand:",
    ...how.map((l) => `    ${l}`),
    `  or start a new session from the current ${plan.base}.`,
  ].join("\n");
}

export interface ExecuteOptions {
  strategy: MergeStrategy;
  message: string;
  /** Refuse before touching anything when `git merge-tree` predicts conflicts (default true). */
  precheck?: boolean;
  /** Clock for the temporary branch name. */
  now?: () => number;
}

/**
 * Does the merge. On a conflict it aborts, returns to the branch the user was on, and throws a
 * RuntimeFailure (exit 1) saying how to resolve it by hand. Leaves the user on the base branch
 * after a successful merge.
 */
export async function executeMerge(git: Git, plan: MergePlan, options: ExecuteOptions): Promise<MergeOutcome> {
  await assertCleanTree(git);
  const outcome: MergeOutcome = { strategy: options.strategy, base: plan.base, baseBefore: plan.baseTip, baseAfter: plan.baseTip, merged: false };
  if (plan.commits.length === 0) return outcome;
  if ((options.precheck ?? true) && plan.conflicts && plan.conflicts.length > 0) {
    throw new RuntimeFailure(`cannot merge: ${plan.base} and ${plan.branch} conflict in ${plan.conflicts.join(", ")}`, conflictHint(plan, options.strategy, plan.conflicts));
  }
  const original = (await git.currentBranch()) ?? (await git.head());
  const originalIsBranch = (await git.currentBranch()) !== null;
  const env = await git.commitEnv();
  const restore = async () => {
    await git.raw(originalIsBranch ? ["checkout", "--quiet", original] : ["checkout", "--quiet", "--detach", original]);
  };
  const checkoutBase = async () => {
    const result = await git.raw(["checkout", "--quiet", plan.base]);
    if (result.code !== 0) {
      await restore();
      throw new RuntimeFailure(`could not check out ${plan.base}: ${result.stderr.trim()}`, `Nothing was changed. Check out ${plan.base} yourself to see what is in the way.`);
    }
  };
  const conflicted = () => git.unmerged();

  if (options.strategy === "squash") {
    await checkoutBase();
    const result = await git.raw(["merge", "--squash", "--no-commit", plan.branchTip]);
    if (result.code !== 0) {
      const files = await conflicted();
      await git.raw(["reset", "--quiet", "--merge"]);
      await restore();
      throw new RuntimeFailure(`squash merge of ${plan.branch} into ${plan.base} failed${files.length ? `: conflicts in ${files.join(", ")}` : `: ${result.stderr.trim() || result.stdout.trim()}`}`, conflictHint(plan, "squash", files));
    }
    if (!(await git.hasStagedChanges())) {
      await restore();
      return outcome; // the base already has these changes
    }
    await git.run(["commit", "--quiet", "--no-verify", "-m", options.message.trimEnd()], { env });
  } else if (options.strategy === "merge") {
    await checkoutBase();
    const result = await git.raw(["merge", "--no-ff", "--no-verify", "-m", options.message.trimEnd(), plan.branchTip], { env });
    if (result.code !== 0) {
      const files = await conflicted();
      await git.raw(["merge", "--abort"]);
      await restore();
      throw new RuntimeFailure(`merge of ${plan.branch} into ${plan.base} failed${files.length ? `: conflicts in ${files.join(", ")}` : `: ${result.stderr.trim() || result.stdout.trim()}`}`, conflictHint(plan, "merge", files));
    }
  } else {
    // Rebase a copy; the research branch itself is never rewritten.
    const temp = `autoresearch-merge/${plan.branch.replace(/[^\w.-]+/g, "-")}-${(options.now ?? Date.now)()}`;
    await git.run(["branch", temp, plan.branchTip]);
    const result = await git.raw(["rebase", "--quiet", plan.baseTip, temp], { env });
    if (result.code !== 0) {
      const files = await conflicted();
      await git.raw(["rebase", "--abort"]);
      await restore();
      await git.raw(["branch", "-D", temp]);
      throw new RuntimeFailure(`rebase of ${plan.branch} onto ${plan.base} failed${files.length ? `: conflicts in ${files.join(", ")}` : `: ${result.stderr.trim() || result.stdout.trim()}`}`, conflictHint(plan, "rebase", files));
    }
    const checkout = await git.raw(["checkout", "--quiet", plan.base]);
    if (checkout.code !== 0) {
      await restore();
      await git.raw(["branch", "-D", temp]);
      throw new RuntimeFailure(`could not check out ${plan.base}: ${checkout.stderr.trim()}`, `Nothing was merged. Check out ${plan.base} yourself to see what is in the way.`);
    }
    const ff = await git.raw(["merge", "--quiet", "--ff-only", temp]);
    await git.raw(["branch", "-D", temp]);
    if (ff.code !== 0) {
      await restore();
      throw new RuntimeFailure(`could not fast-forward ${plan.base}: ${ff.stderr.trim()}`, "Nothing was merged.");
    }
  }
  outcome.baseAfter = await git.head();
  outcome.merged = true;
  return outcome;
}

/**
 * What to say about pushing `base` after a merge: the remote it tracks (or the only one, or
 * origin), or that there is no remote at all (then no push command is suggested).
 */
export async function pushAdvice(git: Git, base: string): Promise<string> {
  const remotes = (await git.run(["remote"])).split("\n").filter(Boolean);
  if (remotes.length === 0) return "This repository has no remote: there is nothing to push to.";
  const tracked = await git.config(`branch.${base}.remote`);
  const remote = tracked && remotes.includes(tracked) ? tracked : remotes.includes("origin") ? "origin" : remotes.length === 1 ? remotes[0] : null;
  return remote ? `Push when ready: git push ${remote} ${base}` : `Push when ready: git push <remote> ${base} (remotes: ${remotes.join(", ")})`;
}
