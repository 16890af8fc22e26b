/**
 * The research tree, read from the records. Every experiment is a node whose parent is the
 * measured node it was built on (its `parent` commit; the baseline is the root). A node is kept
 * when it measured better than its parent under the session's keep rule. The head, which the
 * research branch points at, is the best kept node; its lineage (root to head) is the branch's
 * history. Pure: the scheduler, the reports, `status`, `show` and the dashboard's page read the
 * tree through these functions, so they all agree on which node is the best.
 */
import { isBetter } from "../metric/compare.js";
import { measuredMeans } from "../metric/noise.js";
import type { Direction, ExperimentRecord } from "../types.js";

type Node = Pick<ExperimentRecord, "id" | "commit" | "parent" | "status" | "metric" | "lines"> & Partial<Pick<ExperimentRecord, "runs" | "parentRuns" | "trainHash" | "combines">>;

/**
 * The head: the kept node with the best measured metric (measuredOf: the mean of its runs, or
 * its parent's plus its pairs' difference); between equal metrics the one with fewer lines (the
 * simplicity rule: the same result from less code is better), then the older node.
 */
export function headOf<T extends Node>(history: readonly T[], direction: Direction): T {
  const means = measuredMeans(history);
  let head: T | undefined;
  let best = Number.NaN;
  for (const node of history) {
    if (node.status !== "keep" || node.metric === null) continue;
    const value = means.get(node.commit) ?? node.metric;
    if (!head || isBetter(value, best, direction) || (value === best && node.lines < head.lines)) {
      head = node;
      best = value;
    }
  }
  if (!head) throw new Error("session has no baseline");
  return head;
}

/** A node's measured metric: what every "vs best" and every decision compares with (src/metric/noise.ts measuredMeans). */
export function measuredOf(history: readonly Node[], node: Node): number | null {
  return measuredMeans(history).get(node.commit) ?? node.metric;
}

/** The node whose commit is `commit` (the first recorded one: the baseline's parent is itself). */
export function nodeAt<T extends Node>(history: readonly T[], commit: string): T | undefined {
  return history.find((n) => n.commit === commit);
}

/** The path from the root to `node`, both included. */
export function lineageOf<T extends Node>(history: readonly T[], node: T): T[] {
  const byCommit = new Map<string, T>();
  for (const n of history) if (!byCommit.has(n.commit)) byCommit.set(n.commit, n);
  const path: T[] = [];
  const seen = new Set<string>();
  let at: T | undefined = node;
  while (at && !seen.has(at.commit)) {
    path.push(at);
    seen.add(at.commit);
    at = at.parent === at.commit ? undefined : byCommit.get(at.parent);
  }
  return path.reverse();
}

/** The decided children of `node`, in decision order. */
export function childrenOf<T extends Node>(history: readonly T[], node: Pick<Node, "id" | "commit">): T[] {
  return history.filter((n) => n.parent === node.commit && n.id !== node.id);
}

/**
 * Kept nodes whose change is not in the head's code: kept, off the head's lineage, and not
 * combined into a node of that lineage already (nor combinations of changes that are).
 */
export function offLineageKept<T extends Node>(history: readonly T[], head: T): T[] {
  const byId = new Map(history.map((n) => [n.id, n]));
  const inHead = new Set<number>();
  // A combined node's own combinations are in the head too (a stack may hold a combination).
  const add = (id: number): void => {
    if (inHead.has(id)) return;
    inHead.add(id);
    for (const c of byId.get(id)?.combines ?? []) add(c);
  };
  for (const n of lineageOf(history, head)) add(n.id);
  const redundant = (n: T) => (n.combines ?? []).length > 0 && (n.combines ?? []).every((c) => inHead.has(c));
  return history.filter((n) => n.status === "keep" && n.id > 0 && !inHead.has(n.id) && !redundant(n));
}

/** How many times a combination of each kept node's change was tried alone, and on which parents (stacks not counted). */
export function combinationTries(entries: readonly { parent: string; combines?: number[] }[]): Map<number, string[]> {
  const tries = new Map<number, string[]>();
  for (const e of entries) {
    if ((e.combines ?? []).length !== 1) continue;
    for (const c of e.combines ?? []) tries.set(c, [...(tries.get(c) ?? []), e.parent]);
  }
  return tries;
}

/** A node's change is offered alone onto a head at most once, and this many times in a session. */
export const MAX_COMBINATION_TRIES = 2;

/**
 * What to combine into `head` next. `stack`: every winner off the head's lineage not stacked on
 * this head yet, best gain first, to be applied one after another as ONE node (with many workers
 * a wave brings several winners at once; one node per winner would add one change to the head
 * per wave). Empty unless there are at least two. `singles`: winners to try alone on the head,
 * oldest first: those whose stack on this head was decided without a keep (one part may be what
 * spoils the rest), and any lone winner. A winner in a combination in flight on the head waits;
 * one tried alone on this head, or MAX_COMBINATION_TRIES times in all, is not offered again.
 */
export function combinationPlan<T extends Node>(
  history: readonly T[],
  head: T,
  inFlight: readonly { parent: string; combines?: number[] }[] = [],
  direction: Direction = "min",
): { stack: T[]; singles: T[] } {
  const tries = combinationTries([...history, ...inFlight]);
  const busy = new Set(inFlight.filter((e) => e.parent === head.commit).flatMap((e) => e.combines ?? []));
  const stacked = new Set(history.filter((e) => e.parent === head.commit && (e.combines ?? []).length > 1).flatMap((e) => e.combines ?? []));
  const fresh = offLineageKept(history, head).filter((n) => {
    const parents = tries.get(n.id) ?? [];
    return !busy.has(n.id) && !parents.includes(head.commit) && parents.length < MAX_COMBINATION_TRIES;
  });
  const byCommit = new Map<string, T>();
  for (const n of history) if (!byCommit.has(n.commit)) byCommit.set(n.commit, n);
  // The largest win over its own parent first: when two changes collide, the better one goes in.
  const won = (n: T): number => {
    const parent = byCommit.get(n.parent);
    if (!parent || parent.metric === null || n.metric === null) return 0;
    return direction === "min" ? parent.metric - n.metric : n.metric - parent.metric;
  };
  const stack = fresh.filter((n) => !stacked.has(n.id)).sort((a, b) => won(b) - won(a) || a.id - b.id);
  if (stack.length >= 2) return { stack, singles: fresh.filter((n) => stacked.has(n.id)) };
  return { stack: [], singles: fresh };
}

/**
 * The kept nodes whose changes should be tried on `head` next (see combinationPlan): the stack's
 * parts, then the singles.
 */
export function combinationCandidates<T extends Node>(history: readonly T[], head: T, inFlight: readonly { parent: string; combines?: number[] }[] = []): T[] {
  const plan = combinationPlan(history, head, inFlight);
  return [...plan.stack, ...plan.singles];
}

/** Children of `node` decided since its last kept child (or since it was decided), none of them kept: the head's stagnation. */
export function childrenSinceKeep<T extends Node>(history: readonly T[], node: Pick<Node, "id" | "commit">): number {
  let count = 0;
  for (const child of childrenOf(history, node)) count = child.status === "keep" ? 0 : count + 1;
  return count;
}
