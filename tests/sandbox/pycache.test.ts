import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { readJsonl } from "../reliability/helpers.js";
import { describeBwrap } from "../helpers/bwrap.js";

// A module of a shared environment installed without bytecode (pip --no-compile, uv's default).
const TRAIN = `import sys
sys.path.insert(0, ".venv/lib")
import helper
LEARNING_RATE = 0.01
print("val_loss: %.6f" % helper.loss(LEARNING_RATE))
`;

/**
 * A repo whose training script imports a module of a shared environment (`.venv/lib/helper.py`,
 * installed without bytecode as pip --no-compile and uv leave it), with a plan of one change, and
 * the `run` arguments of a session on it.
 */
function sharedVenvSession(train: string, sandbox: "off" | "bwrap"): { root: string; args: string[] } {
  const root = createRepo({ "train.py": train, "prepare.py": "# read-only\n", ".gitignore": ".venv/\n" });
  mkdirSync(join(root, ".venv", "lib"), { recursive: true });
  writeFileSync(join(root, ".venv", "lib", "helper.py"), "def loss(lr):\n    return 1.0 + abs(lr - 0.04) * 10\n");
  const step = { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.04" }] };
  writeFileSync(join(root, "plan.jsonl"), `${JSON.stringify(step)}\n`);
  return { root, args: ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--proposer", "plan", "--plan", "plan.jsonl", "--yes", "--sandbox", sandbox] };
}

describe("Python bytecode of a shared environment", () => {
  // Without a sandbox, where the manifest of .venv is what guards it: the strictest case.
  it("goes into the worker's cache beside its clone: a first import is not a change to shared data (baseline and experiments run)", () => {
    const { root, args } = sharedVenvSession(TRAIN, "off");
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
    // confirm's runs too (they wrote __pycache__ beside the shared module).
    const confirmed = cli(root, ["confirm", "--runs", "2"], { PYTHONDONTWRITEBYTECODE: "" }, 90_000);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(readdirSync(join(root, ".venv", "lib"))).toEqual(["helper.py"]);
  }, 120_000);
});

describe("an unconfined run where bytecode is turned off (PYTHONDONTWRITEBYTECODE)", () => {
  // Python writes no bytecode at all then, so the prefix has nothing to redirect; with one, every
  // run compiled every module it imported again (the standard library's too), as the cache
  // stays empty. The run reads the bytecode the environment already has instead.
  it("gets no PYTHONPYCACHEPREFIX (the session's runs and confirm's) and still writes nothing beside a shared module", () => {
    const train = `import json, os, sys
sys.path.insert(0, ".venv/lib")
import helper
LEARNING_RATE = 0.01
print("prefix: " + str(sys.pycache_prefix))
print("stdlib cached: " + str(os.path.exists(json.__cached__)))
print("val_loss: %.6f" % helper.loss(LEARNING_RATE))
`;
    const { root, args } = sharedVenvSession(train, "off");
    const result = cli(root, [...args, "--keep-rule", "any", "--baseline-runs", "1"], { PYTHONDONTWRITEBYTECODE: "1" }, 90_000);
    expect(result.code, result.stderr).toBe(0);
    for (const n of [0, 1]) {
      const log = readFileSync(recordPath(root, `runs/${n}.log`), "utf8");
      expect(log).toContain("prefix: None");
      // json's bytecode is the interpreter's own, read where it is (not looked for in an empty prefix).
      expect(log).toContain("stdlib cached: True");
    }
    expect(readdirSync(join(root, ".venv", "lib"))).toEqual(["helper.py"]);
    const confirmed = cli(root, ["confirm", "--runs", "1"], { PYTHONDONTWRITEBYTECODE: "1" }, 90_000);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const confirmLogs = readdirSync(recordPath(root, "confirm"), { recursive: true }).map(String).filter((name) => name.endsWith(".log"));
    expect(confirmLogs.length).toBeGreaterThan(0);
    for (const name of confirmLogs) expect(readFileSync(join(recordPath(root, "confirm"), name), "utf8")).toContain("prefix: None");
    expect(readdirSync(join(root, ".venv", "lib"))).toEqual(["helper.py"]);
  }, 120_000);
});

describe("an unconfined run's bytecode cache", () => {
  // Each run prints whether the shared module's bytecode is there before it imports it; run 2
  // rewrites that bytecode and plants a file in the cache; run 3 must find neither.
  const train = `import importlib.util, os, sys
sys.path.insert(0, ".venv/lib")
cached = importlib.util.cache_from_source(os.path.abspath(".venv/lib/helper.py"))
print("cached: " + ("yes" if os.path.exists(cached) else "no"))
print("planted: " + ("yes" if os.path.exists(os.path.join(sys.pycache_prefix, "planted.txt")) else "no"))
import helper
TAMPER = 0
LEARNING_RATE = 0.01
if TAMPER:
    open(cached, "ab").write(b"planted")
    open(os.path.join(sys.pycache_prefix, "planted.txt"), "w").write("x")
print("val_loss: %.6f" % helper.loss(LEARNING_RATE))
`;

  it("keeps what the baseline compiled for the next runs, and removes what a run rewrote or added", () => {
    const root = createRepo({ "train.py": train, "prepare.py": "# read-only\n", ".gitignore": ".venv/\n" });
    mkdirSync(join(root, ".venv", "lib"), { recursive: true });
    writeFileSync(join(root, ".venv", "lib", "helper.py"), "def loss(lr):\n    return 1.0 + abs(lr - 0.04) * 10\n");
    const steps = [
      { description: "LEARNING_RATE 0.01 -> 0.02", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.02" }] },
      { description: "tamper with the cache", category: "other", edits: [{ search: "TAMPER = 0", replace: "TAMPER = 1" }] },
      { description: "LEARNING_RATE 0.02 -> 0.03", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.02", replace: "LEARNING_RATE = 0.03" }] },
    ];
    writeFileSync(join(root, "plan.jsonl"), `${steps.map((step) => JSON.stringify(step)).join("\n")}\n`);
    const args = ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--proposer", "plan", "--plan", "plan.jsonl", "--yes", "--sandbox", "off"];
    const result = cli(root, [...args, "--keep-rule", "any", "--baseline-runs", "1"], { PYTHONDONTWRITEBYTECODE: "" }, 90_000);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => r.description)).toEqual(["Baseline — no modifications", ...steps.map((step) => step.description)]);
    const log = (n: number) => readFileSync(recordPath(root, `runs/${n}.log`), "utf8");
    // The baseline compiled it; the next run read it.
    expect(log(0)).toContain("cached: no");
    expect(log(1)).toContain("cached: yes");
    expect(log(2)).toContain("cached: yes");
    expect(log(2)).toContain("planted: no");
    // Run 2 rewrote the bytecode and planted a file: both were gone before run 3.
    expect(log(3)).toContain("cached: no");
    expect(log(3)).toContain("planted: no");
    // Nothing was written beside the shared module.
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
    const { root, args } = sharedVenvSession(train, "bwrap");
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

  it("confirm's runs are confined as the session's are", () => {
    const root = createRepo({ "prepare.py": "# read-only\n" });
    const outside = join(root, "outside.txt");
    const train = `LEARNING_RATE = 0.01
try:
    open(${JSON.stringify(outside)}, "w").write("x")
    print("wrote outside: yes")
except OSError:
    print("wrote outside: no")
print("val_loss: %.6f" % (1.0 + abs(LEARNING_RATE - 0.04) * 10))
`;
    writeFileSync(join(root, "train.py"), train);
    git(root, "add", "train.py");
    git(root, "commit", "-qm", "train");
    const step = { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.04" }] };
    writeFileSync(join(root, "plan.jsonl"), `${JSON.stringify(step)}\n`);
    const args = ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--proposer", "plan", "--plan", "plan.jsonl", "--yes", "--sandbox", "bwrap"];
    const result = cli(root, [...args, "--keep-rule", "any", "--baseline-runs", "1"], {}, 90_000);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(outside)).toBe(false);
    const confirmed = cli(root, ["confirm", "--runs", "2"], {}, 90_000);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    // The write into the checkout was refused in confirm's runs too (it succeeded before: they ran unconfined).
    expect(existsSync(outside)).toBe(false);
  }, 120_000);
});
