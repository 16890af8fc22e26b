import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Proposal } from "../../src/types.js";
import { cpuPlatform } from "../helpers/platforms.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

/** A trainer whose run time and metric come from its constants, and that prints where it ran. */
const TRAIN = `const SLOW = 0;
const GAIN = 0;
const OTHER = 0;
const A1 = 0;
const A2 = 0;
const A3 = 0;
const A4 = 0;
const A5 = 0;
const A6 = 0;
const A7 = 0;
const A8 = 0;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SLOW ? 1500 : 300);
console.log("where: worker=" + process.env.AUTORESEARCH_WORKER + " cuda=" + process.env.CUDA_VISIBLE_DEVICES + " hip=" + process.env.HIP_VISIBLE_DEVICES + " cwd=" + process.cwd());
const loss = 1 - 0.1 * GAIN - 0.05 * OTHER + 0.01 * (A1 + A2 + A3 + A4 + A5 + A6 + A7 + A8);
console.log("val_loss: " + loss.toFixed(6));
`;

const project = () => createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# workers\n" });
const step = (description: string, search: string, replace: string, planStep: number): Proposal => ({ description, category: "hyperparameters", edits: [{ search, replace }], planStep });
const records = (root: string): ExperimentRecord[] =>
  readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
const ms = (iso: string | undefined) => Date.parse(iso as string);

