import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { contentionText, noiseOfRecords } from "../../src/metric/index.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Proposal } from "../../src/types.js";
import { createRepo, FAKE_PREPARE, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

// The trainer counts its runs in a file outside the repository: the sandbox is off for it.
/**
 * A trainer on a machine that is busy during the runs listed in BUSY (counted across the
 * session in a file outside the repo): a busy run fits 0.6x the steps in its 10 s and scores
 * 0.05 worse, as nanoGPT did on a shared CPU. SPEED is the code's own steps per 10 s. A seed
 * moves the steps and the metric a little (seed % 1000: a parent's runs in pairs take seeds from 1000).
 */
function trainer(counter: string, busy: number[]): string {
  return `const fs = require("node:fs");
const SPEED = 500;
const BETTER = 0;
const BUSY = ${JSON.stringify(busy)};
const n = (fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${JSON.stringify(counter)}, "utf8")) : 0) + 1;
fs.writeFileSync(${JSON.stringify(counter)}, String(n));
const seed = Number(process.env.AUTORESEARCH_SEED ?? 0);
const busy = BUSY.includes(n);
console.log("run: " + n);
console.log("num_steps: " + (Math.round(SPEED * (busy ? 0.6 : 1)) + (seed % 1000)));
console.log("training_seconds: 10.0");
console.log("val_loss: " + (1 - BETTER + (busy ? 0.05 : 0) + (seed % 1000) * 0.001).toFixed(6));
`;
}

async function session(busy: number[], plan: Proposal[], overrides: Parameters<typeof testConfig>[0]) {
  const counter = join(mkdtempSync(join(tmpdir(), "ar-busy-")), "runs");
  const root = createRepo({ "train.js": trainer(counter, busy), "prepare.js": FAKE_PREPARE });
  const platform = await detectPlatform({ command: "node train.js", root });
  const events: SessionEvent[] = [];
  await research(root, { kind: "new", config: testConfig({ sandbox: "off", ...overrides }), platform }, testDeps(root, new PlanProposer(plan), events));
  const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
  return { root, records, events };
}

const warnings = (events: SessionEvent[]): string[] => events.flatMap((e) => (e.type === "warning" ? [e.message] : []));

describe("runs slowed by a busy machine are re-run (real runs)", () => {
  it("a baseline repeat far below the first run's steps/s is run again, kept aside, and left out of the metric and the noise floor", async () => {
    const { root, records, events } = await session([2], [], { keepRule: "any", baselineRuns: 3 });
    const baseline = records[0] as ExperimentRecord;
    // Runs 1, 3 and 4 of the machine decided; run 2 (300 steps) was contended.
    expect(baseline.runs?.map((r) => [r.seed, r.steps, r.metric])).toEqual([
      [0, 500, 1],
      [1, 501, 1.001],
      [2, 502, 1.002],
    ]);
    expect(baseline.contendedRuns).toMatchObject([{ seed: 1, steps: 301, trainingSec: 10, metric: 1.051, contended: true }]);
    expect(baseline.metric).toBeCloseTo(1.001, 9);
    expect(noiseOfRecords(records)?.sd).toBeCloseTo(0.001, 9);
    expect(warnings(events).join("\n")).toMatch(/experiment 0: baseline run 2 ran at 30\.1 steps\/s, the same code 50\.0: the machine was busy \(contention\); running it again/);
    // The slowed run's output is kept beside the one that counts.
    expect(readFileSync(recordPath(root, "runs/0.run2.contended1.log"), "utf8")).toContain("run: 2");
    expect(readFileSync(recordPath(root, "runs/0.run2.log"), "utf8")).toContain("run: 3");
    // Each run records the machine's load around it.
    expect(baseline.runs?.[0]?.load).toMatchObject({ loadStart: expect.any(Number), loadEnd: expect.any(Number), cores: expect.any(Number) });
  });

  it("a slowed confirmation run is run again; a change that makes training slower keeps its own speed (other code is never compared)", async () => {
    const slower: Proposal = {
      description: "SPEED 500 -> 300, BETTER 0 -> 0.1",
      category: "hyperparameters",
      edits: [
        { search: "const SPEED = 500;", replace: "const SPEED = 300;" },
        { search: "const BETTER = 0;", replace: "const BETTER = 0.1;" },
      ],
    };
    // Machine runs: 1-2 the baseline, 3 the candidate's first run, 4 (busy) its second, re-run as 5, then 6.
    // Confirmation runs without pairs (--pair-band 0): the counting above is of the candidate's own runs.
    const { records, events } = await session([4], [slower], { keepRule: "confirm", baselineRuns: 2, confirmRuns: 2, pairBand: 0 });
    expect(records[0]?.contendedRuns).toBeUndefined();
    const candidate = records[1] as ExperimentRecord;
    expect(candidate.status).toBe("keep");
    // Its first run (30 steps/s) is not contended against the baseline's 50: different code.
    expect(candidate.runs?.map((r) => r.steps)).toEqual([300, 301, 302]);
    expect(candidate.contendedRuns?.map((r) => r.steps)).toEqual([181]);
    expect(warnings(events).filter((w) => w.includes("contention"))).toHaveLength(1);
    expect(warnings(events).join("\n")).toMatch(/experiment 1: confirmation run 2 ran at 18\.1 steps\/s, the same code 30\.0/);
  });

  it("a parent's run in a pair slowed by the machine is run again and counted, never paired", async () => {
    const better: Proposal = { description: "BETTER 0 -> 0.02", category: "hyperparameters", edits: [{ search: "const BETTER = 0;", replace: "const BETTER = 0.02;" }] };
    // Machine runs: 1-2 the baseline, 3 the candidate's first run (paired with run 2, its parent's
    // just before), 4 the candidate's run of pair 2, 5 (busy) its parent's, run again as 6.
    const { records, events } = await session([5], [better], { keepRule: "confirm", baselineRuns: 2 });
    const candidate = records[1] as ExperimentRecord;
    expect(candidate.firstPaired).toBe(true);
    expect(candidate.parentRuns?.[0]).toMatchObject({ seed: 1, steps: 501, reused: true });
    expect(candidate.contendedRuns).toMatchObject([{ seed: 1000, steps: 300, metric: 1.05, contended: true }]);
    expect(candidate.parentRuns?.[1]).toMatchObject({ seed: 1000, steps: 500, metric: 1 });
    expect(candidate.parentRuns?.every((r) => r.steps !== 300)).toBe(true);
    expect(warnings(events).join("\n")).toMatch(/experiment 1: its parent's run in pair 2 ran at 30\.0 steps\/s, the same code 50\.\d+: the machine was busy \(contention\); running it again/);
    expect(contentionText(records)).toMatch(/^1 of \d+ runs was re-run for contention/);
  });

  it("a re-run that is slowed again is decided after two re-runs", async () => {
    const { records } = await session([2, 3, 4], [], { keepRule: "any", baselineRuns: 2 });
    expect(records[0]?.contendedRuns).toHaveLength(2);
    expect(records[0]?.runs?.map((r) => r.steps)).toEqual([500, 301]);
  });
});
