import { describe, expect, it } from "vitest";
import { headOf, measuredOf } from "../../src/ledger/tree.js";
import { driftSpread, FUTILITY_Z, measuredMeans, noiseOfRecords, pairedNoise, pairedVerdict, pairsOf } from "../../src/metric/index.js";
import { MIN_KEEP_DOF, studentCritical } from "../../src/metric/paired.js";
import { keepRuleOf } from "../../src/search/keep-rule.js";
import type { ExperimentRecord } from "../../src/types.js";
import { testConfig } from "../loop/deps.js";

const run = (metric: number, seed = 0) => ({ seed, metric, durationSec: 1 });
const node = (id: number, commit: string, parent: string, fields: Partial<ExperimentRecord>): ExperimentRecord =>
  ({ id, commit, parent, status: "keep", reason: "improved", description: `#${id}`, category: "other", lines: 10, trainHash: `h-${commit}`, metric: null, memGb: null, params: null, durationSec: 1, startedAt: "", finishedAt: "", proposer: "plan", bestBefore: null, ...fields }) as ExperimentRecord;

describe("the sequential rule on paired differences", () => {
  const base = { prior: { sd: 0.007, dof: 10, groups: 3 }, fallbackSd: 0.01, confidence: 2, maxPairs: 4 };
  it("keeps once both orders say clearly better, stops as soon as a pair is not better, and decides at the last pair", () => {
    // One pair alone may be bent by a drift within it: a keep waits for the second order.
    expect(pairedVerdict({ ...base, gains: [0.03] }).state).toBe("continue");
    expect(pairedVerdict({ ...base, gains: [0.03, 0.025] }).state).toBe("keep");
    // The futility bound: less than FUTILITY_Z standard errors above zero stops at once.
    expect(FUTILITY_Z).toBeGreaterThan(0);
    expect(pairedVerdict({ ...base, gains: [-0.001] })).toMatchObject({ state: "discard", detail: "not better than its parent on 1 pair: mean gain -0.00100, -0.1 standard errors, less than the 0.25 to go on" });
    expect(pairedVerdict({ ...base, gains: [0.005] }).state).toBe("continue");
    expect(pairedVerdict({ ...base, gains: [0.004, -0.002] }).state).toBe("discard");
    expect(pairedVerdict({ ...base, gains: [0.008, 0.007, 0.009, 0.008] }).state).toBe("keep");
    const last = pairedVerdict({ ...base, gains: [0.004, 0.003, 0.004, 0.003] });
    expect(last.state).toBe("discard");
    expect(last.detail).toMatch(/on 4 pairs is \d\.\d standard errors, not more than the 2\.\d needed/);
    expect(pairedVerdict({ ...base, gains: [0.004, 0.003, 0.004] }).state).toBe("continue");
  });

  it("never keeps on a guessed spread, and asks more of a spread from few pairs", () => {
    // No earlier pairs: however good, pairs whose spread is unknown are not a keep.
    expect(pairedVerdict({ ...base, prior: null, gains: [0.5] }).state).toBe("continue");
    expect(pairedVerdict({ ...base, prior: null, gains: [0.5, 0.5] }).state).toBe("continue");
    expect(studentCritical(2, 2)).toBeGreaterThan(3.9);
    expect(studentCritical(2, 1e9)).toBeCloseTo(2, 6);
    // Too few degrees of freedom (the baseline's two runs and a pair or two): no keep yet.
    expect(MIN_KEEP_DOF).toBeGreaterThan(2);
    expect(pairedVerdict({ ...base, prior: { sd: 0.007, dof: MIN_KEEP_DOF - 2, groups: 1 }, gains: [0.03, 0.03] }).state).toBe("continue");
    expect(pairedVerdict({ ...base, prior: { sd: 0.007, dof: MIN_KEEP_DOF - 1, groups: 1 }, gains: [0.03, 0.03] }).state).toBe("keep");
    // The gain is the mean of the two orders' means: a drift that favours one order (A B) over the
    // other (B A) cancels in it; the spread is measured around the decision's mean, the drift in it.
    expect(pairedVerdict({ ...base, gains: [0.0, 0.02] }).gain).toBeCloseTo(0.01, 12);
    expect(pairedVerdict({ ...base, gains: [0.0, 0.02, 0.0] }).gain).toBeCloseTo(0.01, 12);
    expect(pairedNoise([[0.01, 0.03, 0.01, 0.03]])).toMatchObject({ dof: 3, groups: 1 });
    expect(pairedNoise([[0.01, 0.03, 0.01, 0.03]])?.sd).toBeCloseTo(Math.sqrt(0.0004 / 3), 12);
  });

  it("measures a pair's spread from runs of identical code made back to back too", () => {
    // Two successive differences of 0.01: a pair of a no-op varies as much.
    expect(pairedNoise([], [[1.0, 1.01, 1.0]])).toMatchObject({ dof: 2, groups: 1 });
    expect(pairedNoise([], [[1.0, 1.01, 1.0]])?.sd).toBeCloseTo(0.01, 12);
    // A slow drift across the runs hardly moves it (it would double a pooled sd).
    expect(pairedNoise([], [[1.0, 1.01, 1.02, 1.03]])?.sd).toBeCloseTo(0.01, 12);
    expect(pairedNoise([[0.01]], [[1.0]])).toBeNull();
  });

  it("reads which runs pair up: the first run in the first pair, or left out", () => {
    const runs = [run(1.0), run(1.1, 1), run(1.2, 2)];
    const parentRuns = [run(2.0, 1000), run(2.1, 1001)];
    expect(pairsOf({ runs, parentRuns, firstPaired: true })).toEqual([
      { candidate: 1.0, parent: 2.0 },
      { candidate: 1.1, parent: 2.1 },
    ]);
    expect(pairsOf({ runs, parentRuns })).toEqual([
      { candidate: 1.1, parent: 2.0 },
      { candidate: 1.2, parent: 2.1 },
    ]);
    expect(pairsOf({ runs })).toEqual([]);
  });
});

