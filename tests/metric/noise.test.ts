import { describe, expect, it } from "vitest";
import { confidence, describeConfidence, noiseOfRecords, parseMinDelta, pooledNoise, requiredGain, sampleSd } from "../../src/metric/index.js";
import { verdictText } from "../../src/loop/confirm-command.js";
import { confirmVerdict, keepRuleOf } from "../../src/search/keep-rule.js";
import { testConfig } from "../loop/deps.js";

describe("noise floor statistics on known values", () => {
  it("pools the spread of groups of identical code, skipping groups of one", () => {
    // Group A: 1, 3 (mean 2, squares 1 + 1); group B: 10, 12, 14 (mean 12, squares 4 + 0 + 4); C alone.
    const estimate = pooledNoise([[1, 3], [10, 12, 14], [99]]);
    expect(estimate).toEqual({ sd: Math.sqrt(10 / 3), dof: 3, groups: 2 });
    expect(pooledNoise([[5], [6]])).toBeNull();
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.13809, 5);
  });

  it("groups records by the training script's hash, each run counted, crashes left out", () => {
    const records = [
      { status: "keep" as const, trainHash: "a", metric: 2, runs: [{ metric: 1 }, { metric: 3 }] },
      { status: "discard" as const, trainHash: "b", metric: 10 },
      { status: "discard" as const, trainHash: "b", metric: 12 },
      { status: "crash" as const, trainHash: "b", metric: 50 },
    ];
    // a: 1, 3 -> 2; b: 10, 12 -> 2; pooled sqrt(4 / 2).
    expect(noiseOfRecords(records)?.sd).toBeCloseTo(Math.sqrt(2), 12);
    expect(noiseOfRecords(records.slice(1, 2))).toBeNull();
  });

  it("confidence is the gain in units of the noise, oriented by direction", () => {
    expect(confidence(0.9, 1.0, "min", 0.05)).toBeCloseTo(2, 12);
    expect(confidence(0.9, 1.0, "max", 0.05)).toBeCloseTo(-2, 12);
    expect(confidence(0.9, 1.0, "min", null)).toBeNull();
    expect(describeConfidence(3.14)).toBe("3.1× noise");
    expect(describeConfidence(1.5)).toBe("1.5× noise, within noise");
  });

  it("confirm keeps a mean that beats the best by more than Z × noise, and only then", () => {
    // Mean 0.9 vs best 1.0, noise 0.04: 2.5× -> kept at Z = 2, not at Z = 3.
    expect(confirmVerdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "min", noise: 0.04, confidence: 2 })).toMatchObject({ keep: true, mean: 0.9 });
    expect(confirmVerdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "min", noise: 0.04, confidence: 3 }).keep).toBe(false);
    const v = confirmVerdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "min", noise: 0.04, confidence: 3 });
    expect(v.confidence).toBeCloseTo(2.5, 12);
    expect(v.detail).toBe("mean -0.100000 vs the best is 2.5× the noise floor 0.0400, not more than the 3× needed");
    // Higher is better: the same numbers are a loss.
    expect(confirmVerdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "max", noise: 0.04, confidence: 2 }).keep).toBe(false);
    // Noise unknown: the mean decides, and the detail says so.
    expect(confirmVerdict({ runs: [0.99], best: 1, direction: "min", noise: null, confidence: 2 })).toMatchObject({ keep: true });
  });

  it("--min-delta is absolute unless it ends in %", () => {
    expect(parseMinDelta("0.01")).toEqual({ value: 0.01, percent: false });
    expect(parseMinDelta("0.5%")).toEqual({ value: 0.5, percent: true });
    expect(parseMinDelta("1e-3")).toEqual({ value: 0.001, percent: false });
    expect(parseMinDelta("-1")).toBeNull();
    expect(parseMinDelta("abc")).toBeNull();
    expect(requiredGain({ value: 0.5, percent: true }, -2)).toBeCloseTo(0.01, 12);
    expect(requiredGain({ value: 0.01, percent: false }, 100)).toBe(0.01);
  });

  it("states the rule in force for the brief", () => {
    expect(keepRuleOf(testConfig()).text).toMatch(/^a change is kept when its one run's metric is better than the best so far by any margin/);
    expect(keepRuleOf(testConfig({ keepRule: "threshold", minDelta: "1%" })).text).toMatch(/by more than 1% of the best/);
    const paired = keepRuleOf(testConfig({ keepRule: "confirm", confirmRuns: 5, confidence: 3, checks: ["pytest -q"] }));
    expect(paired).toMatchObject({ paired: true, pairBand: 3, maxPairs: 5 });
    expect(paired.text).toMatch(/first run is within 3 × the noise floor .* of its parent's measured metric, better or worse, or far better, is run again in turns with its parent .* up to 5 pairs.* more than 3 standard errors.*Seed changes are never improvements. A would-be keep must also pass the correctness check\(s\) \(pytest -q\)/);
    const confirm = keepRuleOf(testConfig({ keepRule: "confirm", confirmRuns: 4, confidence: 3, checks: ["pytest -q"], pairBand: 0 }));
    expect(confirm.paired).toBe(false);
    expect(confirm).toMatchObject({ baselineRuns: 2, baselineRaised: true, confirmRuns: 4, confidence: 3 });
    expect(confirm.text).toMatch(/first run beats the best by more than 2 × the noise floor .* is re-run 4 more time\(s\) .* more than 3 × the noise floor.*Seed changes are never improvements. A would-be keep must also pass the correctness check\(s\) \(pytest -q\)/);
  });

  it("says the confirm verdict in plain words for each case", () => {
    const target = { label: "best", commit: "abc", record: null };
    const summary = { mean: 1, sd: 0.1, runs: 3 };
    expect(verdictText(target, 3.2, 0.01, summary)).toBe("a real improvement: the mean is 3.2× the noise floor better than the baseline");
    expect(verdictText(target, 1.2, 0.01, summary)).toMatch(/^within noise: the mean is only 1\.2× the noise floor better than the baseline, which luck can explain/);
    expect(verdictText(target, -0.5, 0.01, summary)).toBe("not better than the baseline: the mean is 0.5× the noise floor worse");
    expect(verdictText(target, null, null, summary)).toMatch(/^the noise floor is unknown/);
    expect(verdictText(target, null, null, null)).toMatch(/^no run printed the metric/);
  });
});
