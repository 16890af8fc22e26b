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

type Node = Pick<ExperimentRecord, "id" | "commit" | "parent" | "status" | "metric" | "lines"> & Partial<Pick<ExperimentRecord, "runs" | "parentRuns" | "firstPaired" | "confirmRuns" | "trainHash" | "combines">>;

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
  const inHead = new Set<number>();
  for (const n of lineageOf(history, head)) {
    inHead.add(n.id);
    for (const c of n.combines ?? []) inHead.add(c);
  }
  const redundant = (n: T) => (n.combines ?? []).length > 0 && (n.combines ?? []).every((c) => inHead.has(c));
  return history.filter((n) => n.status === "keep" && n.id > 0 && !inHead.has(n.id) && !redundant(n));
}

/** How many times a combination of each kept node's change was tried, and on which parents. */
export function combinationTries(entries: readonly { parent: string; combines?: number[] }[]): Map<number, string[]> {
  const tries = new Map<number, string[]>();
  for (const e of entries) for (const c of e.combines ?? []) tries.set(c, [...(tries.get(c) ?? []), e.parent]);
  return tries;
}

/** A node's change is offered onto a head at most once, and this many times in a session. */
export const MAX_COMBINATION_TRIES = 2;

/**
 * The kept nodes whose changes should be tried on `head` next, oldest first: off its lineage,
 * not tried on this head yet (recorded or in flight), fewer than MAX_COMBINATION_TRIES tries.
 */
export function combinationCandidates<T extends Node>(history: readonly T[], head: T, inFlight: readonly { parent: string; combines?: number[] }[] = []): T[] {
  const tries = combinationTries([...history, ...inFlight]);
  return offLineageKept(history, head).filter((n) => {
    const parents = tries.get(n.id) ?? [];
    return !parents.includes(head.commit) && parents.length < MAX_COMBINATION_TRIES;
  });
}

/** Children of `node` decided since its last kept child (or since it was decided), none of them kept: the head's stagnation. */
export function childrenSinceKeep<T extends Node>(history: readonly T[], node: Pick<Node, "id" | "commit">): number {
  let count = 0;
  for (const child of childrenOf(history, node)) count = child.status === "keep" ? 0 : count + 1;
  return count;
}
