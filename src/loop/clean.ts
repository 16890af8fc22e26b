import { existsSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { currentTag, forgetCurrent, sessionsHome } from "../ledger/paths.js";
import { listSessions, type SessionSummary } from "../ledger/sessions.js";
import type { Git } from "../workspace/git.js";
import { squashMergedInto } from "../workspace/squash-merged.js";
import { removeSessionTraces, type SessionTraces } from "../workspace/remove-session.js";

/**
 * `autoresearch clean`: what a finished session leaves in the repository (its research branch,
 * `refs/autoresearch/<tag>/*` keeping every experiment commit, its experiment clone and its
 * records), planned first and removed only as planned. The git and the deleting are
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
  /** Sessions asked for that are not removed, and why (a running one, say). */
  refused: { id: string; reason: string }[];
}

export interface CleanRequest {
  tags: string[];
  allFinished: boolean;
}

/** Plans the removal; changes nothing. Unknown tags are refused with exit 2 before anything is planned. */
export async function planClean(git: Git, root: string, request: CleanRequest): Promise<CleanPlan> {
  if (request.tags.length === 0 && !request.allFinished) {
    throw new UsageError("clean needs to know which sessions to remove", "Pass --tag <tag> (repeatable) or --all-finished; `autoresearch sessions` lists them.");
  }
  const sessions = listSessions(root);
  const home = sessionsHome(root);
  for (const tag of request.tags) {
    if (!sessions.some((s) => s.id === tag)) throw new UsageError(`no autoresearch session ${JSON.stringify(tag)} in ${root}`, "`autoresearch sessions` lists the sessions of this repo and their tags.");
  }
  const chosen = sessions.filter((s) => request.tags.includes(s.id) || (request.allFinished && (s.state === "finished" || s.state === "failed")));
  const plan: CleanPlan = { items: [], refused: [] };
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
    if (branch && (await git.currentBranch()) === branch) {
      plan.refused.push({ id: session.id, reason: `its branch ${branch} is checked out in your checkout (switch to another branch first)` });
      continue;
    }
    const dir = owner && home ? join(home, owner) : session.dir;
    const onlyHere = branch ? await git.commitsOnlyOn(branch) : 0;
    // A squash merge copies the work without the commits: that is merged too.
    const squashedInto = branch && onlyHere > 0 ? await squashMergedInto(git, branch) : null;
    const item: CleanItem = { session, branch, refs, dirs: existsSync(dir) ? [dir] : [], unmergedKept: squashedInto ? 0 : onlyHere };
    if (squashedInto) item.squashedInto = squashedInto;
    plan.items.push(item);
  }
  return plan;
}

/** Removes what `plan` lists (items with unmerged kept work only when `withKeptWork`). Returns the ids removed. */
export async function executeClean(git: Git, root: string, plan: CleanPlan, withKeptWork: boolean): Promise<string[]> {
  const home = sessionsHome(root);
  const removed: string[] = [];
  for (const item of plan.items) {
    if (item.unmergedKept > 0 && !withKeptWork) continue;
    await removeSessionTraces(git, item);
    // `current` never names a session that is gone.
    if (home && currentTag(home) === item.session.tag && item.session.current) forgetCurrent(home);
    removed.push(item.session.id);
  }
  return removed;
}
