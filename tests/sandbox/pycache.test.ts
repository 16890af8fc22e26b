import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, recordPath } from "../helpers/repo.js";
import { readJsonl } from "../reliability/helpers.js";
import { describeBwrap } from "../helpers/bwrap.js";

// A module of a shared environment installed without bytecode (pip --no-compile, uv's default).
const TRAIN = `import sys
sys.path.insert(0, ".venv/lib")
import helper
LEARNING_RATE = 0.01
print("val_loss: %.6f" % helper.loss(LEARNING_RATE))
`;

describe("Python bytecode of a shared environment", () => {
  // Without a sandbox, where the manifest of .venv is what guards it: the strictest case.
  it("goes into the run's clone: a first import is not a change to shared data (baseline and experiments run)", () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "# read-only\n", ".gitignore": ".venv/\n" });
    mkdirSync(join(root, ".venv", "lib"), { recursive: true });
    writeFileSync(join(root, ".venv", "lib", "helper.py"), "def loss(lr):\n    return 1.0 + abs(lr - 0.04) * 10\n");
    const step = { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.04" }] };
    writeFileSync(join(root, "plan.jsonl"), `${JSON.stringify(step)}\n`);
    const args = ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--proposer", "plan", "--plan", "plan.jsonl", "--yes", "--sandbox", "off"];
    // Bytecode written as a user gets it (this machine may turn it off for everything).
    const result = cli(root, args, { PYTHONDONTWRITEBYTECODE: "" }, 90_000);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["keep", "improved"],
    ]);
    expect(existsSync(join(root, ".venv", "lib", "__pycache__"))).toBe(false);
    expect(readdirSync(join(root, ".venv", "lib"))).toEqual(["helper.py"]);
  }, 120_000);
});

describeBwrap("Python bytecode in a confined run", () => {
  // The shared environment is read-only to the run: Python skips the cache it cannot write, and
  // reads the bytecode environments already have instead of compiling every import into an
  // emptied prefix at each run (the standard library's too).
  it("gets no PYTHONPYCACHEPREFIX and writes nothing into a shared environment", () => {
    const train = `import os, sys
sys.path.insert(0, ".venv/lib")
import helper
LEARNING_RATE = 0.01
print("prefix: " + os.environ.get("PYTHONPYCACHEPREFIX", "none"))
print("val_loss: %.6f" % helper.loss(LEARNING_RATE))
`;
    const root = createRepo({ "train.py": train, "prepare.py": "# read-only\n", ".gitignore": ".venv/\n" });
    mkdirSync(join(root, ".venv", "lib"), { recursive: true });
    writeFileSync(join(root, ".venv", "lib", "helper.py"), "def loss(lr):\n    return 1.0 + abs(lr - 0.04) * 10\n");
    const step = { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.04" }] };
    writeFileSync(join(root, "plan.jsonl"), `${JSON.stringify(step)}\n`);
    const args = ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--proposer", "plan", "--plan", "plan.jsonl", "--yes", "--sandbox", "bwrap"];
    const result = cli(root, [...args, "--keep-rule", "any", "--baseline-runs", "1"], { PYTHONDONTWRITEBYTECODE: "" }, 90_000);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["keep", "improved"],
    ]);
    expect(readFileSync(recordPath(root, "runs/1.log"), "utf8")).toContain("prefix: none");
    expect(readdirSync(join(root, ".venv", "lib"))).toEqual(["helper.py"]);
  }, 120_000);
});
