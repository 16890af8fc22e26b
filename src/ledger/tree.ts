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

type Node = Pick<ExperimentRecord, "id" | "commit" | "parent" | "status" | "metric" | "lines"> &
  Partial<Pick<ExperimentRecord, "runs" | "parentRuns" | "firstPaired" | "confirmRuns" | "trainHash" | "combines" | "onCombination">>;

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
 * A combination and nothing else: the changes of the kept nodes it `combines` applied onto its
 * parent. A node made on such a combination (`onCombination`) adds a change of its own on top.
 */
export function isPureCombination(node: Pick<Node, "combines" | "onCombination">): boolean {
  return (node.combines?.length ?? 0) > 0 && node.onCombination !== true;
}

/**
 * Kept nodes whose own change is not in the head's code: kept, off the head's lineage, not
 * combined into a node of that lineage already, and not a pure combination (it has no change of
 * its own: its parts are offered themselves). A node's own change is what it changed on top of
 * its parent with the changes it combines applied (see tree-moves.ts ownChangeBase).
 */
export function offLineageKept<T extends Node>(history: readonly T[], head: T, direction: Direction = "min"): T[] {
  const inHead = new Set<number>();
  for (const n of lineageOf(history, head)) {
    inHead.add(n.id);
    for (const c of n.combines ?? []) inHead.add(c);
  }
  const means = measuredMeans(history);
  return history.filter((n) => n.status === "keep" && n.id > 0 && !inHead.has(n.id) && !isPureCombination(n) && (ownGain(history, n, direction, means) ?? 1) > 0);
}

/**
 * What a node's own change gained, by the measurements: its metric against the code its own
 * change was made on. That is its parent, or, for a node made on a combination (`onCombination`),
 * that combination when it was measured (a pure combination of the same nodes on the same
 * parent): such a node is kept when the combination and its change together beat the parent,
 * which says nothing of its own change until it is compared with the combination alone. Positive
 * is better; null when a metric is missing.
 */
export function ownGain(history: readonly Node[], node: Node, direction: Direction, means: Map<string, number> = measuredMeans(history)): number | null {
  const metricOf = (n: Node) => means.get(n.commit) ?? n.metric;
  const same = (a: readonly number[] = [], b: readonly number[] = []) => a.length === b.length && a.every((id, i) => b[i] === id);
  const base = node.onCombination
    ? (history.find((n) => n.parent === node.parent && isPureCombination(n) && same(n.combines, node.combines) && n.metric !== null) ?? nodeAt(history, node.parent))
    : nodeAt(history, node.parent);
  const own = metricOf(node);
  const before = base ? metricOf(base) : null;
  if (own === null || before === null) return null;
  return direction === "min" ? before - own : own - before;
}

/** How many times each kept node's change was combined alone into a head (a pure combination of it alone), and on which parents. */
export function combinationTries(entries: readonly { parent: string; combines?: number[]; onCombination?: boolean }[]): Map<number, string[]> {
  const tries = new Map<number, string[]>();
  for (const e of entries) {
    if ((e.combines ?? []).length !== 1 || !isPureCombination(e)) continue;
    for (const c of e.combines ?? []) tries.set(c, [...(tries.get(c) ?? []), e.parent]);
  }
  return tries;
}

/**
 * Kept nodes whose change, combined alone onto a head, was decided without a keep: it lost on the
 * code the head had then, and every later head holds what beat it, so it is not offered again
 * (a change measured on another node that interacts with the head's, like a smaller batch made
 * at the learning rate the head has since doubled, would otherwise be tried on head after head).
 * A change whose combination won and was overtaken by a sibling is offered on the new head.
 */
export function retiredCombinations(history: readonly Node[]): Set<number> {
  const retired = new Set<number>();
  for (const e of history) if (isPureCombination(e) && e.combines?.length === 1 && e.status !== "keep") retired.add(e.combines[0] as number);
  return retired;
}

/**
 * What to combine into `head` next. `stack`: every winner off the head's lineage not stacked on
 * this head yet, best gain first, to be applied one after another as ONE node (with many workers
 * a wave brings several winners at once; one node per winner would add one change to the head
 * per wave). Empty unless there are at least two. `singles`: winners to try alone on the head,
 * oldest first: those whose stack on this head was decided without a keep (one part may be what
 * spoils the rest), and any lone winner. A winner in a combination in flight on the head waits;
 * one tried alone on this head, or tried alone on any head without a keep (retiredCombinations), is
 * not offered again.
 */
export function combinationPlan<T extends Node>(
  history: readonly T[],
  head: T,
  inFlight: readonly { parent: string; combines?: number[]; onCombination?: boolean }[] = [],
  direction: Direction = "min",
): { stack: T[]; singles: T[] } {
  const tries = combinationTries([...history, ...inFlight]);
  const busy = new Set(inFlight.filter((e) => e.parent === head.commit && isPureCombination(e)).flatMap((e) => e.combines ?? []));
  const stacked = new Set(history.filter((e) => e.parent === head.commit && isPureCombination(e) && (e.combines ?? []).length > 1).flatMap((e) => e.combines ?? []));
  const retired = retiredCombinations(history);
  const fresh = offLineageKept(history, head, direction).filter((n) => !busy.has(n.id) && !retired.has(n.id) && !(tries.get(n.id) ?? []).includes(head.commit));
  // The largest own gain first: when two changes collide, the better one goes in.
  const means = measuredMeans(history);
  const won = (n: T): number => ownGain(history, n, direction, means) ?? 0;
  const stack = fresh.filter((n) => !stacked.has(n.id)).sort((a, b) => won(b) - won(a) || a.id - b.id);
  if (stack.length >= 2) return { stack, singles: fresh.filter((n) => stacked.has(n.id)) };
  return { stack: [], singles: fresh };
}

/**
 * The kept nodes whose changes should be tried on `head` next (see combinationPlan): the stack's
 * parts, then the singles.
 */
export function combinationCandidates<T extends Node>(
  history: readonly T[],
  head: T,
  inFlight: readonly { parent: string; combines?: number[]; onCombination?: boolean }[] = [],
  direction: Direction = "min",
): T[] {
  const plan = combinationPlan(history, head, inFlight, direction);
  return [...plan.stack, ...plan.singles];
}

/** Children of `node` decided since its last kept child (or since it was decided), none of them kept: the head's stagnation. */
export function childrenSinceKeep<T extends Node>(history: readonly T[], node: Pick<Node, "id" | "commit">): number {
  let count = 0;
  for (const child of childrenOf(history, node)) count = child.status === "keep" ? 0 : count + 1;
  return count;
}
