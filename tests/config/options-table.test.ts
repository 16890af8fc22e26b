import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OPTION_DEFS, type OptionKey, researchConfigSchema } from "../../src/config/options.js";
import { resolveConfig } from "../../src/config/resolve.js";

const KEYS = Object.keys(OPTION_DEFS) as OptionKey[];

describe("the option table is the one source of the config", () => {
  it("gives every option a resolved field of the config schema, and every field an option", () => {
    const fields = KEYS.map((key) => OPTION_DEFS[key].field).sort();
    expect(Object.keys(researchConfigSchema.shape).sort()).toEqual(fields);
  });

  it("resolves every option it declares (none is dropped on the way to session.json)", () => {
    const root = mkdtempSync(join(tmpdir(), "ar-opts-"));
    const input = {
      train: "t.py",
      readonly: ["p.py"],
      budget: "2m",
      metric: "val_loss",
      direction: "min",
      maxIterations: "7",
      scope: "optimizer",
      tag: "x1",
      results: "r.tsv",
      command: "python3 t.py",
      timeout: "5m",
      metricPattern: "^val_loss=([0-9.]+)",
      proposer: "openai",
      seed: "3",
      runSeed: "7",
      baselineRuns: "3",
      keepRule: "threshold",
      minDelta: "0.5%",
      confirmRuns: "4",
      confidence: "2.5",
      pairBand: "1.5",
      check: ["pytest -q", "python3 sanity.py"],
      model: "gpt-5",
      baseUrl: "http://127.0.0.1:1/v1",
      apiKeyEnv: "MY_KEY",
      openaiApi: "chat",
      prices: "prices.json",
      plan: "plan.jsonl",
      hypothesis: "smaller batches",
      stopWhen: "val_loss <= 0.5",
      maxTime: "8h",
      maxCost: "2.5",
      passEnv: "WANDB_API_KEY",
      share: ["checkpoints/pretrained", "tokenizer.pkl"],
      sandbox: "off",
      notify: "https://hooks.example/services/T0/B0/secret",
      reportEvery: "4",
      workers: "2",
      devices: "0,1",
      lookahead: "3",
      search: "chain",
      stagnation: "6",
      executor: "ssh",
      slurmArgs: "--partition=gpu --gres=gpu:1",
      hosts: "gpu1,gpu2:0+1",
      remoteDir: "/scratch/ar",
      maxPending: "30m",
    };
    // The agent's settings are refused beside an LLM proposer (only the agent reads them): resolved on their own below.
    const agentOnly = { agent: "claude", agentTimeout: "10m" };
    expect([...Object.keys(input), ...Object.keys(agentOnly)].sort()).toEqual([...KEYS].sort());
    const base = { budget: "2m", metric: "val_loss", direction: "min" };
    expect(resolveConfig({ ...base, proposer: "agent", ...agentOnly }, { root, now: new Date(2026, 10, 27), platform: "linux" })).toMatchObject({ proposer: "agent", agent: "claude", agentTimeoutSec: 600 });
    const config = resolveConfig(input, { root, now: new Date(2026, 10, 27), platform: "linux" });
    expect(config).toEqual({
      train: "t.py",
      readonly: ["p.py"],
      budgetSec: 120,
      metric: "val_loss",
      direction: "min",
      maxIterations: 7,
      scope: ["optimizer"],
      tag: "x1",
      results: "r.tsv",
      command: "python3 t.py",
      timeoutSec: 300,
      metricPattern: "^val_loss=([0-9.]+)",
      proposer: "openai",
      seed: 3,
      runSeed: 7,
      baselineRuns: 3,
      keepRule: "threshold",
      minDelta: "0.5%",
      confirmRuns: 4,
      confidence: 2.5,
      pairBand: 1.5,
      checks: ["pytest -q", "python3 sanity.py"],
      model: "gpt-5",
      baseUrl: "http://127.0.0.1:1/v1",
      apiKeyEnv: "MY_KEY",
      openaiApi: "chat",
      prices: "prices.json",
      plan: "plan.jsonl",
      hypothesis: "smaller batches",
      stopWhen: "val_loss <= 0.5",
      maxTimeSec: 28800,
      maxCostUsd: 2.5,
      passEnv: ["WANDB_API_KEY"],
      share: ["checkpoints/pretrained", "tokenizer.pkl"],
      sandbox: "off",
      notify: "https://hooks.example/services/T0/B0/secret",
      reportEvery: 4,
      workers: 2,
      devices: ["0", "1"],
      lookahead: 3,
      search: "chain",
      stagnation: 6,
      executor: "ssh",
      slurmArgs: "--partition=gpu --gres=gpu:1",
      hosts: ["gpu1", "gpu2:0+1"],
      remoteDir: "/scratch/ar",
      maxPendingSec: 1800,
    });
  });

  it("--devices alone gives one worker per device; each is a GPU index or uuid, none twice", () => {
    const root = mkdtempSync(join(tmpdir(), "ar-opts-"));
    const ctx = { root, now: new Date(2026, 10, 27), platform: "linux" as const };
    const base = { budget: "2m", metric: "val_loss", direction: "min" };
    // The fallback of --workers was 1 whatever --devices said: `--devices 0,1` ran one worker on GPU 0.
    expect(resolveConfig({ ...base, devices: "0,1" }, ctx)).toMatchObject({ workers: 2, devices: ["0", "1"] });
    expect(resolveConfig({ ...base, devices: "0,1,2", workers: "1" }, ctx)).toMatchObject({ workers: 1 });
    expect(resolveConfig(base, ctx)).toMatchObject({ workers: 1 });
    expect(() => resolveConfig({ ...base, devices: "abc" }, ctx)).toThrow(/device "abc" is not a GPU index or uuid/);
    expect(() => resolveConfig({ ...base, devices: "0,0" }, ctx)).toThrow(/device 0 is listed twice/);
    expect(resolveConfig({ ...base, devices: ["GPU-5f3c1a2b", "MIG-0a1b/1/0"] }, ctx)).toMatchObject({ workers: 2 });
  });

  it("is what docs/config.md lists, key by key", () => {
    const doc = readFileSync(new URL("../../docs/config.md", import.meta.url), "utf8");
    const cell = (text: string) => text.replace(/\|/g, "\\|");
    for (const key of KEYS) {
      const def = OPTION_DEFS[key];
      expect(doc, key).toContain(`| \`${key}\` | \`${cell(def.flag)}\` | ${cell(def.help)} |`);
    }
  });
});
