import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { type Leftover, type LeftoverOptions, listLeftovers } from "../ledger/leftovers.js";
import { currentTag, forgetCurrent, sessionsHome } from "../ledger/paths.js";
import { listSessions, type SessionSummary, unknownSessionError } from "../ledger/sessions.js";
import type { Git } from "../workspace/git.js";
import { isFinalizeBranchOf } from "../workspace/branch-names.js";
import { squashMergedInto } from "../workspace/squash-merged.js";
import { removeSessionTraces, type SessionTraces } from "../workspace/remove-session.js";

/**
 * `autoresearch clean`: what a finished session leaves in the repository (its research branch,
 * `refs/autoresearch/<tag>/*` keeping every experiment commit, its experiment clone and its
 * records), and the leftovers `sessions` lists (the demo's repositories, failed starts), planned
 * first and removed only as planned. The git and the deleting are
 * src/workspace/remove-session.ts's; this module decides what goes.
 */
export interface CleanItem extends SessionTraces {
  session: SessionSummary;
  refs: string[];
  /** Folders removed: the session's folder under <git dir>/autoresearch (records and clone). */
  dirs: string[];
  /** Kept commits on the research branch that no other branch contains: work that would be lost. */
  unmergedKept: number;
  /** The branch that holds the session's work as a copy (`merge --squash`): nothing would be lost. */
  squashedInto?: string;
}

export interface CleanPlan {
  items: CleanItem[];
  /** Leftovers to remove (src/ledger/leftovers.ts): demo repositories, failed starts not already among `items`. */
  leftovers: Leftover[];
  /** Sessions and leftovers asked for that are not removed, and why (a running one, say). */
  refused: { id: string; reason: string }[];
}

export interface CleanRequest {
  tags: string[];
  allFinished: boolean;
  /** The leftovers `sessions` lists: the demo's repositories in the temp folder, this repo's failed starts. */
  leftovers?: boolean;
  /** Where the leftovers are looked for (tests: a temp folder of their own). */
  leftoverOptions?: LeftoverOptions;
}

/** Plans the removal; changes nothing. Unknown tags are refused with exit 2 before anything is planned. */
export async function planClean(git: Git, root: string, request: CleanRequest): Promise<CleanPlan> {
  if (request.tags.length === 0 && !request.allFinished && !request.leftovers) {
    throw new UsageError("clean needs to know which sessions to remove", "Pass --tag <tag> (repeatable), --all-finished or --leftovers; `autoresearch sessions` lists them.");
  }
  const sessions = listSessions(root);
  const home = sessionsHome(root);
  for (const tag of request.tags) {
    if (!sessions.some((s) => s.id === tag)) throw unknownSessionError(root, tag);
  }
  const chosen = sessions.filter((s) => request.tags.includes(s.id) || (request.allFinished && (s.state === "finished" || s.state === "failed")));
  const plan: CleanPlan = { items: [], leftovers: [], refused: [] };
  for (const session of chosen) {
    if (session.state === "running") {
      plan.refused.push({ id: session.id, reason: "it is running (stop it first)" });
      continue;
    }
    if (session.dir.startsWith(join(root, ".autoresearch"))) {
      plan.refused.push({ id: session.id, reason: "its records are in the old layout in your checkout (resume or report it once to move them, then clean)" });
      continue;
    }
    // Failed and archived records own no branch or refs: only their folder goes.
    const owner = session.state === "failed" || session.state === "archived" ? null : session.tag;
    const branch = owner && (await git.branchExists(session.branch)) ? session.branch : null;
    const refs = owner ? [...(await git.refs(`refs/autoresearch/${owner}/`)).keys()] : [];
    // finalize's branches go with the session, but never a branch that is another session's research branch.
    const others = new Set(sessions.filter((s) => s.id !== session.id).map((s) => s.branch));
    const finalizeBranches = owner
      ? [...(await git.refs("refs/heads/autoresearch/")).keys()].map((ref) => ref.slice("refs/heads/".length)).filter((b) => isFinalizeBranchOf(owner, b) && !others.has(b))
      : [];
    const current = await git.currentBranch();
    const checkedOut = [branch, ...finalizeBranches].find((b) => b && b === current);
    if (checkedOut) {
      plan.refused.push({ id: session.id, reason: `its branch ${checkedOut} is checked out in your checkout (switch to another branch first)` });
      continue;
    }
    const dir = owner && home ? join(home, owner) : session.dir;
    const onlyHere = branch ? await git.commitsOnlyOn(branch) : 0;
    // A squash merge copies the work without the commits: that is merged too.
    const squashedInto = branch && onlyHere > 0 ? await squashMergedInto(git, branch) : null;
    const item: CleanItem = { session, branch, refs, finalizeBranches, dirs: existsSync(dir) ? [dir] : [], unmergedKept: squashedInto ? 0 : onlyHere };
    if (squashedInto) item.squashedInto = squashedInto;
    plan.items.push(item);
  }
  if (request.leftovers) {
    const planned = new Set(plan.items.flatMap((i) => i.dirs));
    for (const leftover of listLeftovers(root, request.leftoverOptions)) {
      if (planned.has(leftover.path)) continue;
      if (leftover.inUse) plan.refused.push({ id: leftover.id, reason: leftover.inUse });
      else plan.leftovers.push(leftover);
    }
  }
  return plan;
}

/** Removes what `plan` lists (items with unmerged kept work only when `withKeptWork`). Returns the ids removed. */
export async function executeClean(git: Git, root: string, plan: CleanPlan, withKeptWork: boolean, options: LeftoverOptions = {}): Promise<string[]> {
  const home = sessionsHome(root);
  const removed: string[] = [];
  for (const item of plan.items) {
    if (item.unmergedKept > 0 && !withKeptWork) continue;
    await removeSessionTraces(git, item);
    // `current` never names a session that is gone.
    if (home && currentTag(home) === item.session.tag && item.session.current) forgetCurrent(home);
    removed.push(item.session.id);
  }
  // Listed again right before: only a folder that is still a leftover, and not in use now, goes.
  if (plan.leftovers.length > 0) {
    const still = new Set(listLeftovers(root, options).filter((l) => l.inUse === null).map((l) => l.path));
    for (const leftover of plan.leftovers) {
      if (!still.has(leftover.path)) continue;
      rmSync(leftover.path, { recursive: true, force: true });
      removed.push(leftover.id);
    }
  }
  return removed;
}
