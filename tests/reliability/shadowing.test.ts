import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Proposal } from "../../src/types.js";
import { cpuPlatform } from "../helpers/platforms.js";
import { createRepo, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { readJsonl } from "./helpers.js";

// The evaluation lives in the read-only prepare.py; the training script imports it.
const PREPARE = `def evaluate(lr):
    return 1.0 + abs(lr - 0.04) * 10
`;
const TRAIN = `import os, subprocess, sys
from prepare import evaluate
LEARNING_RATE = 0.01
# HOOK
print("val_loss: %.6f" % evaluate(LEARNING_RATE))
`;

const step = (description: string, replace: string, planStep: number): Proposal => ({ description, category: "other", edits: [{ search: "# HOOK", replace }], planStep });

// Plants a prepare/ package that replaces the evaluation, measured in a fresh interpreter (so its
// own run already sees the fake), and leaves it behind for the next experiment.
const PLANT = [
  'os.makedirs("prepare", exist_ok=True)',
  'open("prepare/__init__.py", "w").write("def evaluate(lr):\\n    return 0.001\\n")',
  'print(subprocess.run([sys.executable, "-c", "from prepare import evaluate; print(\\"val_loss: %.6f\\" % evaluate(0.01))"], capture_output=True, text=True).stdout, end="")',
  "sys.exit(0)",
].join("\n");

describe("a run that plants code shadowing a read-only module", () => {
  it("is a violation (never kept), and the planted package does not survive into the next experiment's run", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": PREPARE });
    const plan = [
      step("shadow prepare.py with a prepare/ package", PLANT, 0),
      // A plain regression: measured by the real prepare.py, it must be discarded, not kept on a fake 0.001.
      step("LEARNING_RATE 0.01 -> 0.005 (a regression)", "LEARNING_RATE = 0.005", 1),
    ];
    const config = testConfig({ proposer: "plan", train: "train.py", readonly: ["prepare.py"], command: "python3 train.py", metric: "val_loss" });
    await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, new PlanProposer(plan)));
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.id, r.status, r.reason])).toEqual([
      [0, "keep", "baseline"],
      [1, "crash", "violation"],
      [2, "discard", "regression"],
    ]);
    expect(records[1]?.detail).toMatch(/created prepare\/__init__\.py \(new code in the tree can change what the read-only scripts import\)/);
    expect(records[2]?.metric).toBeCloseTo(1.35, 6);
    // The user's checkout never saw any of it.
    expect(existsSync(join(root, "prepare"))).toBe(false);
    expect(readFileSync(join(root, "prepare.py"), "utf8")).toBe(PREPARE);
  }, 60_000);
});
