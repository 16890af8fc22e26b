import { describe, expect, it } from "vitest";
import { parseConstants } from "../../src/proposers/builtin/constants.js";
import { analyzeHistory, configKey, type State } from "../../src/proposers/builtin/history.js";
import { rankCandidates } from "../../src/proposers/builtin/strategy.js";
import type { ConstantChange, ExperimentRecord, Status } from "../../src/types.js";

const sha = (id: number) => `c${id}`.padEnd(40, "0");

function node(id: number, parent: number, status: Status, changes: ConstantChange[]): ExperimentRecord {
  return {
    id,
    commit: sha(id),
    parent: sha(parent),
    trainHash: `h${id}`,
    lines: 10,
    description: id === 0 ? "Baseline — no modifications" : changes.map((c) => `${c.key} ${c.fromText} -> ${c.toText} (${c.tag})`).join(" + "),
    category: id === 0 ? "baseline" : "hyperparameters",
    status,
    reason: status === "keep" ? "improved" : "regression",
    metric: 1,
    memGb: null,
    params: null,
    bestBefore: null,
    startedAt: "2024-01-01T00:00:00Z",
    finishedAt: "2024-01-01T00:00:01Z",
    durationSec: 1,
    proposer: "builtin",
    ...(id > 0 && { changes }),
  };
}

const change = (key: string, from: number, to: number, tag: string): ConstantChange => ({ key, from, to, fromText: String(from), toText: String(to), tag });
const state = (lr: number, wd: number): State => new Map([["LR", lr], ["WD", wd]]);

// The root is LR 0.01, WD 0.1. #1 (LR x2) and #2 (WD x2) both beat the root; #3 tried LR x2 again on
// #1; #4 tried LR x0.5 on #2, off #1's lineage. The script now is #1's: LR 0.02, WD 0.1.
const HISTORY = [
  node(0, 0, "keep", []),
  node(1, 0, "keep", [change("LR", 0.01, 0.02, "x2")]),
  node(2, 0, "keep", [change("WD", 0.1, 0.2, "x2")]),
  node(3, 1, "discard", [change("LR", 0.02, 0.04, "x2")]),
  node(4, 2, "discard", [change("LR", 0.01, 0.005, "x0.5")]),
];

describe("the builtin search's reading of a research tree", () => {
  it("rebuilds every node's configuration from its parent, not from the order of decisions", () => {
    const analysis = analyzeHistory(HISTORY, state(0.02, 0.1), sha(1));
    const tried = [...analysis.tried].sort();
    expect(tried).toEqual([state(0.01, 0.1), state(0.02, 0.1), state(0.01, 0.2), state(0.04, 0.1), state(0.005, 0.2)].map(configKey).sort());
    // #2's sibling win was made on the root, so LR 0.02 with WD 0.2 is still untried on #1.
    expect(analysis.tried.has(configKey(state(0.02, 0.2)))).toBe(false);
    const before = new Map(analysis.events.map((e) => [e.record.id, configKey(e.before)]));
    expect(before.get(2)).toBe(configKey(state(0.01, 0.1)));
    expect(before.get(3)).toBe(configKey(state(0.02, 0.1)));
  });

  it("takes its campaign from the experiments built on the node's lineage only", () => {
    const analysis = analyzeHistory(HISTORY, state(0.02, 0.1), sha(1));
    expect(analysis.events.map((e) => e.record.id)).toEqual([1, 2, 3]);
  });

  it("reads a single chain as before when the node is not given", () => {
    // The chain reading undoes every keep from the script in turn: it takes #2's change as part of the script's past.
    const chain = analyzeHistory(HISTORY, state(0.02, 0.1));
    expect(chain.events.map((e) => e.record.id)).toEqual([1, 2, 3, 4]);
    expect(chain.tried.has(configKey(state(0.01, 0.2)))).toBe(false);
  });

  it("keeps going after the win that made the node, whatever was decided after it", () => {
    // #1 (LR x2) made the node; its child #5 (WD x2) lost last (#3 left out: LR x2 again untried). A chain reading would try WD's
    // other side first; the tree continues the node's own step: LR x2 again.
    const history = [...HISTORY.slice(0, 3), node(5, 1, "discard", [change("WD", 0.1, 0.2, "x2")])];
    const constants = parseConstants("LR = 0.02\nWD = 0.1\n", "python");
    const rank = (at?: string) => rankCandidates({ constants, current: state(0.02, 0.1), analysis: analyzeHistory(history, state(0.02, 0.1), at), failureStreak: 1, seed: 1, excluded: new Set() });
    const first = rank(sha(1))[0];
    expect([first?.move.constant.key, first?.move.value, first?.reason]).toEqual(["LR", 0.04, "continue"]);
    // Without the tree (the last decision leads), WD's other side comes first.
    expect(rank()[0]?.move.constant.key).toBe("WD");
  });

  it("with several workers, puts every coarse step before finer steps around a winner", () => {
    // #3 (LR x2 again) lost on #1: alone the search refines LR next; in parallel WD's coarse steps come first.
    const constants = parseConstants("LR = 0.02\nWD = 0.1\n", "python");
    const history = HISTORY.slice(0, 2).concat([node(3, 1, "discard", [change("LR", 0.02, 0.04, "x2")])]);
    const rank = (parallel: boolean) => rankCandidates({ constants, current: state(0.02, 0.1), analysis: analyzeHistory(history, state(0.02, 0.1), sha(1)), failureStreak: 1, seed: 1, excluded: new Set(), parallel });
    expect(rank(false)[0]?.reason).toBe("refine");
    const parallel = rank(true);
    expect(parallel[0]?.move.constant.key).toBe("WD");
    expect(parallel[0]?.move.level).toBe(1);
    expect(parallel.findIndex((c) => c.reason === "refine")).toBeGreaterThan(parallel.findIndex((c) => c.move.constant.key === "WD" && c.move.level === 1));
  });
});
