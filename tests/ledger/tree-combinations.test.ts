import { describe, expect, it } from "vitest";
import { combinationCandidates, combinationPlan, isPureCombination, offLineageKept, ownGain, retiredCombinations } from "../../src/ledger/tree.js";

type N = { id: number; commit: string; parent: string; status: "keep" | "discard"; metric: number; lines: number; combines?: number[]; onCombination?: boolean };
const sha = (id: number) => `c${id}`;
const node = (id: number, parent: number, status: N["status"], metric: number, combines?: number[]): N => ({ id, commit: sha(id), parent: sha(parent), status, metric, lines: 10, ...(combines && { combines }) });
/** A proposal made on the combination of `combines` onto `parent` while that combination ran. */
const onCombination = (id: number, parent: number, status: N["status"], metric: number, combines: number[]): N => ({ ...node(id, parent, status, metric, combines), onCombination: true });

// Four siblings beat the root in one wave: #2 is the head, #1, #3 and #4 are winners off its lineage.
const WAVE = [node(0, 0, "keep", 2), node(1, 0, "keep", 1.9), node(2, 0, "keep", 1.5), node(3, 0, "keep", 1.6), node(4, 0, "keep", 1.95), node(5, 0, "discard", 2.1)];

describe("combining the winners off the head's lineage", () => {
  it("stacks every winner onto the head as one node, the largest win first", () => {
    const plan = combinationPlan(WAVE, WAVE[2] as N);
    expect(plan.stack.map((n) => n.id)).toEqual([3, 1, 4]);
    expect(plan.singles).toEqual([]);
  });

  it("offers the parts one at a time once their stack lost on the head, and not while it is in flight", () => {
    const head = WAVE[2] as N;
    expect(combinationCandidates(WAVE, head, [{ parent: head.commit, combines: [3, 1, 4] }])).toEqual([]);
    const lost = [...WAVE, node(6, 2, "discard", 1.7, [3, 1, 4])];
    const plan = combinationPlan(lost, head);
    expect(plan.stack).toEqual([]);
    expect(plan.singles.map((n) => n.id)).toEqual([1, 3, 4]);
    // Tried alone on this head: not offered on it again.
    expect(combinationCandidates([...lost, node(7, 2, "discard", 1.6, [1])], head).map((n) => n.id)).toEqual([3, 4]);
  });

  it("counts the nodes a lineage node combines as in the head; a pure combination is never offered itself (its parts are)", () => {
    // #6 combined #3 into #1 (kept, off the lineage: #1 is not the head); #7 stacked #4 onto #2 and is the head.
    const history = [...WAVE, node(6, 1, "keep", 1.45, [3]), node(7, 2, "keep", 1.3, [4])];
    expect(offLineageKept(history, history.at(-1) as N).map((n) => n.id)).toEqual([1, 3]);
    expect(isPureCombination(history[6] as N)).toBe(true);
  });

  it("a node made on a combination is offered for its own change, and only when it beat that combination alone", () => {
    // #6 is the stack of #3, #1, #4 on the head #2 (1.4); #7 and #8 were made on it while it ran:
    // #7 (1.3) beat it, #8 (1.45) beat #2 but not the stack. #7 is the head: the stack's parts are in it.
    const history = [...WAVE, node(6, 2, "keep", 1.4, [3, 1, 4]), onCombination(7, 2, "keep", 1.3, [3, 1, 4]), onCombination(8, 2, "keep", 1.45, [3, 1, 4])];
    const head = history[7] as N;
    expect(ownGain(history, history[8] as N, "min")).toBeCloseTo(-0.05);
    expect(ownGain(history, head, "min")).toBeCloseTo(0.1);
    expect(offLineageKept(history, head).map((n) => n.id)).toEqual([]);
    // Had #8 beaten the stack, its own change would be the one left to combine into #7.
    const better = [...history.slice(0, 8), onCombination(8, 2, "keep", 1.35, [3, 1, 4])];
    expect(offLineageKept(better, head).map((n) => n.id)).toEqual([8]);
    // Made on a combination never measured (dropped, or still running): judged against its parent.
    expect(ownGain([...WAVE, onCombination(9, 2, "keep", 1.45, [3, 1])], onCombination(9, 2, "keep", 1.45, [3, 1]), "min")).toBeCloseTo(0.05);
  });

  it("a change whose try alone on a head lost is not offered on a later head; one whose try won and was overtaken is", () => {
    // #6 combined #1 alone into the head #2 and lost; #7 combined #3 alone into #2 and won (1.4), but
    // #8, a sibling made on #2 (1.3), beat it and is the head now.
    const history = [...WAVE, node(6, 2, "discard", 1.55, [1]), node(7, 2, "keep", 1.4, [3]), node(8, 2, "keep", 1.3)];
    const head = history.at(-1) as N;
    expect(retiredCombinations(history)).toEqual(new Set([1]));
    expect(combinationCandidates(history, head).map((n) => n.id)).toEqual([3, 4]);
    // #1 would be offered on the new head had its try not been decided yet (in flight then, not in the records).
    expect(combinationCandidates(history.filter((n) => n.id !== 6), head).map((n) => n.id)).toEqual([3, 1, 4]);
  });

  it("a combination of one node alone counts as a try of it; a proposal made on it does not", () => {
    const head = WAVE[2] as N;
    const tried = [...WAVE, node(6, 2, "discard", 1.6, [1]), onCombination(7, 2, "discard", 1.6, [3])];
    expect(combinationCandidates(tried, head).map((n) => n.id)).toEqual([3, 4]);
  });
});
