import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { headOf, measuredOf } from "../../src/ledger/tree.js";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { research } from "../../src/loop/research.js";
import { mean } from "../../src/metric/index.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Proposal } from "../../src/types.js";
import { DRIFT_TRAIN } from "../helpers/noisy.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

const step = (description: string, search: string, replace: string): Proposal => ({ description, category: "hyperparameters", edits: [{ search, replace }] });
const nudge = (k: number) => step(`NUDGE 0 -> ${k}`, "const NUDGE = 0;", `const NUDGE = ${k};`);
const REAL = step("BOOST 0 -> 1", "const BOOST = 0;", "const BOOST = 1;");

/** A session on the drifting trainer (real git, real processes); its records. */
async function session(plan: Proposal[], overrides: Parameters<typeof testConfig>[0], env: Record<string, string> = {}) {
  const root = createRepo({ "train.js": DRIFT_TRAIN, "prepare.js": FAKE_PREPARE });
  const platform = await detectPlatform({ command: "node train.js", root });
  const deps = testDeps(root, new PlanProposer(plan.map((p, i) => ({ ...p, planStep: i }))));
  // The load's clock lives outside the repository (and so outside the sandbox's writable clone).
  deps.baseEnv = { ...deps.baseEnv, DRIFT_FILE: join(mkdtempSync(join(tmpdir(), "ar-drift-")), "runs"), ...env };
  await research(root, { kind: "new", config: testConfig({ sandbox: "off", ...overrides }), platform }, deps);
  const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
  return { root, records };
}

const byDescription = (records: ExperimentRecord[]) => Object.fromEntries(records.map((r) => [r.description, r.status]));

describe("paired decisions under a drifting load (real runs)", () => {
  // Four no-ops and one real change, the drift rising then falling across the session.
  const plan = [nudge(1), nudge(2), REAL, nudge(3), nudge(4)];

  it("the paired confirm keeps the real change and no no-op, where confirm without pairs does not", async () => {
    const old = await session(plan, { keepRule: "confirm", pairBand: 0 }, { DRIFT_PHASE: "3.3" });
    const paired = await session(plan, { keepRule: "confirm" }, { DRIFT_PHASE: "3.3" });
    const expected = { "NUDGE 0 -> 1": "discard", "NUDGE 0 -> 2": "discard", "BOOST 0 -> 1": "keep", "NUDGE 0 -> 3": "discard", "NUDGE 0 -> 4": "discard" };
    expect(byDescription(old.records.slice(1))).not.toEqual(expected);
    expect(byDescription(paired.records.slice(1))).toEqual(expected);
    expect(git(paired.root, "show", "autoresearch/t1:train.js")).toContain("const BOOST = 1;");
    // Decided on pairs: the candidate's runs and its parent's side by side, the parent's seeds its own.
    const real = paired.records.find((r) => r.description === "BOOST 0 -> 1") as ExperimentRecord;
    expect(real.parentRuns?.length).toBeGreaterThan(1);
    // Its first run is in the first pair: one run of each per pair.
    expect(real.firstPaired).toBe(true);
    expect(real.runs).toHaveLength(real.parentRuns?.length ?? 0);
    expect(real.parentRuns?.every((r) => r.reused || r.seed >= 1000)).toBe(true);
    expect(real.detail).toMatch(/paired: better than its parent on \d pairs/);
    // results.tsv says how its metric was drawn: its parent's plus the pairs' difference, not "the mean of its runs" (it is not).
    const row = parseResults(readFileSync(join(paired.root, "results.tsv"), "utf8")).rows.find((r) => real.commit.startsWith(r.commit));
    expect(row?.description).toContain(`BOOST 0 -> 1 (its parent's plus the mean difference of ${real.parentRuns?.length} pairs): `);
    // The first pair costs one run at most: a first run right after a run of its parent pairs with it (reused).
    const reused = paired.records.filter((r) => r.parentRuns?.[0]?.reused);
    expect(reused.length).toBeGreaterThan(0);
    for (const r of reused) {
      // It is a run of its parent recorded earlier (the parent's own run, or a parent run of an earlier decision), not a new one.
      const earlier = paired.records.filter((e) => e.id < r.id).flatMap((e) => [...(e.commit === r.parent ? (e.runs ?? []) : []), ...(e.parent === r.parent ? (e.parentRuns ?? []).filter((x) => !x.reused) : [])]);
      expect(earlier).toContainEqual({ ...(r.parentRuns?.[0] as object), reused: undefined });
    }
    // Each parent run made for a pair has its own log, named by its pair.
    const own = (real.parentRuns ?? []).flatMap((r, i) => (r.reused ? [] : [i + 1]));
    expect(own.length).toBeGreaterThan(0);
    for (const pair of own) expect(readFileSync(recordPath(paired.root, `runs/${real.id}.parent${pair}.log`), "utf8")).toContain("val_loss:");
  }, 120_000);

  it("a slow first run of a real improvement (far worse than its parent, at fewer steps/s) is re-run and kept", async () => {
    const env = { SLOW_FIRST: "1", DRIFT_PHASE: "4.5" };
    const plan = [nudge(1), nudge(2), REAL];
    const old = await session(plan, { keepRule: "confirm", pairBand: 0 }, env);
    expect(old.records[3]).toMatchObject({ description: "BOOST 0 -> 1", status: "discard", reason: "regression" });
    const { records } = await session(plan, { keepRule: "confirm" }, env);
    const real = records[3] as ExperimentRecord;
    expect(real.description).toBe("BOOST 0 -> 1");
    // Its first run was worse than its parent's measured metric, beyond the band...
    expect(real.runs?.[0]?.metric as number).toBeGreaterThan(real.bestBefore as number);
    // ... and slower than its parent's run beside it (290 steps in 30 s, its parent 400): maybe
    // slowed by the machine, it is left out of the pairs, which start afresh, and it is kept.
    expect(real.runs?.[0]?.steps).toBe(290);
    expect(real.firstPaired).toBeUndefined();
    expect(real.status).toBe("keep");
    expect(real.parentRuns?.length).toBeGreaterThan(1);
    expect(real.runs).toHaveLength((real.parentRuns?.length ?? 0) + 1);
  }, 120_000);

  it("the head's metric moves to the mean of its runs, re-runs as a parent included", async () => {
    const { records } = await session([nudge(1), nudge(2)], { keepRule: "confirm" }, { DRIFT_PHASE: "0" });
    const baseline = records[0] as ExperimentRecord;
    expect(records.slice(1).every((r) => r.status === "discard")).toBe(true);
    // Each run once: a parent run reused as the partner of the next first run is counted where it was recorded.
    const parentRuns = records.slice(1).flatMap((r) => (r.parentRuns ?? []).filter((x) => !x.reused).map((x) => x.metric as number));
    expect(parentRuns.length).toBeGreaterThan(0);
    const all = [...(baseline.runs ?? []).map((r) => r.metric as number), ...parentRuns];
    expect(measuredOf(records, baseline)).toBeCloseTo(mean(all), 9);
    expect(measuredOf(records, baseline)).not.toBeCloseTo(baseline.metric as number, 9);
    expect(headOf(records, "min").id).toBe(0);
    // The second experiment was decided against the baseline's mean after the first one's pairs.
    const firstPairs = (records[1]?.parentRuns ?? []).filter((r) => !r.reused).map((r) => r.metric as number);
    expect(records[2]?.bestBefore).toBeCloseTo(mean([...(baseline.runs ?? []).map((r) => r.metric as number), ...firstPairs]), 9);
  }, 120_000);
});
