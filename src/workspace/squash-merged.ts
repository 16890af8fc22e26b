import { isToolBranch } from "./branch-names.js";
import type { Git } from "./git.js";

/**
 * The local branch (not one the tool writes) that already holds `branch`'s work although it does not contain its commits:
 * `merge --squash` (or a rebase, or a cherry-pick) copied it. Holds = the files the branch changed
 * since it forked are, in that branch's tip, exactly as in `branch`'s tip (the best tree is
 * there), or one of its commits since the fork carries the same change (same patch id: the
 * squash commit, with other work on top). Null when no branch holds it.
 */
export async function squashMergedInto(git: Git, branch: string): Promise<string | null> {
  // The user's branches only: another session that kept the same change holds a copy of it, not a merge.
  const others = (await git.run(["for-each-ref", "--format=%(refname:short)", "refs/heads/"])).split("\n").filter((b) => b !== "" && b !== branch && !isToolBranch(b));
  for (const other of others) {
    const fork = await git.mergeBase(other, branch);
    if (!fork) continue;
    const changed = (await git.run(["diff", "--name-only", fork, branch])).split("\n").filter(Boolean);
    if (changed.length === 0) continue;
    const same = await git.raw(["diff", "--quiet", other, branch, "--", ...changed]);
    if (same.code === 0) return other;
    const change = await patchIds(git, (await git.raw(["diff", fork, branch])).stdout);
    const theirs = await patchIds(git, (await git.raw(["log", "-p", "--no-merges", "--format=commit %H", `${fork}..${other}`])).stdout);
    if (change.some((id) => theirs.includes(id))) return other;
  }
  return null;
}

/** `git patch-id --stable` of each patch in `patches` (one diff, or `git log -p` output). */
async function patchIds(git: Git, patches: string): Promise<string[]> {
  if (patches.trim() === "") return [];
  const out = await git.raw(["patch-id", "--stable"], { input: patches });
  return out.stdout.split("\n").map((line) => line.split(" ")[0] ?? "").filter(Boolean);
}
