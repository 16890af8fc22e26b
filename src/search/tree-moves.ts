/**
 * What the scheduler builds next in the research tree (src/ledger/tree.ts reads the tree):
 *
 * - **Combinations first.** Kept nodes off the head's lineage (siblings that also beat the
 *   parent, or a branch the head has overtaken) hold changes the head does not have: each one's
 *   own change (what it changed on top of its parent with the changes it combines applied, see
 *   ownChangeBase). When there are two or more, their own changes are applied onto the head one
 *   after another, the largest win first, and run as ONE new node whose parent is the head and
 *   whose `combines` names them all (a part that does not apply on what is stacked so far is left
 *   out; one already in it adds nothing and is left out too). With many workers a wave brings
 *   several winners at once: one node per winner would add one change to the head per wave. If
 *   the stack is decided without a keep, its parts are tried one at a time on that head (one part
 *   may spoil the rest). A change is tried alone on a given head once; once such a try is
 *   decided without a keep it is not offered again (retiredCombinations: it lost on the head of
 *   the time, which later heads build on); one that no longer applies is dropped with its
 *   reason. Combinations need no proposer call, so they go ahead of new proposals: they are the
 *   cheapest runs most likely to move the head.
 * - **Proposals on the combination in flight.** While a combination onto the head runs, new
 *   proposals are made on its code (the head with the combined changes) rather than on the head
 *   alone: with many workers the next wave then explores beyond the combination instead of
 *   re-finding what it holds. Each such node's parent is still the head, the measured node it is
 *   decided against; its record `combines` the same nodes and says `onCombination`.
 * - **New proposals on the head**, until it stagnates: after K children of the head in a row
 *   without a keep (K = `stagnation`, default 2 x workers, at least 2), proposals are made on
 *   other strong nodes in turn with the head itself: kept nodes within the noise floor of the
 *   head (its ancestors included), and the best kept node of every other branch, best first. The rotation is by a counter, so the choice is
 *   deterministic for a given history. A node there that beats the head becomes the head.
 */
import { childrenSinceKeep, combinationPlan, headOf, isPureCombination, lineageOf } from "../ledger/tree.js";
import { gain, noiseOfRecords } from "../metric/index.js";
import type { ExperimentRecord, Proposal } from "../types.js";
import { sha256 } from "./guards.js";
import { rebaseChange } from "./rebase.js";
import { type SessionState, trainTextAt } from "./session.js";
import type { Git } from "../workspace/git.js";

/** A combination ready to run, or a candidate dropped (its change no longer applies on the head). */
export type Combination =
  | { kind: "run"; proposal: Proposal; newText: string; base: string; combines: number[] }
  | { kind: "dropped"; node: ExperimentRecord; reason: string };

/** Stacked texts per session, by parent commit and parts (pure text work, the same every time). */
const stacks = new WeakMap<SessionState, Map<string, Promise<string>>>();

/**
 * The code a node's own change was made on: its parent's training script with the own changes of
 * the nodes it `combines` applied one after another (its parent's script when it combines none).
 * The same function builds a combination's code, so this replays exactly what the node ran on.
 */
export function ownChangeBase(session: SessionState, git: Git, node: Pick<ExperimentRecord, "parent" | "combines">): Promise<string> {
  return stackText(session, git, node.parent, node.combines ?? []);
}

