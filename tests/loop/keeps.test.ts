import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Proposal } from "../../src/types.js";
import { NOISY_CHECK as CHECK, NOISY_TRAIN } from "../helpers/noisy.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { isRunning } from "../runner/helpers.js";
import { testConfig, testDeps } from "./deps.js";

const step = (description: string, search: string, replace: string): Proposal => ({ description, category: "hyperparameters", edits: [{ search, replace }] });
const NOISE_WIN = step("NUDGE 0 -> 1", "const NUDGE = 0;", "const NUDGE = 1;");
const REAL_WIN = step("LEARNING_RATE 0.01 -> 0.04", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.04;");
// On top of the real win, NUDGE 3's first run (seed 0) is 0.0108 better than the best's mean: a third of the noise.
const SMALL_LUCK = step("NUDGE 0 -> 3", "const NUDGE = 0;", "const NUDGE = 3;");

async function session(plan: Proposal[], overrides: Parameters<typeof testConfig>[0], events: SessionEvent[] = [], fromProcessEnv = false) {
  const root = createRepo({ "train.js": NOISY_TRAIN, "prepare.js": FAKE_PREPARE, "check.cjs": CHECK });
  const platform = await detectPlatform({ command: "node train.js", root });
  const proposer = new PlanProposer(plan.map((p, i) => ({ ...p, planStep: i })));
  const deps = testDeps(root, proposer, events);
  // As the CLI does: each run's environment is made from this process's, secrets removed.
  if (fromProcessEnv) deps.sourceEnv = process.env;
  await research(root, { kind: "new", config: testConfig(overrides), platform }, deps);
  const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
  const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
  return { root, records, rows };
}

describe("keep rules on a noisy trainer (real runs)", () => {
  it("any keeps a noise win on one run", async () => {
    const { records, rows } = await session([NOISE_WIN], { keepRule: "any" });
    expect(records[0]?.metric).toBe(1.376643);
    expect(records[1]?.metric).toBe(1.357573);
    expect(rows.map((r) => r.status)).toEqual(["keep", "keep"]);
  });

  it("confirm without pairs (--pair-band 0) re-runs it with other seeds and discards it, and keeps the real win", async () => {
    const events: SessionEvent[] = [];
    const { root, records, rows } = await session([NOISE_WIN, REAL_WIN, SMALL_LUCK], { keepRule: "confirm", baselineRuns: 3, pairBand: 0 }, events);
    // The baseline: three runs, seeds 0 1 2, one row with their mean.
    expect(records[0]?.runs?.map((r) => r.seed)).toEqual([0, 1, 2]);
    expect(records[0]?.runs?.map((r) => r.metric)).toEqual([1.376643, 1.41901, 1.43735]);
    expect(records[0]?.metric).toBeCloseTo((1.376643 + 1.41901 + 1.43735) / 3, 9);
    expect(rows[0]?.description).toBe("Baseline — no modifications (mean of 3 runs)");
    // The noise win: first run better than the baseline's mean, confirmed runs say otherwise.
    const noise = records[1] as ExperimentRecord;
    expect(noise.status).toBe("discard");
    expect(noise.reason).toBe("not-confirmed");
    expect(noise.runs?.map((r) => r.metric)).toEqual([1.357573, 1.39063, 1.428301]);
    expect(noise.metric).toBeCloseTo((1.357573 + 1.39063 + 1.428301) / 3, 9);
    expect(noise.detail).toMatch(/not more than the 2× needed/);
    expect(rows[1]?.description).toMatch(/^NUDGE 0 -> 1 \(mean of 3 runs\): mean -0\.0\d+ vs the best is 0\.\d× the noise floor/);
    // Each repeat has its own log and its own seed.
    expect(readFileSync(recordPath(root, "runs/1.run3.log"), "utf8")).toContain("seed: 2");
    expect(readFileSync(recordPath(root, "runs/1.log"), "utf8")).toContain("seed: 0");
    // The real win stands far above the noise.
    expect(records[2]?.status).toBe("keep");
    expect(records[2]?.runs).toHaveLength(3);
    expect(records[2]?.detail).toMatch(/improvement \(\d+\.\d× the noise floor .*, more than the 2× needed\)/);
    expect(git(root, "show", "autoresearch/t1:train.js")).toContain("LEARNING_RATE = 0.04");
    // A first run better by less than (Z - 1) × noise is not worth confirming: one run, discarded.
    expect(records[3]).toMatchObject({ status: "discard", reason: "within-noise", metric: 1.000236 });
    expect(records[3]?.runs).toBeUndefined();
    expect(records[3]?.detail).toMatch(/^one run 0\.\d× the noise floor 0\.0\d+ better: not more than the 1× worth confirming$/);
    const kept = events.filter((e) => e.type === "experiment").at(-2);
    expect(kept?.type === "experiment" && kept.noise).toBeGreaterThan(0.01);
  });

  it("confirm: a confirmation run that crashes leaves the candidate not confirmed, its metric the runs that printed one", async () => {
    const flaky: Proposal = {
      description: "LR 0.04, flaky on seed 1",
      category: "optimizer",
      edits: [
        { search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" },
        { search: "const NUDGE = 0;", replace: 'const NUDGE = 0;\nif (process.env.AUTORESEARCH_SEED === "1") throw new Error("flaky on seed 1");' },
      ],
    };
    const { root, records, rows } = await session([flaky], { keepRule: "confirm", baselineRuns: 3, pairBand: 0 });
    expect(records[1]).toMatchObject({ status: "discard", reason: "not-confirmed", metric: 0.976643 });
    expect(records[1]?.detail).toMatch(/^confirmation run 2 of 3 failed: exit code 1/);
    expect(readFileSync(recordPath(root, "runs/1.run2.log"), "utf8")).toContain("flaky on seed 1");
    expect(records[1]?.runs?.map((r) => r.metric)).toEqual([0.976643, null]);
    expect(rows[1]?.description).toMatch(/^LR 0\.04, flaky on seed 1: confirmation run 2 of 3 failed/);
  });

  it("confirm with one baseline run raises it to two and says so", async () => {
    const events: SessionEvent[] = [];
    const { records } = await session([], { keepRule: "confirm" }, events);
    expect(records[0]?.runs).toHaveLength(2);
    expect(events.some((e) => e.type === "warning" && /baseline runs twice/.test(e.message))).toBe(true);
  });

  it("threshold discards a better run below --min-delta and keeps one above it", async () => {
    const { records } = await session([NOISE_WIN, REAL_WIN], { keepRule: "threshold", minDelta: "5%" });
    expect(records.map((r) => `${r.status}:${r.reason}`)).toEqual(["keep:baseline", "discard:below-threshold", "keep:improved"]);
    expect(records[1]?.detail).toMatch(/is not more than --min-delta 5% \(0\.0688\)/);
  });

  it("a failing --check blocks a keep; its output is in the experiment's log", async () => {
    const events: SessionEvent[] = [];
    const { root, records, rows } = await session([REAL_WIN, NOISE_WIN], { checks: ["node check.cjs"] }, events);
    expect(records[1]?.status).toBe("discard");
    expect(records[1]?.reason).toBe("check-failed");
    expect(records[1]?.detail).toBe("check failed: node check.cjs: exit code 3: sanity: learning rate 0.04 is banned");
    expect(records[1]?.checks).toEqual([{ command: "node check.cjs", ok: false }]);
    expect(rows[1]?.status).toBe("discard");
    const log = readFileSync(recordPath(root, "runs/1.log"), "utf8");
    expect(log).toContain("--- autoresearch check 1: node check.cjs (exit code 3) ---\nsanity: learning rate 0.04 is banned");
    expect(existsSync(recordPath(root, "runs/1.log.check1"))).toBe(false);
    // The branch was reset: the rejected learning rate is not on it.
    expect(readFileSync(join(root, "train.js"), "utf8")).toContain("LEARNING_RATE = 0.01;");
    // A passing check lets the (noise) win through under `any`.
    expect(records[2]?.status).toBe("keep");
    expect(records[2]?.checks).toEqual([{ command: "node check.cjs", ok: true }]);
    expect(events.filter((e) => e.type === "check").map((e) => e.type === "check" && e.ok)).toEqual([false, true]);
  });

  it("a check gets the run's environment and the hard timeout kills its whole process tree", async () => {
    const out = mkdtempSync(join(tmpdir(), "ar-check-"));
    const script = join(out, "slow-check.cjs");
    writeFileSync(
      script,
      `const fs = require("node:fs");
const { spawn } = require("node:child_process");
fs.writeFileSync(${JSON.stringify(join(out, "env.json"))}, JSON.stringify({ seed: process.env.AUTORESEARCH_SEED, id: process.env.AUTORESEARCH_EXPERIMENT, budget: process.env.AUTORESEARCH_TIME_BUDGET, secret: process.env.MY_API_KEY ?? null }));
const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
fs.writeFileSync(${JSON.stringify(join(out, "grandchild.pid"))}, String(child.pid));
setTimeout(() => {}, 60000);
`,
    );
    const previous = process.env.MY_API_KEY;
    process.env.MY_API_KEY = "sk-should-not-leak";
    try {
      const { records } = await session([REAL_WIN], { checks: [`node ${JSON.stringify(script)}`], budgetSec: 1, timeoutSec: 1, runSeed: 5 }, [], true);
      expect(records[1]).toMatchObject({ status: "discard", reason: "check-failed" });
      expect(records[1]?.detail).toMatch(/^check failed: node .*slow-check\.cjs.*: timed out after 1s: \[autoresearch\] hard timeout \(1s\) reached/);
      expect(JSON.parse(readFileSync(join(out, "env.json"), "utf8"))).toEqual({ seed: "5", id: "1", budget: "1", secret: null });
      const pid = Number(readFileSync(join(out, "grandchild.pid"), "utf8"));
      expect(isRunning(pid)).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.MY_API_KEY;
      else process.env.MY_API_KEY = previous;
    }
  });
});
