import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { configFileSchema } from "../../src/config/options.js";
import { loadConfigFile } from "../../src/config/resolve.js";
import { dateTag } from "../../src/config/tag.js";
import { schemaRef } from "../../src/cli/commands/init.js";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { createRepo, git } from "../helpers/repo.js";

const TRAIN = `import time\nLR = 0.01\nprint("---")\nprint(f"val_bpb:          {1.0:.6f}")\n`;
const PREPARE = "# read-only: data and evaluation\nMAX_SEQ_LEN = 2048\n";
const project = (extra: Record<string, string> = {}) => createRepo({ "train.py": TRAIN, "prepare.py": PREPARE, ...extra });
const REQUIRED = ["--budget", "5m", "--metric", "val_bpb", "--direction", "min"];

const realPython = () => execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

/** An interpreter whose torch is a stand-in module (2.5.1, CPU only): the probe sees torch without it installed. */
function torchPython(): string {
  const dir = mkdtempSync(join(tmpdir(), "ar-torch-"));
  mkdirSync(join(dir, "site", "torch"), { recursive: true });
  writeFileSync(join(dir, "site", "torch", "__init__.py"), "__version__ = '2.5.1'\nclass version:\n    cuda = None\n    hip = None\nclass cuda:\n    @staticmethod\n    def is_available():\n        return False\nclass backends:\n    mps = None\n");
  writeFileSync(join(dir, "python"), `#!/bin/sh\nPYTHONPATH=${JSON.stringify(join(dir, "site"))} exec ${JSON.stringify(realPython())} "$@"\n`, { mode: 0o755 });
  return join(dir, "python");
}

function refused(root: string, args: string[]): string {
  const before = repoSnapshot(root);
  const result = cli(root, ["init", ...args]);
  expect(result.code, result.stdout + result.stderr).toBe(2);
  expect(existsSync(join(root, "autoresearch.config.json"))).toBe(false);
  expect(repoSnapshot(root)).toBe(before);
  return result.stderr;
}