/** `parent`'s training script with the own changes of `parts` applied in order (a part that does not apply, or adds nothing, is passed over). */
export function stackText(session: SessionState, git: Git, parent: string, parts: readonly number[]): Promise<string> {
  const cache = stacks.get(session) ?? new Map<string, Promise<string>>();
  stacks.set(session, cache);
  const key = `${parent}:${parts.join(",")}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = (async () => {
      let at = await trainTextAt(session, git, parent);
      for (const id of parts) {
        const part = session.history.find((e) => e.id === id);
        if (!part) continue;
        const moved = await ownChangeOnto(session, git, part, at);
        if (moved.ok) at = moved.text;
      }
      return at;
    })();
    cache.set(key, text);
    text.catch(() => cache.delete(key));
  }
  return text;
}

/** `node`'s own change applied onto `onto` (see ownChangeBase). */
async function ownChangeOnto(session: SessionState, git: Git, node: ExperimentRecord, onto: string): Promise<ReturnType<typeof rebaseChange>> {
  const [from, to] = await Promise.all([ownChangeBase(session, git, node), trainTextAt(session, git, node.commit)]);
  return rebaseChange(from, to, onto, {});
}

/** The next combination to try on the head, or null when there is none. */
export async function nextCombination(
  session: SessionState,
  git: Git,
  inFlight: readonly { base: string; newText: string; combines?: number[]; onCombination?: boolean }[],
  dropped: Set<string>,
): Promise<Combination | null> {
  const { direction } = session.info.config;
  const head = headOf(session.history, direction);
  const plan = combinationPlan(
    session.history,
    head,
    inFlight.map((i) => ({ parent: i.base, ...(i.combines && { combines: i.combines }), ...(i.onCombination && { onCombination: true }) })),
    direction,
  );
  const tried = new Set([...session.history.map((e) => e.trainHash), ...inFlight.map((i) => sha256(i.newText))]);
  const onto = await trainTextAt(session, git, head.commit);
  const stack = plan.stack.filter((n) => !dropped.has(`${n.id}@${head.commit}`));
  if (stack.length >= 2) {
    // Every winner's own change applied onto the head one after another; one that does not apply
    // on what is stacked so far is left out of this node (offered alone if the stack does not
    // win); one whose change is in it already (another part made the same change) is a part too.
    let text = onto;
    const parts: ExperimentRecord[] = [];
    const adding = new Set<number>();
    for (const node of stack) {
      const moved = await ownChangeOnto(session, git, node, text);
      if (!moved.ok) continue;
      if (moved.text !== text) adding.add(node.id);
      text = moved.text;
      parts.push(node);
    }
    if (parts.length >= 2 && adding.size > 0 && !tried.has(sha256(text))) {
      // What stackText replays for these parts: the same code, by construction.
      return { kind: "run", ...combinationRun(session, head, parts, adding), newText: await stackText(session, git, head.commit, parts.map((n) => n.id)) };
    }
  }
  for (const node of [...plan.singles, ...stack]) {
    const key = `${node.id}@${head.commit}`;
    if (dropped.has(key)) continue;
    dropped.add(key);
    const moved = await ownChangeOnto(session, git, node, onto);
    if (!moved.ok) return { kind: "dropped", node, reason: `#${node.id}'s change does not apply on the best #${head.id}: ${moved.reason}` };
    if (moved.text === onto) return { kind: "dropped", node, reason: `#${node.id}'s change is in the best #${head.id} already` };
    if (tried.has(sha256(moved.text))) return { kind: "dropped", node, reason: `#${node.id}'s change on the best #${head.id} is a training script already run` };
    dropped.delete(key);
    return { kind: "run", ...combinationRun(session, head, [node]), newText: moved.text };
  }
  return null;
}

/**
 * The proposal and record fields of a combination of `parts` (applied in that order) onto `head`.
 * Its description and rationale name the parts that changed something (`adding`, all by default);
 * the others had their change there already and are parts all the same.
 */
function combinationRun(session: SessionState, head: ExperimentRecord, parts: ExperimentRecord[], adding?: ReadonlySet<number>): { proposal: Proposal; base: string; combines: number[] } {
  const named = parts.filter((n) => !adding || adding.has(n.id));
  const wins = named.map((node) => {
    const parent = session.history.find((e) => e.commit === node.parent);
    return parent && node.metric !== null && parent.metric !== null ? `#${node.id} beat its parent #${parent.id} by ${Math.abs(node.metric - parent.metric).toPrecision(3)}` : `#${node.id} was kept`;
  });
  const ids = named.map((n) => `#${n.id}`).join(", ");
  const first = named[0] as ExperimentRecord;
  return {
    proposal: {
      // A part made on a combination is named by its own change (the combined ones are in its own record).
      description: `combine ${ids} into #${head.id}: ${named.map((n) => n.description.replace(/^combine [#\d, ]+ into #\d+: /, "").replace(/^(?:#\d+ \+ )+/, "")).join("; ")}`,
      category: first.category === "baseline" ? "other" : first.category,
      rationale:
        named.length === 1
          ? `#${first.id} was kept off the best's lineage (${wins[0]}); its change applied onto the best #${head.id}.`
          : `${named.length} nodes were kept off the best's lineage (${wins.join("; ")}); their changes applied one after another onto the best #${head.id} as one experiment.`,
      // No change of its own: what it holds is its parts' (their records say what each changed).
      changes: [],
    },
    base: head.commit,
    combines: parts.map((n) => n.id),
  };
}

/**
 * The combination a new proposal may build on: a pure combination onto the head that is waiting
 * or running (the one combining the most nodes), with its code. Null when there is none.
 */
