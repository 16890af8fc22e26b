import { describe, expect, it } from "vitest";
import { applyEdits, parseConstants } from "../../src/proposers/builtin/constants.js";
import { analyzeHistory, configKey, type State } from "../../src/proposers/builtin/history.js";
import { BuiltinProposer, MOMENTUM_MIN_BATCH } from "../../src/proposers/builtin/index.js";
import { rankCandidates } from "../../src/proposers/builtin/strategy.js";
import type { ConstantChange, ExperimentRecord, Status } from "../../src/types.js";
import { builtinRecord } from "../helpers/builtin-record.js";
import { makeContext } from "../helpers/fake-providers.js";

const sha = (id: number) => `c${id}`.padEnd(40, "0");

function node(id: number, parent: number, status: Status, changes: ConstantChange[]): ExperimentRecord {
  return builtinRecord({
    id,
    commit: sha(id),
    parent: sha(parent),
    description: id === 0 ? "Baseline — no modifications" : changes.map((c) => `${c.key} ${c.fromText} -> ${c.toText} (${c.tag})`).join(" + "),
    category: id === 0 ? "baseline" : "hyperparameters",
    status,
    reason: status === "keep" ? "improved" : "regression",
    metric: 1,
    ...(id > 0 && { changes }),
  });
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

  it("on a combination in flight: the root is the script with the combined changes undone too, and every change that made the code is continued", () => {
    // #1 (LR x2, the head) and #2 (WD x2) beat the root; their combination runs. The script is the head with #2's change: LR 0.02, WD 0.2.
    const history = HISTORY.slice(0, 3);
    const analysis = analyzeHistory(history, state(0.02, 0.2), sha(1), [2]);
    expect(analysis.tried.has(configKey(state(0.01, 0.1)))).toBe(true);
    expect(analysis.tried.has(configKey(state(0.01, 0.2)))).toBe(true);
    expect(analysis.own?.changes.map((c) => `${c.key} ${c.from} -> ${c.to}`)).toEqual(["LR 0.01 -> 0.02", "WD 0.1 -> 0.2"]);
    const constants = parseConstants("LR = 0.02\nWD = 0.2\n", "python");
    const ranked = rankCandidates({ constants, current: state(0.02, 0.2), analysis, failureStreak: 0, seed: 1, excluded: new Set(), parallel: true });
    expect(ranked.slice(0, 2).map((c) => `${c.move.constant.key}=${c.move.value} ${c.reason}`)).toEqual(["LR=0.04 continue", "WD=0.4 continue"]);
  });

  it("a node made on a combination is read against the combination: beating its parent but not the combination, its own move lost", () => {
    // #5 is the combination of #2 onto #1 (0.8); #6 was made on it (LR x2 again) and measured 0.85: better than #1 (0.9), worse than #5.
    const metric = (r: ExperimentRecord, m: number) => ({ ...r, metric: m });
    const history = [
      metric(HISTORY[0] as ExperimentRecord, 1),
      metric(HISTORY[1] as ExperimentRecord, 0.9),
      metric(HISTORY[2] as ExperimentRecord, 0.95),
      { ...metric(node(5, 1, "keep", []), 0.8), combines: [2] },
      { ...metric(node(6, 1, "keep", [change("LR", 0.02, 0.04, "x2")]), 0.85), combines: [2], onCombination: true },
    ];
    const analysis = analyzeHistory(history, state(0.02, 0.2), sha(5));
    const six = analysis.events.find((e) => e.record.id === 6);
    expect(six?.status).toBe("discard");
    expect(six?.metricDelta).toBeCloseTo(0.05);
    // Its configuration is its parent's with the combined change and its own: LR 0.04, WD 0.2.
    expect([...(six?.before ?? new Map())]).toEqual([["LR", 0.02], ["WD", 0.2]]);
    expect(analysis.tried.has(configKey(state(0.04, 0.2)))).toBe(true);
  });

  it("with several workers, a loss far from here may be tried again, a constant that never changed the metric waits", () => {
    // At the root LR x2 won (#1); DEPTH +1 lost there, and WD x2 changed nothing (the metric exactly the root's).
    const keys = ["LR", "DEPTH", "WD", "A", "B"];
    const at = (values: Partial<Record<string, number>>) => new Map(keys.map((k) => [k, values[k] ?? { LR: 0.01, DEPTH: 2, WD: 0.1, A: 1, B: 1 }[k] ?? 0]));
    const withMetric = (r: ExperimentRecord, m: number) => ({ ...r, metric: m });
    const root = withMetric(node(0, 0, "keep", []), 1);
    const history = [
      root,
      withMetric(node(1, 0, "keep", [change("LR", 0.01, 0.02, "x2")]), 0.9),
      withMetric(node(2, 0, "discard", [change("DEPTH", 2, 3, "+1")]), 1.1),
      withMetric(node(3, 0, "discard", [change("WD", 0.1, 0.2, "x2")]), 1),
      withMetric(node(4, 1, "keep", [change("A", 1, 2, "x2")]), 0.8),
      withMetric(node(5, 4, "keep", [change("B", 1, 2, "x2")]), 0.7),
    ];
    const constants = parseConstants("LR = 0.02\nDEPTH = 2\nWD = 0.1\nA = 2\nB = 2\n", "python");
    const current = at({ LR: 0.02, A: 2, B: 2 });
    const ranked = rankCandidates({ constants, current, analysis: analyzeHistory(history, current, sha(5)), failureStreak: 0, seed: 1, excluded: new Set(), parallel: true });
    const doubtful = (key: string, value: number) => ranked.find((c) => c.move.constant.key === key && c.move.value === value)?.doubtful;
    // DEPTH 3 lost where three other constants were different: worth a try again. WD's moves changed nothing: doubtful.
    expect(doubtful("DEPTH", 3)).toBe(false);
    expect(doubtful("WD", 0.05)).toBe(true);
    // Going back on a win stays doubtful however far away it was found.
    expect(doubtful("LR", 0.01)).toBe(true);
    // Alone (one worker) a loss counts wherever it was measured.
    const alone = rankCandidates({ constants, current, analysis: analyzeHistory(history, current, sha(5)), failureStreak: 0, seed: 1, excluded: new Set() });
    expect(alone.find((c) => c.move.constant.key === "DEPTH" && c.move.value === 3)?.doubtful).toBe(true);
  });

  it("a wide batch (MOMENTUM_MIN_BATCH or more) also takes every winning direction one step further at once, as one proposal", async () => {
    const text = "LR = 0.02\nWD = 0.2\nDEPTH = 2\n";
    const withMetric = (r: ExperimentRecord, m: number) => ({ ...r, metric: m });
    const history = [
      withMetric(node(0, 0, "keep", []), 1),
      withMetric(node(1, 0, "keep", [change("LR", 0.01, 0.02, "x2")]), 0.9),
      withMetric(node(2, 0, "keep", [change("WD", 0.1, 0.2, "x2")]), 0.95),
    ];
    const ctx = makeContext({ trainPath: "train.py", trainText: text, history, best: history[1] as ExperimentRecord, baseline: history[0] as ExperimentRecord, combining: { ids: [2], combination: 3 }, workers: 4 });
    const batch = await new BuiltinProposer({ seed: 1 }).proposeMany(ctx, MOMENTUM_MIN_BATCH);
    expect(batch).toHaveLength(MOMENTUM_MIN_BATCH);
    const together = batch.find((p) => (p.changes?.length ?? 0) > 1);
    expect(together?.changes?.map((c) => `${c.key} ${c.from} -> ${c.to}`)).toEqual(["LR 0.02 -> 0.04", "WD 0.2 -> 0.4"]);
    expect(applyEdits(text, together?.edits ?? [])).toBe("LR = 0.04\nWD = 0.4\nDEPTH = 2\n");
    // Never in a narrower wave: there it would take the place of a move a single worker makes next.
    const narrow = await new BuiltinProposer({ seed: 1 }).proposeMany(ctx, MOMENTUM_MIN_BATCH - 1);
    expect(narrow).toHaveLength(MOMENTUM_MIN_BATCH - 1);
    expect(narrow.every((p) => (p.changes?.length ?? 0) === 1)).toBe(true);
  });

  it("with several workers, the other side of every move that lost from the value its constant has now comes before untried constants", () => {
    // A wave on the root: A x2 and B x2 both lost; C was not tried. Alone, only the last one decided (B) gets its other side first.
    const history = [node(0, 0, "keep", []), node(1, 0, "discard", [change("A", 0.1, 0.2, "x2")]), node(2, 0, "discard", [change("B", 0.1, 0.2, "x2")])];
    const constants = parseConstants("A = 0.1\nB = 0.1\nC = 0.1\n", "python");
    const current = new Map([["A", 0.1], ["B", 0.1], ["C", 0.1]]);
    const rank = (parallel: boolean) =>
      rankCandidates({ constants, current, analysis: analyzeHistory(history, current, sha(0)), failureStreak: 0, seed: 1, excluded: new Set(), parallel }).map((c) => `${c.move.constant.key}=${c.move.value} ${c.reason}`);
    expect(rank(true).slice(0, 2).sort()).toEqual(["A=0.05 other-side", "B=0.05 other-side"]);
    expect(rank(false).filter((r) => r.endsWith("other-side"))).toEqual(["B=0.05 other-side"]);
  });

  it("with several workers, a step further that lost from the same value is not taken first again, however far from here it lost", () => {
    // #1 (LR x2) is the node. #4 (WD x2) and #6 (B x2) also beat the root; their combination #7 ran on #1, and #2, made on it,
    // took LR x2 again: it beat #1 but not #7, so its own step lost, where two other constants differed from here.
    const base = [
      node(0, 0, "keep", []),
      { ...node(1, 0, "keep", [change("LR", 0.01, 0.02, "x2")]), metric: 0.9 },
      { ...node(4, 0, "keep", [change("WD", 0.1, 0.2, "x2")]), metric: 0.95 },
      { ...node(6, 0, "keep", [change("B", 0.1, 0.2, "x2")]), metric: 0.95 },
      { ...node(7, 1, "keep", []), combines: [4, 6], metric: 0.8 },
    ];
    const lost = { ...node(2, 1, "keep", [change("LR", 0.02, 0.04, "x2")]), combines: [4, 6], onCombination: true, metric: 0.85 };
    const constants = parseConstants("LR = 0.02\nWD = 0.1\nB = 0.1\n", "python");
    const current = new Map([["LR", 0.02], ["WD", 0.1], ["B", 0.1]]);
    const further = (history: ExperimentRecord[]) =>
      rankCandidates({ constants, current, analysis: analyzeHistory(history, current, sha(1)), failureStreak: 0, seed: 1, excluded: new Set(), parallel: true }).find((c) => c.move.constant.key === "LR" && c.move.value === 0.04);
    expect([further(base)?.reason, further(base)?.doubtful]).toEqual(["continue", false]);
    expect([further([...base, lost])?.reason, further([...base, lost])?.doubtful]).toEqual(["continue", true]);
  });
});