describe("a node's measured metric", () => {
  // The baseline ran twice, then was re-run twice as the parent of #1's pairs; #1 was kept on pairs.
  const baseline = node(0, "a", "a", { reason: "baseline", metric: 1.0, runs: [run(0.99), run(1.01)] });
  const one = node(1, "b", "a", { metric: 0.97, bestBefore: 1.0, runs: [run(0.95), run(1.02, 1), run(1.03, 2)], parentRuns: [run(1.05, 1000), run(1.07, 1001)] });
  const records = [baseline, one];

  it("is the mean of all the node's runs, its runs as a parent included", () => {
    expect(measuredMeans(records).get("a")).toBeCloseTo((0.99 + 1.01 + 1.05 + 1.07) / 4, 12);
    expect(measuredOf(records, baseline)).toBeCloseTo(1.03, 12);
  });

  it("sits on its parent's scale for a node decided on pairs", () => {
    // 1.03 + mean(1.02 - 1.05, 1.03 - 1.07) = 1.03 - 0.035
    expect(measuredOf(records, one)).toBeCloseTo(0.995, 12);
  });

  it("ranks the head: a lucky first run is not the best once re-runs say otherwise", () => {
    const lucky = node(2, "c", "a", { metric: 0.96, bestBefore: 1.0 });
    const rerun = node(3, "d", "c", { status: "discard", reason: "not-confirmed", metric: 0.99, bestBefore: 0.96, runs: [run(0.99), run(0.99, 1)], parentRuns: [run(1.0, 1000)] });
    expect(headOf([baseline, lucky], "min").id).toBe(2);
    // c's runs: 0.96 and 1.0 (as #3's parent): mean 0.98, still better than the baseline's 1.0.
    expect(measuredOf([baseline, lucky, rerun], lucky)).toBeCloseTo(0.98, 12);
    const again = node(4, "e", "c", { status: "discard", reason: "not-confirmed", metric: 1.0, bestBefore: 0.98, runs: [run(1.0), run(1.0, 1), run(1.0, 2)], parentRuns: [run(1.06, 1001), run(1.06, 1002)] });
    expect(headOf([baseline, lucky, rerun, again], "min").id).toBe(0);
  });

  it("pools the parent's paired runs into the noise floor under the parent's code", () => {
    const withPairs = noiseOfRecords(records);
    const without = noiseOfRecords(records.map((r) => ({ ...r, parentRuns: undefined })));
    expect(withPairs?.dof).toBe((without?.dof ?? 0) + 2);
  });

  it("counts a reused parent run once: where it was first recorded", () => {
    // #2's first run paired with the baseline's run just before it (1.01, reused), then one fresh pair.
    const two = node(2, "c", "a", { status: "discard", reason: "not-confirmed", metric: 1.0, bestBefore: 1.03, firstPaired: true, runs: [run(1.0), run(1.02, 1)], parentRuns: [{ ...run(1.01, 1), reused: true }, run(1.04, 1002)] });
    const all = [baseline, one, two];
    expect(measuredMeans(all).get("a")).toBeCloseTo((0.99 + 1.01 + 1.05 + 1.07 + 1.04) / 5, 12);
    expect(noiseOfRecords(all)?.dof).toBe((noiseOfRecords(records)?.dof ?? 0) + 1 + 1);
    // Its own measured metric: the parent's plus the mean of (1.0 - 1.01, 1.02 - 1.04).
    expect(measuredOf(all, two)).toBeCloseTo((0.99 + 1.01 + 1.05 + 1.07 + 1.04) / 5 - 0.015, 12);
  });

  it("counts runs `confirm` made of a node: in its mean and in the noise floor", () => {
    const confirmed = [{ ...baseline, confirmRuns: [run(1.1, 5), run(1.12, 6)] }, one];
    expect(measuredOf(confirmed, confirmed[0] as ExperimentRecord)).toBeCloseTo((0.99 + 1.01 + 1.05 + 1.07 + 1.1 + 1.12) / 6, 12);
    expect(noiseOfRecords(confirmed)?.dof).toBe((noiseOfRecords(records)?.dof ?? 0) + 2);
    // A node decided on pairs: its pairs' estimate and confirm's runs, one run as much as one pair.
    const paired = [baseline, { ...one, confirmRuns: [run(1.0, 5)] }];
    expect(measuredOf(paired, paired[1] as ExperimentRecord)).toBeCloseTo((2 * 0.995 + 1.0) / 3, 12);
  });
});