describe("several workers", () => {
  it("4 workers run 8 experiments side by side, each in its own clone on its own device", async () => {
    const root = project();
    // Regressions only: nothing is kept, so no candidate goes stale and every run is one experiment.
    const plan = new PlanProposer(Array.from({ length: 8 }, (_, i) => step(`A${i + 1} 0 -> 1`, `const A${i + 1} = 0;`, `const A${i + 1} = 1;`, i)));
    const events: SessionEvent[] = [];
    const config = testConfig({ workers: 4, devices: ["0", "1", "2", "3"] });
    const outcome = await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, plan, events));
    expect(outcome.reason).toMatch(/nothing more to propose/);
    const all = records(root);
    const experiments = all.filter((e) => e.id !== 0);
    expect(experiments.map((e) => e.id).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(experiments.every((e) => e.status === "discard" && e.reason === "regression")).toBe(true);
    // Real overlap: some run started before another had finished.
    const overlapping = experiments.filter((a) => experiments.some((b) => a !== b && ms(a.runStartedAt) < ms(b.finishedAt) && ms(b.runStartedAt) < ms(a.finishedAt)));
    expect(overlapping.length).toBeGreaterThanOrEqual(4);
    expect(new Set(experiments.map((e) => e.worker))).toEqual(new Set([0, 1, 2, 3]));
    for (const e of experiments) {
      expect(e.device).toBe(String(e.worker));
      const where = readFileSync(recordPath(root, `runs/${e.id}.log`), "utf8");
      expect(where).toContain(`where: worker=${e.worker} cuda=${e.worker} hip=${e.worker} cwd=`);
      expect(where).toMatch(new RegExp(`cwd=.*[/\\\\]w${e.worker}\\s`));
      expect(ms(e.queuedAt)).toBeLessThanOrEqual(ms(e.startedAt));
    }
    // One row per experiment, in decision order (the order of experiments.jsonl); the branch stayed at the baseline.
    const rows = readFileSync(join(root, "results.tsv"), "utf8").trim().split("\n").slice(1);
    expect(rows.map((r) => r.split("\t")[0])).toEqual(all.map((e) => e.commit.slice(0, 7)));
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(all[0]?.commit);
    const starts = events.filter((e) => e.type === "run-start");
    expect(starts.every((e) => e.type === "run-start" && e.worker !== undefined && e.device === String(e.worker))).toBe(true);
    expect(events.some((e) => e.type === "pipeline" && e.running === 4)).toBe(true);
    expect(JSON.parse(readFileSync(recordPath(root, "state.json"), "utf8"))).toEqual({ runs: [] });
  });

  it("lookahead: the next proposal is made while a run trains (one worker)", async () => {
    const root = project();
    const plan = new PlanProposer([step("A1", "const A1 = 0;", "const A1 = 1;", 0), step("A2", "const A2 = 0;", "const A2 = 1;", 1), step("A3", "const A3 = 0;", "const A3 = 1;", 2)]);
    const events: SessionEvent[] = [];
    await research(root, { kind: "new", config: testConfig({ lookahead: 1 }), platform: cpuPlatform() }, testDeps(root, plan, events));
    const order = events.map((e) => (e.type === "run-start" ? `start ${e.iteration}` : e.type === "proposal" ? `proposal ${e.iteration}` : e.type === "experiment" ? `done ${e.record.id}` : null)).filter(Boolean);
    // Proposal 2 is made while experiment 1 is in flight, before it was decided (serially it comes after).
    expect(order.indexOf("proposal 2")).toBeGreaterThan(order.indexOf("proposal 1"));
    expect(order.indexOf("proposal 2")).toBeLessThan(order.indexOf("done 1"));
    expect(order.indexOf("proposal 3")).toBeLessThan(order.indexOf("done 2"));
    expect(records(root).map((e) => e.id)).toEqual([0, 1, 2, 3]);
  });

  it("numbers: a proposal made ahead and refused when its turn comes takes no number; records, refs, logs and patches are 0..n-1", async () => {
    const root = project();
    // One worker, one proposal made ahead: B is made while A runs and changes A's line; A is kept,
    // so B no longer applies on the best when its turn comes and is refused. C is then experiment 2.
    const plan = new PlanProposer([
      step("A: GAIN 0 -> 1", "const GAIN = 0;", "const GAIN = 1;", 0),
      step("B: GAIN 0 -> 2", "const GAIN = 0;", "const GAIN = 2;", 1),
      step("C: OTHER 0 -> 1", "const OTHER = 0;", "const OTHER = 1;", 2),
    ]);
    const events: SessionEvent[] = [];
    await research(root, { kind: "new", config: testConfig({ lookahead: 1, search: "chain" }), platform: cpuPlatform() }, testDeps(root, plan, events));
    const all = records(root);
    expect(all.map((e) => [e.id, e.description.slice(0, 2)])).toEqual([
      [0, "Ba"],
      [1, "A:"],
      [2, "C:"],
    ]);
    const refused = readFileSync(recordPath(root, "rejected.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { description: string; reason: string });
    expect(refused.map((r) => r.description)).toEqual(["B: GAIN 0 -> 2"]);
    expect(refused[0]?.reason).toMatch(/no longer applies on the current best #1/);
    // Each number has its commit, log and diff; nothing is left under a key.
    for (const e of all.slice(1)) {
      expect(git(root, "rev-parse", `refs/autoresearch/t1/${e.id}`)).toBe(e.commit);
      expect(readFileSync(recordPath(root, `runs/${e.id}.log`), "utf8")).toMatch(/val_loss/);
      expect(readFileSync(recordPath(root, `patches/${e.id}.patch`), "utf8")).toContain(e.description.startsWith("A") ? "+const GAIN = 1;" : "+const OTHER = 1;");
    }
    expect(git(root, "for-each-ref", "--format=%(refname)", "refs/autoresearch/t1/")).not.toMatch(/pending/);
    // What the live view showed while each ran is the number its row has.
    const started = events.flatMap((e) => (e.type === "run-start" && e.iteration > 0 ? [[e.iteration, e.description.slice(0, 1)]] : []));
    expect(started).toEqual([
      [1, "A"],
      [2, "C"],
    ]);
  });

  it("chain: a stale candidate that beat its parent is re-run on the current best; the branch stays linear", async () => {
    const root = project();
    const base = git(root, "rev-parse", "HEAD");
    // A: slow and better; B: fast and better. Both start on the baseline; B is kept while A runs.
    const plan = new PlanProposer([
      step("A: slow gain", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 1;", 0),
      step("B: other gain", "const OTHER = 0;", "const OTHER = 1;", 1),
    ]);
    const outcome = await research(root, { kind: "new", config: testConfig({ workers: 2, devices: ["0", "1"], search: "chain" }), platform: cpuPlatform() }, testDeps(root, plan));
    expect(outcome.reason).toMatch(/nothing more to propose/);
    // Numbered as decided: B (first to finish) is #1, A #2, A's re-run #3.
    const [baseline, b, a, rerun] = records(root);
    expect([b?.id, b?.status, a?.id, a?.status, a?.reason, rerun?.id]).toEqual([1, "keep", 2, "discard", "rebased", 3]);
    expect(a?.detail).toMatch(/re-run on the current best/);
    expect(a?.parent).toBe(baseline?.commit);
    expect(rerun?.rebaseOf).toBe(2);
    expect(rerun?.parent).toBe(b?.commit);
    expect(rerun?.status).toBe("keep");
    expect(git(root, "show", `${rerun?.commit}:train.js`)).toMatch(/const SLOW = 1;\nconst GAIN = 1;\nconst OTHER = 1;/);
    // Linear: base -> B -> re-run of A; the head is the best.
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(rerun?.commit);
    expect(git(root, "rev-list", "--parents", "-n", "1", rerun?.commit as string).split(" ")[1]).toBe(b?.commit);
    expect(git(root, "rev-list", "--parents", "-n", "1", b?.commit as string).split(" ")[1]).toBe(base);
    expect(git(root, "rev-list", "--count", "--merges", "autoresearch/t1")).toBe("0");
  });

  it("chain: a stale candidate whose change no longer applies on the current best is discarded saying so", async () => {
    const root = project();
    const plan = new PlanProposer([
      step("A: GAIN 2, slow", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 2;", 0),
      step("B: GAIN 1", "const GAIN = 0;", "const GAIN = 1;", 1),
    ]);
    await research(root, { kind: "new", config: testConfig({ workers: 2, devices: ["0", "1"], search: "chain" }), platform: cpuPlatform() }, testDeps(root, plan));
    const all = records(root);
    expect(all.map((e) => [e.id, e.status, e.reason])).toEqual([
      [0, "keep", "baseline"],
      [1, "keep", "improved"],
      [2, "discard", "stale"],
    ]);
    expect(all[2]?.detail).toMatch(/beat its parent #0 .* no longer applies on the current best #1/);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(all[1]?.commit);
  });

  it("tree: siblings that both beat their parent are kept, the branch moves to the better one, and the other's change is combined into it", async () => {
    const root = project();
    const base = git(root, "rev-parse", "HEAD");
    // A: slow and better (-0.1); B: fast and better (-0.05). Both are built on the baseline; B is decided first.
    const plan = new PlanProposer([
      step("A: slow gain", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 1;", 0),
      step("B: other gain", "const OTHER = 0;", "const OTHER = 1;", 1),
    ]);
    const events: SessionEvent[] = [];
    const deps = testDeps(root, plan);
    const emit = deps.emit;
    deps.emit = (e) => {
      events.push(e);
      emit(e);
    };
    const outcome = await research(root, { kind: "new", config: testConfig({ workers: 2, devices: ["0", "1"] }), platform: cpuPlatform() }, deps);
    expect(outcome.reason).toMatch(/nothing more to propose/);
    const [baseline, b, a, combined, ...rest] = records(root);
    expect(rest).toEqual([]);
    // Each decided against its own parent (the baseline): both kept, nothing re-run.
    expect([b?.id, b?.status, b?.parent, a?.id, a?.status, a?.parent]).toEqual([1, "keep", baseline?.commit, 2, "keep", baseline?.commit]);
    expect(records(root).some((r) => r.rebaseOf !== undefined)).toBe(false);
    // The branch went to B, then moved to A (another branch of the tree, not a fast-forward) when A measured better.
    const moves = events.filter((e) => e.type === "experiment").map((e) => (e.type === "experiment" ? e.best.id : -1));
    expect(moves.slice(0, 3)).toEqual([0, 1, 2]);
    // Then B's change was combined into A: a new node whose parent is the best (A) and whose change set is both.
    expect(combined?.combines).toEqual([1]);
    expect(combined?.parent).toBe(a?.commit);
    expect(combined?.description).toMatch(/^combine #1 into #2: B: other gain/);
    expect(combined?.status).toBe("keep");
    expect(git(root, "show", `${combined?.commit}:train.js`)).toMatch(/const SLOW = 1;\nconst GAIN = 1;\nconst OTHER = 1;/);
    // The research branch is the best node; its history is that node's lineage: base -> A -> combination.
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(combined?.commit);
    expect(git(root, "rev-list", "--first-parent", "autoresearch/t1").split("\n").slice(0, 3)).toEqual([combined?.commit, a?.commit, base]);
    // Every experiment's commit stays reachable, B's included (it is off the lineage).
    for (const r of records(root).filter((e) => e.id > 0)) expect(git(root, "rev-parse", `refs/autoresearch/t1/${r.id}`)).toBe(r.commit);
    expect(git(root, "rev-list", "autoresearch/t1").split("\n")).not.toContain(b?.commit);
  });

  it("tree: a run is never thrown away or re-run because the head moved while it ran", async () => {
    const root = project();
    const plan = new PlanProposer([
      step("A: GAIN 2, slow", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 2;", 0),
      step("B: GAIN 1", "const GAIN = 0;", "const GAIN = 1;", 1),
    ]);
    await research(root, { kind: "new", config: testConfig({ workers: 2, devices: ["0", "1"] }), platform: cpuPlatform() }, testDeps(root, plan));
    const all = records(root);
    // A and B touch the same line: both beat the baseline and are kept; A (better) is the head; B's change cannot combine into A.
    expect(all.map((e) => [e.id, e.status, e.reason])).toEqual([
      [0, "keep", "baseline"],
      [1, "keep", "improved"],
      [2, "keep", "improved"],
    ]);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(all[2]?.commit);
  });
});
