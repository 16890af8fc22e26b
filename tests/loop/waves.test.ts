import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { parseConstants } from "../../src/proposers/builtin/constants.js";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import type { ExperimentRecord } from "../../src/types.js";
import { cpuPlatform } from "../helpers/platforms.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

// Six constants at 4; any of them moved away from 4 (either way) lowers the loss, so every move of
// a wave wins. Every run takes the same time (a wave started together ends together).
const TRAIN = `const A = 4;
const B = 4;
const C = 4;
const D = 4;
const E = 4;
const F = 4;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
const away = [A, B, C, D, E, F].reduce((sum, v) => sum + Math.abs(Math.log2(v / 4)), 0);
console.log("val_loss: " + (2 - 0.1 * away).toFixed(6));
`;

const records = (root: string): ExperimentRecord[] =>
  readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
const ms = (iso: string | undefined) => Date.parse(iso as string);
const values = (text: string) => new Map(parseConstants(text, "js").map((c) => [c.key, c.value]));

describe("waves of a builtin session with several workers", () => {
  it("the second wave knows the first: the winners combined onto the head, the other proposals made on that combination and decided against the head", async () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE });
    const config = testConfig({ workers: 4, devices: ["0", "1", "2", "3"], maxIterations: 8, proposer: "builtin", seed: 1 });
    await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, new BuiltinProposer({ seed: 1 })));
    const all = records(root);
    const [baseline, ...runs] = all;
    const first = runs.filter((r) => r.id <= 4);
    const second = runs.filter((r) => r.id > 4);
    // The first wave: four moves on the baseline, every one a winner.
    expect(first.map((r) => [r.parent, r.status])).toEqual(first.map(() => [baseline?.commit, "keep"]));
    // The second was proposed once the first was decided, all of it (the free workers waited for their wave).
    const decided = Math.max(...first.map((r) => ms(r.finishedAt)));
    for (const r of second) expect(ms(r.queuedAt)).toBeGreaterThanOrEqual(decided);
    // On the head (the best of the first wave): the other three winners combined as one node ...
    const stack = second.find((r) => (r.combines?.length ?? 0) > 1 && !r.onCombination);
    const head = first.find((r) => r.commit === stack?.parent);
    expect(head?.status).toBe("keep");
    expect(stack?.combines?.slice().sort()).toEqual(first.filter((r) => r !== head).map((r) => r.id).sort());
    // ... and the other proposals made on that combination's code: their parent is the head, they
    // were decided against it, and their code is the combination's plus their own change.
    const built = second.filter((r) => r.onCombination);
    expect(built.length).toBe(3);
    const stackText = git(root, "show", `${stack?.commit}:train.js`);
    for (const r of built) {
      expect(r.parent).toBe(head?.commit);
      expect(r.combines).toEqual(stack?.combines);
      expect(r.bestBefore).toBe(head?.metric);
      expect(r.description).toMatch(/^(#\d+ \+ )+[A-F] /);
      const own = values(git(root, "show", `${r.commit}:train.js`));
      const base = values(stackText);
      const changed = [...own].filter(([k, v]) => base.get(k) !== v).map(([k, v]) => `${k}=${v}`);
      expect(changed.sort()).toEqual((r.changes ?? []).map((c) => `${c.key}=${c.to}`).sort());
    }
    // Each is one move a single worker would make: in a wave of four, no slot goes to every
    // winning direction at once (MOMENTUM_MIN_BATCH).
    expect(built.every((r) => r.changes?.length === 1)).toBe(true);
  });
});

// A and B at 4: moving either away from 4 lowers the loss (A twice as much); moving C or D raises it.
// A wave of four over the four constants: A and B win, A the most.
const ONE_WINNER = `const A = 4;
const B = 4;
const C = 4;
const D = 4;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
const away = (v) => Math.abs(Math.log2(v / 4));
console.log("val_loss: " + (2 - 0.1 * away(A) - 0.05 * away(B) + 0.1 * (away(C) + away(D))).toFixed(6));
`;

describe("a wave after one other winner", () => {
  it("the combination of that one change takes at most half the wave's new proposals: the rest build on the head", async () => {
    const root = createRepo({ "train.js": ONE_WINNER, "prepare.js": FAKE_PREPARE });
    const config = testConfig({ workers: 4, devices: ["0", "1", "2", "3"], maxIterations: 8, proposer: "builtin", seed: 1 });
    await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, new BuiltinProposer({ seed: 1 })));
    const [baseline, ...runs] = records(root);
    const first = runs.filter((r) => r.id <= 4);
    const second = runs.filter((r) => r.id > 4);
    expect(first.map((r) => r.parent)).toEqual(first.map(() => baseline?.commit));
    const won = first.filter((r) => r.status === "keep");
    expect(won.map((r) => r.changes?.[0]?.key).sort()).toEqual(["A", "B"]);
    const head = won.find((r) => r.changes?.[0]?.key === "A");
    const other = won.find((r) => r.changes?.[0]?.key === "B");
    expect(second).toHaveLength(4);
    // B's change alone onto the head ...
    const combination = second.filter((r) => r.combines?.length && !r.onCombination);
    expect(combination.map((r) => [r.parent, r.combines])).toEqual([[head?.commit, [other?.id]]]);
    // ... two proposals made on it, and the third on the head itself (no combination in its code).
    const onIt = second.filter((r) => r.onCombination);
    expect(onIt.map((r) => [r.parent, r.combines])).toEqual([
      [head?.commit, [other?.id]],
      [head?.commit, [other?.id]],
    ]);
    const onHead = second.filter((r) => !r.combines?.length);
    expect(onHead).toHaveLength(1);
    expect(onHead[0]?.parent).toBe(head?.commit);
    const headB = values(git(root, "show", `${head?.commit}:train.js`)).get("B");
    expect(values(git(root, "show", `${onHead[0]?.commit}:train.js`)).get("B")).toBe(headB);
  });
});