describe("autoresearch init without a terminal", () => {
  it("names every missing required value with its flag and config key; writes nothing", () => {
    const root = project();
    const stderr = refused(root, []);
    for (const [flag, key] of [
      ["--budget", "budget"],
      ["--metric", "metric"],
      ["--direction", "direction"],
    ]) {
      expect(stderr).toContain(flag);
      expect(stderr).toContain(`config key "${key}"`);
    }
    const partial = refused(root, ["--budget", "5m"]);
    expect(partial).not.toContain("--budget");
    expect(partial).toContain("--metric");
    expect(partial).toContain("--direction");
  });

  it.each([
    [["--budget", "abc", "--metric", "val_bpb", "--direction", "min"], '--budget "abc"'],
    [["--budget", "-5m", "--metric", "val_bpb", "--direction", "min"], '--budget "-5m"'],
    [["--budget", "0", "--metric", "val_bpb", "--direction", "min"], '--budget "0"'],
    [[...REQUIRED.slice(0, 4), "--direction", "up"], '--direction "up"'],
    [[...REQUIRED, "--scope", "foo"], '"foo"'],
    [[...REQUIRED, "--tag", "bad tag"], '"bad tag"'],
    [[...REQUIRED, "--max-iterations", "many"], '--max-iterations "many"'],
    [["--budget", "5m", "--metric", "val bpb", "--direction", "min"], '--metric "val bpb"'],
    [[...REQUIRED, "--train", "missing.py"], '--train "missing.py"'],
    [[...REQUIRED, "--readonly", "nope.py"], '--readonly "nope.py"'],
    [[...REQUIRED, "--readonly", "train.py"], '--readonly "train.py"'],
    [[...REQUIRED, "--timeout", "1m"], "shorter than the budget"],
  ])("refuses %j naming the value", (args, named) => {
    const stderr = refused(project(), args);
    expect(stderr).toContain(named);
  });

  it("refuses a bad --config file naming the key: unknown keys, wrong types, bad JSON, missing file", () => {
    const root = project();
    writeFileSync(join(root, "..", "unknown.json"), JSON.stringify({ budget: "5m", metric: "val_bpb", direction: "min", budjet: "5m" }));
    expect(refused(root, ["--config", "../unknown.json", "--yes"])).toContain('unknown key(s) "budjet"');
    writeFileSync(join(root, "..", "types.json"), JSON.stringify({ budget: true, metric: "val_bpb", direction: "min", maxIterations: -1 }));
    const types = refused(root, ["--config", "../types.json", "--yes"]);
    expect(types).toContain('"budget"');
    expect(types).toContain('"maxIterations"');
    writeFileSync(join(root, "..", "broken.json"), '{ "budget": "5m", }');
    expect(refused(root, ["--config", "../broken.json", "--yes"])).toContain("is not valid JSON");
    expect(refused(root, ["--config", "../absent.json", "--yes"])).toContain("cannot read config file");
  });

  it("shows the table but will not confirm on its own: --yes is needed", () => {
    const root = project();
    const before = repoSnapshot(root);
    const result = cli(root, ["init", ...REQUIRED]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain("## AutoResearch Config");
    expect(result.stderr).toContain("--yes");
    expect(existsSync(join(root, "autoresearch.config.json"))).toBe(false);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("--yes prints the table and writes a config the schema accepts", () => {
    const root = project();
    const result = cli(root, ["init", ...REQUIRED, "--max-iterations", "20", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("## AutoResearch Config");
    expect(result.stdout).toMatch(/\| Metric +\| val_bpb \(min\) +\|/);
    expect(result.stdout).toMatch(/\| Platform +\| CPU \(/);
    // The script does not import torch: no torch adjustments are shown for it.
    expect(result.stdout).not.toContain("Adjustments");
    const file = join(root, "autoresearch.config.json");
    const written = JSON.parse(readFileSync(file, "utf8"));
    expect(configFileSchema.safeParse(written).success).toBe(true);
    // No local install of the package: no `$schema` that would point at nothing.
    expect(written).toEqual({
      train: "train.py",
      readonly: ["prepare.py"],
      budget: "5m",
      metric: "val_bpb",
      direction: "min",
      maxIterations: 20,
      scope: "all",
      tag: dateTag(new Date()),
      results: "results.tsv",
      command: "python3 train.py",
    });
    expect(loadConfigFile(file)).toMatchObject({ budget: "5m", metric: "val_bpb" });
    // Only the config file was added; no commit was made.
    expect(git(root, "status", "--porcelain")).toBe("?? autoresearch.config.json");
    expect(git(root, "rev-list", "--count", "HEAD")).toBe("1");
  });

  it.skipIf(process.platform === "win32")("shows the torch adjustments for a script that imports torch, when the command's Python has torch", () => {
    const root = project({ "train.py": `import numpy as np, torch\n${TRAIN}` });
    const result = cli(root, ["init", ...REQUIRED, "--command", `${torchPython()} train.py`, "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| Platform +\| CPU \(.*\) with torch 2\.5\.1 +\|/);
    expect(result.stdout).toMatch(/\| Adjustments +\| torch.compile off; SDPA; fp32; batch ×0.25 \(offered to the script as AUTORESEARCH_\* variables; it reads none of them\) +\|/);
  });

  it.skipIf(process.platform === "win32")("a command whose Python lacks the torch the script imports: said before the table (with --yes too), and the table claims no adjustments", () => {
    const root = project({ "train.py": `import torch\n${TRAIN}` });
    // python3 without its site-packages: no torch, whatever this machine has installed.
    const bin = mkdtempSync(join(tmpdir(), "ar-py-"));
    writeFileSync(join(bin, "python3"), `#!/bin/sh\nexec ${JSON.stringify(realPython())} -S "$@"\n`, { mode: 0o755 });
    const result = cli(root, ["init", ...REQUIRED, "--yes"], { PATH: `${bin}${delimiter}${process.env.PATH}` });
    expect(result.code, result.stderr).toBe(0);
    const warning = result.stdout.indexOf("warning: torch is not installed in python3, but train.py imports it: every run of `python3 train.py` would fail");
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(warning).toBeLessThan(result.stdout.indexOf("## AutoResearch Config"));
    expect(result.stdout).toContain('--command, e.g. ".venv/bin/python train.py" or "uv run train.py"');
    expect(result.stdout).toMatch(/\| Adjustments +\| none \(torch is not installed in the command's Python\) +\|/);
    expect(result.stdout).not.toMatch(/batch ×0\.25/);
  });

  it("a results file tracked by git is refused, as run refuses it: no config written that run would not start with", () => {
    const root = project({ "notes.tsv": "a\tb\n" });
    const stderr = refused(root, [...REQUIRED, "--results", "notes.tsv", "--yes"]);
    expect(stderr).toMatch(/results file notes\.tsv is tracked by git/);
    expect(stderr).toMatch(/fix: Results are never committed: run `git rm --cached notes\.tsv`/);
  });

  it("outside a git repository init stops before asking anything (exit 2), nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-norepo-"));
    writeFileSync(join(dir, "train.py"), TRAIN);
    const result = cli(dir, ["init", ...REQUIRED, "--yes"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${dir} is not a git repository: nothing was asked or written`);
    expect(result.stderr).toContain("git init && git add -A && git commit -m init");
    expect(result.stdout).not.toContain("AutoResearch Config");
    expect(existsSync(join(dir, "autoresearch.config.json"))).toBe(false);
  });

  it("`$schema` points into node_modules only when the package is installed there, and the path resolves", () => {
    const root = project();
    const local = join(root, "node_modules/autoresearch/schema");
    mkdirSync(local, { recursive: true });
    copyFileSync(new URL("../../schema/autoresearch.config.schema.json", import.meta.url), join(local, "autoresearch.config.schema.json"));
    expect(cli(root, ["init", ...REQUIRED, "--yes"]).code).toBe(0);
    const written = JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8"));
    expect(written.$schema).toBe("./node_modules/autoresearch/schema/autoresearch.config.schema.json");
    expect(JSON.parse(readFileSync(join(root, written.$schema), "utf8")).title).toBe("autoresearch research config");
  });

  it("`$schema` is the package's own copy, relative, when the repo contains the package; none when it lies outside", () => {
    const root = project();
    const vendored = join(root, "vendor/autoresearch/schema/autoresearch.config.schema.json");
    mkdirSync(dirname(vendored), { recursive: true });
    writeFileSync(vendored, "{}\n");
    expect(schemaRef(root, vendored)).toBe("./vendor/autoresearch/schema/autoresearch.config.schema.json");
    expect(schemaRef(join(root, "vendor"), vendored)).toBe("./autoresearch/schema/autoresearch.config.schema.json");
    // A global install, outside the repo: a path out of it would break for anyone else who clones it.
    expect(schemaRef(join(root, "vendor/autoresearch/schema/sub"), vendored)).toBeNull();
    expect(schemaRef(root, join(root, "missing.json"))).toBeNull();
    // This checkout's own copy, from its root.
    expect(schemaRef(join(import.meta.dirname, "../.."))).toBe("./schema/autoresearch.config.schema.json");
  });

  it("takes a research team's pre-populated config: hypothesis, plan, stopWhen", () => {
    const root = project({ "plan.jsonl": "" });
    const team = {
      train: "train.py",
      readonly: ["prepare.py"],
      budget: "90s",
      metric: "val_bpb",
      direction: "min",
      hypothesis: "try hierarchical attention with a reduced context window",
      plan: "plan.jsonl",
      stopWhen: "val_bpb <= 0.97",
    };
    writeFileSync(join(root, "..", "research-config.json"), JSON.stringify(team));
    const result = cli(root, ["init", "--config", "../research-config.json", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| Hypothesis +\| try hierarchical attention/);
    expect(result.stdout).toMatch(/\| Stop when +\| val_bpb <= 0.97/);
    const written = JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8"));
    expect(written).toMatchObject({ budget: "1m30s", hypothesis: team.hypothesis, plan: "plan.jsonl", stopWhen: "val_bpb <= 0.97" });
  });

  it("precedence: flags > --config > autoresearch.config.json in the repo", () => {
    const root = project();
    writeFileSync(join(root, "autoresearch.config.json"), JSON.stringify({ budget: "10m", metric: "val_bpb", direction: "min", results: "repo.tsv" }));
    writeFileSync(join(root, "..", "team.json"), JSON.stringify({ budget: "7m", results: "team.tsv" }));
    const read = () => JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8"));
    expect(cli(root, ["init", "--yes"]).code).toBe(0);
    expect(read()).toMatchObject({ budget: "10m", results: "repo.tsv" });
    expect(cli(root, ["init", "--config", "../team.json", "--yes"]).code).toBe(0);
    expect(read()).toMatchObject({ budget: "7m", results: "team.tsv" });
    expect(cli(root, ["init", "--config", "../team.json", "--budget", "5m", "--yes"]).code).toBe(0);
    expect(read()).toMatchObject({ budget: "5m", results: "team.tsv" });
  });

  it("a read-only TIME_BUDGET that disagrees: warned and kept with --yes, never changed", () => {
    const root = project({ "prepare.py": "TIME_BUDGET = 300        # training time budget in seconds (5 minutes)\n" });
    const result = cli(root, ["init", "--budget", "2m", "--metric", "val_bpb", "--direction", "min", "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("prepare.py:1 sets TIME_BUDGET = 300 (5m), but the chosen time budget is 2m");
    expect(readFileSync(join(root, "prepare.py"), "utf8")).toContain("TIME_BUDGET = 300");
    expect(git(root, "rev-list", "--count", "HEAD")).toBe("1");
  });

  it("the default tag is the date, or the next unused one", () => {
    const root = project();
    const today = dateTag(new Date());
    git(root, "branch", `autoresearch/${today}`);
    expect(cli(root, ["init", ...REQUIRED, "--yes"]).code).toBe(0);
    expect(JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8")).tag).toBe(`${today}-2`);
  });

  it("paths given from a subdirectory are stored relative to the repo root", () => {
    const root = createRepo({ "src/train.py": TRAIN, "src/prepare.py": PREPARE });
    const result = cli(join(root, "src"), ["init", "--train", "train.py", "--readonly", "prepare.py", ...REQUIRED, "--yes"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(root, "autoresearch.config.json"), "utf8"))).toMatchObject({ train: "src/train.py", readonly: ["src/prepare.py"], command: "python3 src/train.py" });
  });
});