describe("the band of the paired rule", () => {
  it("widens with how far runs have lately landed from the metric they were compared with", () => {
    const quiet = [1, 2, 3].map((i) => node(i, `q${i}`, "a", { status: "discard", metric: 1.004, bestBefore: 1.0 }));
    const drifting = [1, 2, 3].map((i) => node(i, `d${i}`, "a", { status: "discard", metric: 1.04, bestBefore: 1.0, runs: [run(1.04), run(1.045, 1)], parentRuns: [run(1.05, 1000)] }));
    expect(driftSpread(quiet.slice(0, 2))).toBeNull();
    expect(driftSpread(quiet)).toBeCloseTo(0.004 / 0.674, 6);
    expect(driftSpread(drifting) as number).toBeGreaterThan(0.05);
  });

  it("places a first run on either side of its parent", () => {
    const rule = keepRuleOf(testConfig({ keepRule: "confirm" }));
    expect(rule.placeOf(1.015, 1.0, "min", 0.01)).toBe("pair");
    expect(rule.placeOf(0.985, 1.0, "min", 0.01)).toBe("pair");
    expect(rule.placeOf(1.03, 1.0, "min", 0.01)).toBe("worse");
    expect(rule.placeOf(0.97, 1.0, "min", 0.01)).toBe("better");
    expect(rule.placeOf(0.97, 1.0, "min", null)).toBeNull();
    expect(keepRuleOf(testConfig({ keepRule: "confirm", pairBand: 0 })).placeOf(1.0, 1.0, "min", 0.01)).toBeNull();
    expect(keepRuleOf(testConfig({ keepRule: "any" })).placeOf(1.0, 1.0, "min", 0.01)).toBeNull();
  });
});
