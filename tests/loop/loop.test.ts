import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { Proposal } from "../../src/types.js";
import { FAKE_TRAIN, fakeProject, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

const step = (description: string, search: string, replace: string, category: Proposal["category"] = "hyperparameters"): Proposal => ({
  description,
  category,
  edits: [{ search, replace }],
});

describe("the research loop on a real repo", () => {
  it("keeps improvements, resets regressions and crashes, logs every experiment", async () => {
    const root = fakeProject();
    const base = git(root, "rev-parse", "HEAD");
    const plan = new PlanProposer([
      step("LEARNING_RATE 0.01 -> 0.02", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;"),
      step("WIDTH 16 -> 8", "const WIDTH = 16;", "const WIDTH = 8;", "architecture"),
      step("edit that does not apply", "const NOPE = 1;", "const NOPE = 2;"),
      step("crash on purpose", 'console.log("---");', 'throw new Error("boom");', "other"),
      step("DROPOUT 0.1 -> 0.0", "const DROPOUT = 0.1;", "const DROPOUT = 0.0;", "training"),
    ].map((p, i) => ({ ...p, planStep: i })));
    const events: SessionEvent[] = [];
    const platform = await detectPlatform({ command: "node train.js", root });
    const outcome = await research(root, { kind: "new", config: testConfig(), platform }, testDeps(root, plan, events));

    expect(outcome.reason).toMatch(/nothing more to propose/);
    const results = parseResults(readFileSync(join(root, "results.tsv"), "utf8"));
    expect(results.metricName).toBe("val_loss");
    expect(results.rows.map((r) => r.status)).toEqual(["keep", "keep", "discard", "crash", "keep"]);
    expect(results.rows[0]?.description).toBe("Baseline — no modifications");
    expect(results.rows[2]?.description).toBe("WIDTH 16 -> 8: regression");
    expect(results.rows[3]?.metric).toBeNull();
    expect(results.rows[3]?.description).toMatch(/^crash on purpose: exit code 1: /);
    expect(readFileSync(join(root, "results.tsv"), "utf8").split("\n")[4]).toMatch(/^[0-9a-f]{7}\t—\t—\tcrash\t/);

    // The branch head is the best kept commit; only the training script differs from the base.
    // The user's checkout never moved: still main at the base, its files as they were.
    expect(git(root, "branch", "--show-current")).toBe("main");
    expect(git(root, "rev-parse", "HEAD")).toBe(base);
    const jsonl = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(jsonl).toHaveLength(5);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(jsonl[4].commit);
    expect(git(root, "diff", "--name-only", base, "autoresearch/t1")).toBe("train.js");
    expect(git(root, "show", "autoresearch/t1:train.js")).toContain("const LEARNING_RATE = 0.02;");
    expect(git(root, "show", "autoresearch/t1:train.js")).toContain("const WIDTH = 16;");
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(FAKE_TRAIN);
    expect(git(root, "status", "--porcelain")).toBe("");

    // Discarded and crashed commits stay resolvable; their diffs and logs are kept.
    for (const id of [2, 3]) {
      expect(git(root, "rev-parse", `refs/autoresearch/t1/${id}`)).toBe(jsonl[id].commit);
      expect(readFileSync(recordPath(root, `patches/${id}.patch`), "utf8")).toContain("+");
      expect(existsSync(recordPath(root, `runs/${id}.log`))).toBe(true);
    }
    expect(git(root, "log", "-1", "--format=%s", jsonl[2].commit)).toBe("exp: WIDTH 16 -> 8");

    // The bad edit was refused with a reason and did not count as an experiment.
    const rejected = readFileSync(recordPath(root, "rejected.jsonl"), "utf8");
    expect(rejected).toContain("was not found");
    expect(events.some((e) => e.type === "proposal-rejected")).toBe(true);
    expect(jsonl[1].params).toBe(500000);
    expect(jsonl[1].bestBefore).toBe(jsonl[0].metric);
  });

  it("keeps an equal metric with fewer lines (simplicity principle) and discards an equal one with more", async () => {
    const root = fakeProject();
    const plan = new PlanProposer([
      step("log an extra line", 'console.log("---");', 'console.log("---");\nconsole.log("extra");'),
      step("drop the step log line", 'console.log("step 1 loss " + (loss + 0.5).toFixed(4));\n', ""),
    ].map((p, i) => ({ ...p, planStep: i })));
    const platform = await detectPlatform({ command: "node train.js", root });
    await research(root, { kind: "new", config: testConfig(), platform }, testDeps(root, plan));
    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows.map((r) => `${r.status}:${r.description}`)).toEqual([
      "keep:Baseline — no modifications",
      "discard:log an extra line: no change",
      "keep:drop the step log line: same metric with 1 fewer lines",
    ]);
  });

  it("stores a proposal's constant changes as data with the experiment and with a refusal", async () => {
    const root = fakeProject();
    const lr = { key: "LEARNING_RATE", from: 0.01, to: 0.02, fromText: "0.01", toText: "0.02", tag: "x2" };
    const proposals: Proposal[] = [
      // Refused: its edit does not apply. The description is worded like nothing at all.
      { description: "refused", category: "optimizer", edits: [{ search: "const NOPE = 1;", replace: "const NOPE = 2;" }], changes: [{ ...lr, to: 0.5, toText: "0.5" }] },
      { description: "raise the learning rate", category: "optimizer", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }], changes: [lr] },
    ];
    const proposer = { name: "builtin", propose: async () => proposals.shift() ?? null };
    const platform = await detectPlatform({ command: "node train.js", root });
    await research(root, { kind: "new", config: testConfig({ proposer: "builtin" }), platform }, testDeps(root, proposer));
    const jsonl = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(jsonl[0].changes).toBeUndefined();
    expect(jsonl[1].changes).toEqual([lr]);
    const rejected = readFileSync(recordPath(root, "rejected.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rejected[0].changes).toEqual([{ ...lr, to: 0.5, toText: "0.5" }]);
  });

  it("counts --max-iterations after the baseline; 0 runs the baseline only", async () => {
    const root = fakeProject();
    const plan = new PlanProposer([step("LR up", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;")].map((p) => ({ ...p, planStep: 0 })));
    const platform = await detectPlatform({ command: "node train.js", root });
    const outcome = await research(root, { kind: "new", config: testConfig({ maxIterations: 0 }), platform }, testDeps(root, plan));
    expect(outcome.reason).toMatch(/max iterations \(0\)/);
    expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows).toHaveLength(1);
  });

  it("ends with exit-1 failure and leaves the repo on its branch when the baseline crashes", async () => {
    const root = fakeProject({ "train.js": "process.exit(3);\n" });
    const plan = new PlanProposer([]);
    const platform = await detectPlatform({ command: "node train.js", root });
    await expect(research(root, { kind: "new", config: testConfig(), platform }, testDeps(root, plan))).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/baseline run failed \(exit code 3\)/),
    });
    expect(git(root, "branch", "--show-current")).toBe("main");
    expect(git(root, "branch", "--list", "autoresearch/*")).toBe("");
    expect(existsSync(join(root, "results.tsv"))).toBe(false);
  });

  it("restores a read-only script the run modified and does not trust its metric", async () => {
    const root = fakeProject();
    const tamper = 'import { writeFileSync } from "node:fs";\nwriteFileSync("prepare.js", "export const TIME_BUDGET = 1;\\n");\n';
    const plan = new PlanProposer([step("tamper with prepare.js", "const LEARNING_RATE = 0.01;", `${tamper}const LEARNING_RATE = 0.04;`)].map((p) => ({ ...p, planStep: 0 })));
    writeFileSync(join(root, "train.js"), readFileSync(join(root, "train.js"), "utf8"));
    const platform = await detectPlatform({ command: "node train.js", root });
    await research(root, { kind: "new", config: testConfig({ command: "node --input-type=module < train.js" }), platform }, testDeps(root, plan));
    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows[1]?.status).toBe("crash");
    expect(rows[1]?.description).toContain("violation: modified prepare.js");
    expect(readFileSync(join(root, "prepare.js"), "utf8")).toContain("TIME_BUDGET = 300");
  });
});
