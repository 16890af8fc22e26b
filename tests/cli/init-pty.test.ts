import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoSnapshot } from "../helpers/cli.js";
import { hasScript, KEY, terminal } from "../helpers/terminal.js";
import { createRepo, git } from "../helpers/repo.js";

const TRAIN = `import time
LR = 0.01
print(f"step {1:05d} | loss: {2.0:.6f}")
print("---")
print(f"val_bpb:          {1.0:.6f}")
print(f"val_loss:         {1.5:.6f}")
print(f"training_seconds: {3.0:.1f}")
`;

const realPython = () => execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

/** A .venv in the repo whose torch is a stand-in module (2.5.1, CPU only), committed. */
function venvWithTorch(root: string): void {
  const site = mkdtempSync(join(tmpdir(), "ar-site-"));
  mkdirSync(join(site, "torch"));
  writeFileSync(join(site, "torch", "__init__.py"), "__version__ = '2.5.1'\nclass version:\n    cuda = None\n    hip = None\nclass cuda:\n    @staticmethod\n    def is_available():\n        return False\nclass backends:\n    mps = None\n");
  mkdirSync(join(root, ".venv", "bin"), { recursive: true });
  writeFileSync(join(root, ".venv", "bin", "python"), `#!/bin/sh\nPYTHONPATH=${site} exec ${realPython()} "$@"\n`, { mode: 0o755 });
  git(root, "add", "-A");
  git(root, "commit", "-qm", "venv");
}

const configOf = (root: string) => JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8"));

/**
 * Init's questions in turn: waits for each one's text, then types its keys (none: Enter keeps what
 * is offered) and Enter.
 */
async function answer(t: ReturnType<typeof terminal>, steps: readonly (readonly [question: string, ...keys: string[]])[]): Promise<void> {
  for (const [question, ...keys] of steps) {
    await t.waitFor(question);
    await t.type(...keys, KEY.enter);
  }
}

