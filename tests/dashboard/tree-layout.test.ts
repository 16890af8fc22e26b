import { describe, expect, it } from "vitest";
import { summarize } from "../../src/dashboard/model.js";
import { headSummary, layoutTree } from "../../src/dashboard/tree-layout.js";
import { buildRecords, REALISTIC_SPECS } from "../helpers/session-fixture.js";
import { treeRecords } from "../helpers/tree-fixture.js";

describe("the dashboard's tree layout", () => {
  it("a node's column is its depth, its row a depth-first walk with siblings in id order; the lineage and the head are marked", () => {
    const layout = layoutTree(treeRecords().map(summarize), "min");
    expect(layout.nodes.map((n) => [n.id, n.depth, n.row, n.parentId])).toEqual([
      [0, 0, 0, null],
      [1, 1, 1, 0],
      [5, 2, 2, 1],
      [2, 1, 3, 0],
      [3, 2, 4, 2],
      [4, 2, 5, 2],
      [6, 1, 6, 0],
    ]);
    expect(layout.headId).toBe(4);
    expect(layout.nodes.filter((n) => n.onLineage).map((n) => n.id)).toEqual([0, 2, 4]);
    expect(layout.nodes.find((n) => n.id === 4)?.combines).toEqual([1]);
    expect(layout.depth).toBe(2);
    expect(headSummary(treeRecords().map(summarize), "min")?.id).toBe(4);
    // Higher is better: the head is the kept node with the highest metric, here the baseline.
    expect(layoutTree(treeRecords().map(summarize), "max").headId).toBe(0);
  });

  it("a single chain of keeps (sessions before the tree) is one long lineage; a deep chain needs no recursion", () => {
    const chain = layoutTree(buildRecords(1.0023, REALISTIC_SPECS).map(summarize), "min");
    expect(chain.headId).toBe(14);
    expect(chain.nodes.filter((n) => n.onLineage).map((n) => n.id)).toEqual([0, 1, 3, 8, 12, 14]);
    const deep = buildRecords(1.0, Array.from({ length: 20_000 }, (_, i) => ({ description: `step ${i}`, metric: 1 - (i + 1) * 1e-6 })));
    const layout = layoutTree(deep.map(summarize), "min");
    expect(layout.depth).toBe(20_000);
    expect(layout.headId).toBe(20_000);
  });
});
