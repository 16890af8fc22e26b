/**
 * The kept changes of the best's lineage as texts, and the code finalize measures made from them:
 * the best with changes taken out (each change reverted on the best with the rebase machinery,
 * src/search/rebase.ts, in the reverse direction: from its own code back to its parent's), and
 * the base commit with changes put on it (the branches). Pure once the texts are read.
 */
import { delta } from "../../metric/index.js";
import type { FinalizeCompanions } from "../../ledger/finalize-records.js";
import { lineageOf } from "../../ledger/tree.js";
import { rebaseChange } from "../../search/rebase.js";
import type { ExperimentRecord } from "../../types.js";
import type { Git } from "../../workspace/git.js";

export interface LineageChange {
  id: number;
  commit: string;
  description: string;
  /** Its metric minus its parent's when it was kept (raw). */
  keptDelta: number | null;
  /** The training script before (its parent's) and after it. */
  parentText: string;
  text: string;
}

export interface ChangeSet {
  baseText: string;
  bestText: string;
  /** Oldest first: the order they were kept in on the way to the best. */
  changes: LineageChange[];
}

/** The head's lineage from the records and the training script at each node, read from git. */
export async function loadChanges(git: Git, history: readonly ExperimentRecord[], head: ExperimentRecord, train: string): Promise<ChangeSet> {
  const lineage = lineageOf(history, head);
  const texts: string[] = [];
  for (const node of lineage) texts.push((await git.showFile(node.commit, train)) ?? "");
  const changes: LineageChange[] = [];
  for (let i = 1; i < lineage.length; i++) {
    const node = lineage[i] as ExperimentRecord;
    changes.push({ id: node.id, commit: node.commit, description: node.description, keptDelta: delta(node.metric, node.bestBefore), parentText: texts[i - 1] as string, text: texts[i] as string });
  }
  return { baseText: texts[0] as string, bestText: texts.at(-1) as string, changes };
}

/** The best with the changes `removed` taken out, latest first; null when one of them no longer reverts. */
export function withoutChanges(set: ChangeSet, removed: readonly number[]): string | null {
  let text = set.bestText;
  for (const change of [...set.changes].reverse()) {
    if (!removed.includes(change.id)) continue;
    const reverted = rebaseChange(change.text, change.parentText, text, {});
    if (!reverted.ok) return null;
    text = reverted.text;
  }
  return text;
}

/** The base code with the changes `holds` put on it, oldest first; null when one does not apply. */
export function onBase(set: ChangeSet, holds: readonly number[]): string | null {
  let text = set.baseText;
  for (const change of set.changes) {
    if (!holds.includes(change.id)) continue;
    const applied = rebaseChange(change.parentText, change.text, text, {});
    if (!applied.ok) return null;
    text = applied.text;
  }
  return text;
}

/**
 * The smallest set of `pool` that `works` together with `required`: one of them alone first
 * (the nearest first), else all of them with each dropped again while the rest still works.
 * Null when not even all of them work.
 */
function smallestHelp(pool: readonly number[], works: (extra: number[]) => boolean): number[] | null {
  if (works([])) return [];
  for (const one of pool) if (works([one])) return [one];
  if (!works([...pool])) return null;
  let kept = [...pool];
  for (const id of [...pool].reverse()) {
    const without = kept.filter((k) => k !== id);
    if (works(without)) kept = without;
  }
  return kept;
}

/**
 * For each change that cannot be taken out of the best alone (a later kept change rewrote its
 * lines): the later changes it comes out with. Taking a change out together with every change
 * after it always works (that is its parent's code), so none is ever unremovable here.
 */
export function findCompanions(set: ChangeSet): { companions: FinalizeCompanions[]; unremovable: { change: number; reason: string }[] } {
  const companions: FinalizeCompanions[] = [];
  const unremovable: { change: number; reason: string }[] = [];
  set.changes.forEach((change, i) => {
    const later = set.changes.slice(i + 1).map((c) => c.id);
    const help = smallestHelp(later, (extra) => withoutChanges(set, [change.id, ...extra]) !== null);
    if (help === null) unremovable.push({ change: change.id, reason: "its revert does not apply even with every later change taken out" });
    else if (help.length > 0) {
      companions.push({ change: change.id, with: help, reason: `its lines were changed again by ${help.map((h) => `#${h}`).join(", ")}: taken out together` });
    }
  });
  return { companions, unremovable };
}

/** The earlier changes `change` cannot be put on the base commit without (its lines were written by them); null when it cannot be put there at all. */
export function baseDependencies(set: ChangeSet, change: number): number[] | null {
  const at = set.changes.findIndex((c) => c.id === change);
  if (at < 0) return null;
  const earlier = set.changes
    .slice(0, at)
    .map((c) => c.id)
    .reverse();
  return smallestHelp(earlier, (extra) => onBase(set, [change, ...extra]) !== null);
}
