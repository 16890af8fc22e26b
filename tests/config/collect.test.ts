import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { gatherInput } from "../../src/config/cli-options.js";
import { collectConfig } from "../../src/config/prompts.js";
import { UsageError } from "../../src/errors.js";
import { adjustmentsFor } from "../../src/platform/adjustments.js";
import { detectPlatform, type Exec } from "../../src/platform/index.js";
import type { PlatformInfo } from "../../src/types.js";

const cpu: PlatformInfo = { kind: "cpu", label: "CPU", device: "cpu", os: "linux", detail: "test CPU", source: "os", adjustments: adjustmentsFor("cpu") };

function project(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), "ar-collect-"));
  for (const [path, text] of Object.entries({ "train.py": 'print(f"val_bpb: {x}")\n', "prepare.py": "X = 1\n", ...files })) writeFileSync(join(root, path), text);
  return root;
}

function sink() {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

const base = (root: string) => ({ root, now: new Date(2026, 10, 26), interactive: false, yes: true, os: "linux" as const });

describe("collectConfig without a terminal", () => {
  it("missing required values are a UsageError naming flags and keys; the platform is not even detected", async () => {
    let detected = false;
    const error = await collectConfig({ budget: "5m" }, { ...base(project()), platform: async () => {
      detected = true;
      return cpu;
    } }).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('--metric <name>          (config key "metric")');
    expect(error.message).toContain('--direction <min|max>    (config key "direction")');
    expect(error.message).not.toContain("--budget");
    expect(detected).toBe(false);
  });

  it("with everything given and --yes: the config, the platform detected for the run's command, the table", async () => {
    const out = sink();
    const commands: string[] = [];
    const result = await collectConfig(
      { budget: "5m", metric: "val_bpb", direction: "min" },
      { ...base(project()), output: out.stream, platform: async (command) => {
        commands.push(command);
        return cpu;
      } },
    );
    expect(commands).toEqual(["python3 train.py"]);
    expect(result.config).toMatchObject({ train: "train.py", readonly: ["prepare.py"], budgetSec: 300, metric: "val_bpb", direction: "min", maxIterations: null, tag: "nov26", results: "results.tsv", timeoutSec: 600 });
    expect(result.platform).toBe(cpu);
    expect(out.text()).toContain(result.table);
    expect(result.table.startsWith("## AutoResearch Config\n")).toBe(true);
    expect(result.budgetEdits).toEqual([]);
  });

  it("warns of a direction against the metric's name (maximising a loss keeps every worse result)", async () => {
    const wrong = await collectConfig({ budget: "5m", metric: "val_loss", direction: "max" }, { ...base(project({ "train.py": 'print(f"val_loss: {x}")\n' })), output: sink().stream, platform: async () => cpu });
    expect(wrong.warnings).toContain("--direction max for val_loss, whose name says lower is better: a session going the wrong way keeps every worse result (pass --direction min if that is what you mean)");
    const right = await collectConfig({ budget: "5m", metric: "val_bpb", direction: "min" }, { ...base(project()), output: sink().stream, platform: async () => cpu });
    expect(right.warnings.filter((w) => w.includes("--direction"))).toEqual([]);
  });

  it("says a hypothesis is not followed by the builtin search or a plan (only the LLM and agent briefs read it)", async () => {
    const given = { budget: "5m", metric: "val_bpb", direction: "min", hypothesis: "only change WD" };
    const builtin = await collectConfig(given, { ...base(project()), output: sink().stream, platform: async () => cpu });
    expect(builtin.warnings).toContain("--hypothesis is read by the LLM and agent proposers only: the builtin search does not follow it (it stays in the config table, for you)");
    const llm = await collectConfig({ ...given, proposer: "anthropic", model: "claude-sonnet-4-5" }, { ...base(project()), output: sink().stream, platform: async () => cpu });
    expect(llm.warnings.filter((w) => w.includes("--hypothesis"))).toEqual([]);
  });

  it("without --yes it shows the table but cannot confirm", async () => {
    const out = sink();
    const error = await collectConfig({ budget: "5m", metric: "val_bpb", direction: "min" }, { ...base(project()), yes: false, output: out.stream, platform: cpu }).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.hint).toContain("--yes");
    expect(out.text()).toContain("## AutoResearch Config");
  });

  it("warns about a read-only TIME_BUDGET and a long CPU budget, changes nothing", async () => {
    const out = sink();
    const root = project({ "prepare.py": "TIME_BUDGET = 300\n" });
    const result = await collectConfig({ budget: "30m", metric: "val_bpb", direction: "min" }, { ...base(root), output: out.stream, platform: cpu });
    expect(result.budgetEdits).toEqual([]);
    expect(result.warnings[0]).toBe("prepare.py:1 sets TIME_BUDGET = 300 (5m), but the chosen time budget is 30m");
    expect(result.warnings.join("\n")).toMatch(/CPU only: a 30m budget per run is long/);
  });

  it("refuses missing default scripts, naming the flag", async () => {
    const root = mkdtempSync(join(tmpdir(), "ar-empty-"));
    const error = await collectConfig({ budget: "5m", metric: "val_bpb", direction: "min" }, { ...base(root), platform: cpu }).catch((e) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('--train "train.py" (the default): no such file');
    expect(error.message).toContain('--readonly "prepare.py" (the default): no such file');
  });
});

describe("gatherInput: flags > --config > the repo's autoresearch.config.json", () => {
  it("merges and remembers where each value came from", () => {
    const root = project();
    writeFileSync(join(root, "autoresearch.config.json"), JSON.stringify({ budget: "10m", metric: "val_loss", tag: "repo" }));
    writeFileSync(join(root, "team.json"), JSON.stringify({ budget: "7m", metric: "val_bpb", hypothesis: "h" }));
    const gathered = gatherInput({ config: "team.json", budget: "5m", yes: true }, { root, cwd: root });
    expect(gathered.input).toEqual({ budget: "5m", metric: "val_bpb", tag: "repo", hypothesis: "h" });
    expect(gathered.sources).toEqual({ budget: "flag", metric: "config", tag: "repo", hypothesis: "config" });
    expect(gathered.configFile).toBe(join(root, "team.json"));
  });

  it("names a bad flag value and a bad key", () => {
    const root = project();
    expect(() => gatherInput({ direction: "up" }, { root, cwd: root })).toThrow(/--direction "up"/);
    // 0 is no positive number: refused under the flag's name (it once passed here and was refused as "maxCostUsd").
    for (const cost of ["0", "0.0", "-1"]) expect(() => gatherInput({ maxCost: cost }, { root, cwd: root })).toThrow(`--max-cost "${cost}": a positive number`);
    expect(gatherInput({ maxCost: "0.5" }, { root, cwd: root }).input.maxCost).toBe("0.5");
    writeFileSync(join(root, "autoresearch.config.json"), JSON.stringify({ budgett: "5m" }));
    expect(() => gatherInput({}, { root, cwd: root })).toThrow(/unknown key\(s\) "budgett"/);
  });
});

describe("init and the number of workers", () => {
  /** The real detection with its processes faked: no torch in the command's Python, nvidia-smi listing `gpus` H100s. */
  const detected = (gpus: number) => {
    const exec: Exec = async (argv) =>
      /nvidia-smi/.test(argv[0] as string)
        ? { code: 0, signal: null, stdout: "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0\n".repeat(gpus), stderr: "", timedOut: false }
        : { code: null, signal: null, stdout: "", stderr: "", timedOut: false, error: "ENOENT" };
    return (command: string) => detectPlatform({ command, root: tmpdir(), exec, os: "linux" });
  };
  const given = { budget: "5m", metric: "val_bpb", direction: "min" };

  it("with several GPUs and --yes: nothing asked, the default of one worker kept, and how to use them all said", async () => {
    const out = sink();
    const result = await collectConfig(given, { ...base(project()), askAll: true, output: out.stream, platform: detected(4) });
    expect(result.platform.gpuCount).toBe(4);
    expect(result.input.workers).toBeUndefined();
    expect(result.config.workers).toBe(1);
    expect(out.text()).not.toContain("Workers:");
    expect(result.warnings.join("\n")).toContain("4 GPUs detected; this session uses 1 worker (--workers 4 or --workers auto");
  });

  it("one GPU (or none): workers stay at the default and the table has no Workers row", async () => {
    for (const gpus of [1, 0]) {
      const result = await collectConfig(given, { ...base(project()), askAll: true, output: sink().stream, platform: detected(gpus) });
      expect(result.input.workers).toBeUndefined();
      expect(result.config.workers).toBe(1);
      expect(result.table).not.toContain("Workers");
    }
  });

  it("a number given by flag or config stays; run (not init) never sets it", async () => {
    const flag = await collectConfig({ ...given, workers: 2 }, { ...base(project()), askAll: true, output: sink().stream, platform: detected(4) });
    expect(flag.config.workers).toBe(2);
    const run = await collectConfig(given, { ...base(project()), output: sink().stream, platform: detected(4) });
    expect(run.config.workers).toBe(1);
  });
});

