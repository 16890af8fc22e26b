import { describe, expect, it } from "vitest";
import { combinationCandidates, combinationPlan, offLineageKept } from "../../src/ledger/tree.js";

type N = { id: number; commit: string; parent: string; status: "keep" | "discard"; metric: number; lines: number; combines?: number[] };
const sha = (id: number) => `c${id}`;
const node = (id: number, parent: number, status: N["status"], metric: number, combines?: number[]): N => ({ id, commit: sha(id), parent: sha(parent), status, metric, lines: 10, ...(combines && { combines }) });

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

  it("counts the changes a kept stack holds as the head's, its parts' own combinations included", () => {
    // #6 combined #3 into #1 (kept, off the lineage); #7 stacked #6 and #4 onto #2 and is the head:
    // #3's change is in the head through #6, so #1 is all that is left.
    const history = [...WAVE, node(6, 1, "keep", 1.45, [3]), node(7, 2, "keep", 1.3, [6, 4])];
    expect(offLineageKept(history, history.at(-1) as N).map((n) => n.id)).toEqual([1]);
  });
});