describe.skipIf(!hasScript)("autoresearch init in a terminal", () => {
  it("asks the budget (validating it), offers the metrics the script prints, asks the direction, confirms, writes", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "MAX_SEQ_LEN = 2048\n" });
    const t = terminal(root, ["init", "--train", "train.py", "--readonly", "prepare.py", "--max-iterations", "3", "--scope", "all", "--tag", "t1", "--results", "results.tsv"]);
    await answer(t, [
      ["Command that runs one experiment"],
      ["How long should each training run be?", ..."abc"],
      ['"abc" is not a positive duration like 90s, 5m, 1h30m', KEY.ctrlU, ..."5m"],
    ]);
    await t.waitFor("Which metric should the loop optimize?");
    expect(t.screen()).toMatch(/val_bpb \(printed by train.py\)/);
    expect(t.screen()).toContain("val_loss");
    expect(t.screen()).not.toContain("training_seconds");
    await t.type(KEY.enter);
    await answer(t, [["Should val_bpb be minimized or maximized?"], ["Baseline runs"], ["Keep rule"]]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toContain("## AutoResearch Config");
    expect(t.screen()).toMatch(/\| Time budget \/ run +\| 5m +\|/);
    expect(t.screen()).toMatch(/\| Metric +\| val_bpb \(min\) +\|/);
    expect(t.screen()).toMatch(/\| Branch +\| autoresearch\/t1 +\|/);
    await t.type("y");
    expect(await t.exited).toBe(0);
    expect(configOf(root)).toMatchObject({ budget: "5m", metric: "val_bpb", direction: "min", maxIterations: 3, tag: "t1" });
  });

  it("shows defaults as defaults: Enter keeps one, typing replaces it; the budget has none to accept", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    const t = terminal(root, ["init"]);
    // Each default shown (its text waited for) before Enter keeps it or typing replaces it.
    await t.waitFor("Training script");
    await answer(t, [["train.py"]]);
    await t.waitFor("Read-only script(s), never modified (comma-separated, or none)");
    await answer(t, [
      ["prepare.py", ..."none"],
      ["Command that runs one experiment"],
      // Nothing is pre-filled that Enter would then refuse: an empty answer is asked again.
      ["How long should each training run be?"],
      ["a time budget is required", ..."2m"],
      ["Which metric should the loop optimize?"],
      ["Should val_bpb be minimized or maximized?"],
    ]);
    await t.waitFor("Max iterations");
    await answer(t, [
      // Typed over the default, not appended to it ("unlimited7" would be refused).
      ["unlimited", ..."7"],
      ["Allowed modification scope"],
      ["Branch tag", ..."mine"],
      ["Results file"],
      ["Baseline runs", ..."3"],
      ["Keep rule"],
    ]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toMatch(/\| Read-only script +\| \(none\) +\|/);
    // train.py does not import torch: no torch adjustments.
    expect(t.screen()).not.toContain("Adjustments");
    await t.type("y");
    expect(await t.exited).toBe(0);
    // Enter keeps the default keep rule: confirm (noise-aware since issue 26).
    expect(configOf(root)).toMatchObject({ train: "train.py", readonly: [], budget: "2m", maxIterations: 7, tag: "mine", results: "results.tsv", baselineRuns: 3, keepRule: "confirm" });
  });

  it("with several GPUs it asks how many workers, one per GPU by default (detection sees a fake nvidia-smi)", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    // The command runs no Python, so detection asks nvidia-smi, found first on PATH: 4 H100s.
    const bin = mkdtempSync(join(tmpdir(), "ar-smi-"));
    writeFileSync(join(bin, "nvidia-smi"), `#!/bin/sh\nfor i in 1 2 3 4; do echo "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0"; done\n`);
    chmodSync(join(bin, "nvidia-smi"), 0o755);
    const args = ["init", "--train", "train.py", "--readonly", "prepare.py", "--command", "node train.js", "--budget", "5m", "--metric", "val_bpb", "--direction", "min"];
    args.push("--max-iterations", "3", "--scope", "all", "--tag", "t4", "--results", "results.tsv", "--baseline-runs", "1", "--keep-rule", "any");
    const t = terminal(root, args, { PATH: `${bin}:${process.env.PATH}` });
    await t.waitFor("Workers: experiments run at the same time, one GPU each (4 GPUs detected");
    await answer(t, [
      ["4", KEY.ctrlU, ..."5"],
      ["5 workers but 4 GPUs: at most 4 (or auto)", KEY.ctrlU, ..."2"],
    ]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toMatch(/\| Platform +\| CUDA \(4× NVIDIA H100 80GB HBM3/);
    expect(t.screen()).toMatch(/\| Workers +\| 2 +\|/);
    await t.type("y");
    expect(await t.exited).toBe(0);
    expect(configOf(root)).toMatchObject({ workers: 2 });
  });

  it("a budget from the repo's own config is offered as the default, and Enter keeps it", async () => {
    const root = createRepo({ "train.py": `import torch\n${TRAIN}`, "prepare.py": "X = 1\n" });
    venvWithTorch(root);
    writeFileSync(join(root, "autoresearch.config.json"), JSON.stringify({ budget: "3m", metric: "val_loss", direction: "min" }));
    const t = terminal(root, ["init", "--train", "train.py", "--readonly", "prepare.py", "--max-iterations", "1", "--scope", "all", "--tag", "t2", "--results", "r.tsv"]);
    await answer(t, [["Command that runs one experiment"]]);
    await t.waitFor("How long should each training run be?");
    await answer(t, [
      ["3m"],
      ["Which metric should the loop optimize?"], // val_loss, the file's value, is the one selected
      ["Should val_loss be minimized or maximized?"],
      ["Baseline runs"],
      ["Keep rule"],
    ]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toMatch(/\| Time budget \/ run +\| 3m +\|/);
    // train.py imports torch: its adjustments are shown.
    expect(t.screen()).toMatch(/\| Adjustments +\| torch\.compile off/);
    await t.type("y");
    expect(await t.exited).toBe(0);
    expect(configOf(root)).toMatchObject({ budget: "3m", metric: "val_loss" });
  });

  it("declining the table writes nothing (exit 1)", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    const before = repoSnapshot(root);
    const t = terminal(root, ["init", "--budget", "5m", "--metric", "val_bpb", "--direction", "min"]);
    // init also offers the optional values, their defaults prefilled: accept each.
    await answer(t, [
      ["Training script"],
      ["Read-only script(s)"],
      ["Command that runs one experiment"],
      ["Max iterations"],
      ["Allowed modification scope"],
      ["Branch tag"],
      ["Results file"],
      ["Baseline runs"],
      ["Keep rule"],
    ]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    await t.type("n");
    expect(await t.exited).toBe(1);
    expect(t.screen()).toContain("config not confirmed: nothing was written");
    expect(existsSync(join(root, "autoresearch.config.json"))).toBe(false);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("the whole Phase 0 flow: another metric, max, and the read-only TIME_BUDGET updated as a setup commit", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "TIME_BUDGET = 300        # training time budget in seconds (5 minutes)\n" });
    const t = terminal(root, ["init"]);
    await answer(t, [
      ["Training script"],
      ["Read-only script(s)"],
      ["Command that runs one experiment"],
      ["How long should each training run be?", ..."90s"],
      ["Which metric should the loop optimize?", KEY.down], // val_loss
      ["Should val_loss be minimized or maximized?", KEY.down], // max (the guess was min; the user decides)
      ["Max iterations", KEY.ctrlU, ..."12"],
      ["Allowed modification scope", KEY.space], // deselect architecture
      ["Branch tag", KEY.ctrlU, ..."exp-attn"],
      ["Results file"],
      ["Baseline runs", KEY.ctrlU, ..."3"],
      ["Keep rule"], // confirm, the default (listed first)
    ]);
    await t.waitFor("prepare.py:1 sets TIME_BUDGET = 300 (5m), but the chosen time budget is 1m30s");
    await answer(t, [["What should happen?", KEY.up]]); // Update it now
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toMatch(/\| Modification scope +\| hyperparameters \/ optimizer \/ training +\|/);
    expect(t.screen()).toMatch(/\| Baseline runs +\| 3 +\|/);
    expect(t.screen()).toMatch(/\| Keep rule +\| confirm \(paired: kept when better than its parent by > 2 standard errors\) +\|/);
    expect(t.screen()).toMatch(/\| Paired band +\| first runs within 2× the noise floor of the parent/);
    await t.type("y");
    expect(await t.exited).toBe(0);
    expect(configOf(root)).toMatchObject({ budget: "1m30s", metric: "val_loss", direction: "max", maxIterations: 12, scope: ["hyperparameters", "optimizer", "training"], tag: "exp-attn", baselineRuns: 3, keepRule: "confirm" });
    expect(readFileSync(join(root, "prepare.py"), "utf8")).toBe("TIME_BUDGET = 90        # training time budget in seconds (5 minutes)\n");
    expect(git(root, "log", "-1", "--format=%s")).toBe("autoresearch: set TIME_BUDGET to 90 for this session");
    expect(git(root, "show", "--name-only", "--format=", "HEAD")).toBe("prepare.py");
    expect(git(root, "status", "--porcelain")).toBe("?? autoresearch.config.json");
  });

  it("run with a taken branch refuses before it makes the TIME_BUDGET setup commit (exit 2, repo unchanged)", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "TIME_BUDGET = 300\n" });
    git(root, "branch", "autoresearch/taken");
    const before = repoSnapshot(root);
    const head = git(root, "rev-parse", "HEAD");
    const t = terminal(root, ["run", "--train", "train.py", "--readonly", "prepare.py", "--budget", "90s", "--metric", "val_bpb", "--direction", "min", "--tag", "taken", "--command", "python3 train.py"]);
    await t.waitFor("What should happen?");
    await t.type(KEY.up, KEY.enter); // Update it now
    await t.waitFor("Start the research session with this config?");
    await t.type("y");
    expect(await t.exited).toBe(2);
    expect(t.screen()).toMatch(/branch autoresearch\/taken already exists/);
    expect(git(root, "rev-parse", "HEAD")).toBe(head);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("asks the command, suggesting the interpreter that imports torch; a command without torch is said to fail and asked again", async () => {
    const root = createRepo({ "train.py": `import torch\n${TRAIN}`, "prepare.py": "X = 1\n" });
    // The repo's .venv has torch (a stand-in module); python3 and python on this PATH have none (-S: no site-packages).
    venvWithTorch(root);
    const bin = mkdtempSync(join(tmpdir(), "ar-py-"));
    for (const name of ["python3", "python"]) writeFileSync(join(bin, name), `#!/bin/sh\nexec ${realPython()} -S "$@"\n`, { mode: 0o755 });
    const t = terminal(root, ["init", "--train", "train.py", "--readonly", "prepare.py", "--max-iterations", "1", "--scope", "all", "--tag", "t5", "--results", "r.tsv"], { PATH: `${bin}:${process.env.PATH}` });
    await t.waitFor("Command that runs one experiment");
    // (Broken to the terminal's width under the guide bar: read as one line.)
    expect(t.screen().replace(/\n│ {2}/g, " ")).toContain("Found: .venv/bin/python train.py (the repo's .venv, torch 2.5.1); python3 train.py (the default, no torch); python train.py (python on PATH, no torch)");
    await answer(t, [[".venv/bin/python train.py", KEY.ctrlU, ..."python3 train.py"]]);
    await t.waitFor("torch is not installed in python3, but train.py imports it: every run of `python3 train.py` would fail");
    await answer(t, [
      ["Enter another command"],
      ["Command that runs one experiment", KEY.ctrlU, ..."  .venv/bin/python train.py"],
    ]);
    await t.waitFor("How long should each training run be?");
    expect(t.screen()).toMatch(/Platform: CPU \(.*\) with torch 2\.5\.1/);
    await t.type(..."1m", KEY.enter);
    await answer(t, [["Which metric should the loop optimize?"], ["Should val_bpb be minimized or maximized?"], ["Baseline runs"], ["Keep rule"]]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    expect(t.screen()).toMatch(/\| Command +\| `\.venv\/bin\/python train\.py` +\|/);
    expect(t.screen()).toMatch(/\| Adjustments +\| torch\.compile off/);
    await t.type("y");
    expect(await t.exited).toBe(0);
    expect(configOf(root)).toMatchObject({ command: ".venv/bin/python train.py" });
  });

  it("asks a Node script's command without a word about Python, suggesting `node`", async () => {
    const root = createRepo({ "train.js": 'console.log("val_bpb: 1.0")\n', "prepare.js": "// data\n" });
    const t = terminal(root, ["init", "--train", "train.js", "--readonly", "prepare.js"]);
    await t.waitFor("Command that runs one experiment");
    await t.waitFor("node train.js");
    expect(t.screen()).not.toMatch(/its Python/);
    await t.type(KEY.ctrlC);
    expect(await t.exited).toBe(130);
  });

  it("Ctrl-C at a prompt stops with exit 130 and writes nothing", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    const before = repoSnapshot(root);
    const t = terminal(root, ["init", "--yes"]);
    await t.waitFor("How long should each training run be?");
    await t.type(KEY.ctrlC);
    expect(await t.exited).toBe(130);
    expect(existsSync(join(root, "autoresearch.config.json"))).toBe(false);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("in an 80-column terminal every question, note and line fits; the probe's notes come before the table, only those about this script", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    const t = terminal(root, ["init", "--train", "train.py", "--readonly", "prepare.py", "--max-iterations", "3", "--scope", "all", "--tag", "t1", "--results", "results.tsv"], {}, 80);
    await answer(t, [
      ["Command that runs one experiment"],
      ["How long should each training run be?", ..."5m"],
      ["Which metric should the loop optimize?"],
      ["minimized or maximized?"],
      ["Baseline runs"],
      ["Keep rule"],
    ]);
    await t.waitFor("Write autoresearch.config.json with this config?");
    await t.type("y");
    expect(await t.exited).toBe(0);
    const screen = t.screen();
    // (A text prompt redrawn as it is typed runs together once its cursor moves are stripped: left out.)
    expect(screen.split("\n").filter((line) => line.length > 80 && !line.includes("█"))).toEqual([]);
    // The keep rule's choice is explained in one line.
    expect(screen).toMatch(/Keep rule: confirm keeps only gains beyond the noise; any is the spec's loop\n/);
    // The long questions are broken under the guide bar, not where the terminal would break them.
    expect(screen).toMatch(/Command that runs one experiment[^\n]*\n│ {2}\S/);
    // train.py imports no torch: nothing about torch, and nothing from the probe after the table.
    expect(screen).not.toMatch(/torch is not installed/);
    expect(screen.slice(screen.indexOf("Config confirmed"))).not.toContain("platform:");
  });

  it("in an 80-column terminal the config table fits: long values wrapped onto more rows, no line wider", async () => {
    const root = createRepo({ "train.py": TRAIN, "prepare.py": "X = 1\n" });
    const flags = ["--train", "train.py", "--readonly", "prepare.py", "--command", "python3 train.py", "--budget", "5m", "--metric", "val_bpb", "--direction", "min"];
    const t = terminal(root, ["init", ...flags, "--max-iterations", "3", "--scope", "all", "--tag", "t1", "--results", "results.tsv", "--baseline-runs", "2", "--keep-rule", "confirm"], {}, 80);
    await t.waitFor("Write autoresearch.config.json with this config?");
    const table = t.screen().slice(t.screen().indexOf("## AutoResearch Config"));
    const rows = table.split("\n").filter((l) => l.startsWith("|"));
    // The paired band alone is over 200 characters: wrapped, it is several rows.
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter((l) => l.length > 80)).toEqual([]);
    expect(new Set(rows.map((l) => l.length)).size).toBe(1);
    expect(table).toMatch(/\| Paired band +\| first runs within 2× the noise floor of the parent, +\|\n\| {20}\| better or worse/);
    await t.type("y");
    expect(await t.exited).toBe(0);
  });
});