export async function combinationInFlight(
  session: SessionState,
  git: Git,
  inFlight: readonly { key: number; base: string; combines?: number[]; onCombination?: boolean }[],
): Promise<{ key: number; combines: number[]; text: string } | null> {
  const head = headOf(session.history, session.info.config.direction);
  const pure = inFlight.filter((i) => i.base === head.commit && isPureCombination(i));
  // The one holding the most changes (then the latest): with several winners, the stack of them all.
  const chosen = pure.sort((a, b) => (b.combines?.length ?? 0) - (a.combines?.length ?? 0) || b.key - a.key)[0];
  if (!chosen?.combines) return null;
  return { key: chosen.key, combines: chosen.combines, text: await stackText(session, git, head.commit, chosen.combines) };
}

/** K: children of the head in a row without a keep before proposals may build elsewhere. */
export function stagnationLimit(session: SessionState): number {
  return session.info.config.stagnation ?? Math.max(2, 2 * session.workers.length);
}

/** With several workers and the head stagnating, one request in this many builds elsewhere (see proposalBase). */
export const AWAY_EVERY = 4;

/**
 * The node a new proposal builds on: the head, or (the head stagnating) the next strong node in
 * rotation. `turn` counts the requests made while the head stagnates. With one worker the
 * rotation goes over the other strong nodes and then the head; with several, one request in
 * AWAY_EVERY goes elsewhere, and it asks for one proposal (see Scheduler.propose), the other
 * requests (a wave's batch) stay on the head: a wave of moves on a node that only trails the head
 * costs the head a whole wave, and with two workers even one proposal of each wave is half of it.
 */
export function proposalBase(session: SessionState, turn: number): { node: ExperimentRecord; why: string | null; rotating: boolean } {
  const { direction } = session.info.config;
  const head = headOf(session.history, direction);
  const limit = stagnationLimit(session);
  const stalled = childrenSinceKeep(session.history, head);
  if (session.info.config.search === "chain" || stalled < limit) return { node: head, why: null, rotating: false };
  const others = strongNodes(session.history, head, direction).filter((n) => childrenSinceKeep(session.history, n) < limit);
  // Every few proposals go back to the head, so it keeps being tried too.
  const several = session.workers.length > 1;
  const pick = several ? (turn % AWAY_EVERY === 0 ? (turn / AWAY_EVERY) % Math.max(1, others.length) : -1) : turn % (others.length + 1);
  const node = others[pick];
  // The head's own turn in the rotation still counts as a turn, so the rotation moves on past it.
  if (!node) return { node: head, why: null, rotating: others.length > 0 };
  return { node, why: `the best #${head.id} has had ${stalled} children in a row without a keep, so this builds on #${node.id}, another strong node`, rotating: true };
}

/**
 * Nodes worth building on besides the head, best first: kept nodes within the noise floor of the
 * head (the same result, as far as the runs can tell), and the best kept node of each other branch
 * (a kept child of a node on the head's lineage that is not on it, and its kept descendants).
 */
function strongNodes(history: readonly ExperimentRecord[], head: ExperimentRecord, direction: "min" | "max"): ExperimentRecord[] {
  const kept = history.filter((n) => n.status === "keep" && n.metric !== null && n.id !== head.id);
  const onPath = new Set(lineageOf(history, head).map((n) => n.commit));
  const noise = noiseOfRecords([...history])?.sd ?? 0;
  // Within the noise floor of the head, on its lineage or not: as good as the head, as far as the runs can tell.
  const near = kept.filter((n) => Math.abs(gain(n.metric, head.metric, direction) ?? Number.POSITIVE_INFINITY) <= noise);
  // The best of each branch leaving the head's lineage.
  const branchRoot = (n: ExperimentRecord) => lineageOf(history, n).find((a) => !onPath.has(a.commit));
  const bestOfBranch = new Map<string, ExperimentRecord>();
  for (const n of kept) {
    const root = branchRoot(n);
    if (!root) continue;
    const current = bestOfBranch.get(root.commit);
    if (!current || (gain(n.metric, current.metric, direction) ?? 0) > 0) bestOfBranch.set(root.commit, n);
  }
  const chosen = new Map<number, ExperimentRecord>();
  for (const n of [...near, ...bestOfBranch.values()]) chosen.set(n.id, n);
  return [...chosen.values()].sort((a, b) => (gain(a.metric, b.metric, direction) ?? 0) > 0 ? -1 : (gain(b.metric, a.metric, direction) ?? 0) > 0 ? 1 : a.id - b.id);
}
