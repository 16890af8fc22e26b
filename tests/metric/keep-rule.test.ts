import { describe, expect, it } from "vitest";
import type { Decision } from "../../src/search/decide.js";
import { keepRuleOf } from "../../src/search/keep-rule.js";
import { testConfig } from "../loop/deps.js";

const improved: Decision = { status: "keep", reason: "improved", detail: "better" };
const simpler: Decision = { status: "keep", reason: "simpler", detail: "fewer lines" };

describe("the session's keep rule, one object", () => {
  it("under threshold: discards a first run that does not beat the reference by --min-delta, and only an improvement", () => {
    const rule = keepRuleOf(testConfig({ keepRule: "threshold", minDelta: "0.05" }));
    expect(rule.belowThreshold(improved, 0.97, 1, "min")).toMatchObject({ status: "discard", reason: "below-threshold" });
    expect(rule.belowThreshold(improved, 0.9, 1, "min")).toBeNull();
    // Higher is better: the same gain the other way round.
    expect(rule.belowThreshold(improved, 1.03, 1, "max")).toMatchObject({ reason: "below-threshold" });
    expect(rule.belowThreshold(simpler, 1, 1, "min")).toBeNull();
    // Another rule has no threshold to apply.
    expect(keepRuleOf(testConfig()).belowThreshold(improved, 0.999, 1, "min")).toBeNull();
  });

  it("under confirm: a first run within (Z - 1) × noise is not worth confirming; the verdict uses the rule's Z", () => {
    const rule = keepRuleOf(testConfig({ keepRule: "confirm", confirmRuns: 3, confidence: 3 }));
    expect(rule.extraRuns).toBe(3);
    expect(rule.runsMore).toBe(true);
    // Gain 0.05 over noise 0.04 = 1.25×, not more than the 2× worth confirming.
    expect(rule.notWorthConfirming(improved, 0.95, 1, "min", 0.04)).toMatchObject({ status: "discard", reason: "within-noise" });
    expect(rule.notWorthConfirming(improved, 0.9, 1, "min", 0.04)).toBeNull();
    expect(rule.notWorthConfirming(improved, 0.95, 1, "min", null)).toBeNull();
    expect(keepRuleOf(testConfig()).notWorthConfirming(improved, 0.95, 1, "min", 0.04)).toBeNull();
    // Mean 0.9 vs 1.0 at noise 0.04 is 2.5×: enough at Z = 2, not at this rule's Z = 3.
    expect(rule.verdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "min", noise: 0.04 }).keep).toBe(false);
    expect(keepRuleOf(testConfig({ keepRule: "confirm" })).verdict({ runs: [0.88, 0.9, 0.92], best: 1, direction: "min", noise: 0.04 }).keep).toBe(true);
  });

  it("says which extra runs and seeds it needs", () => {
    const any = keepRuleOf(testConfig({ runSeed: 7 }));
    expect([any.extraRuns, any.runsMore, any.baselineRuns, any.seedOf(0), any.seedOf(2)]).toEqual([0, false, 1, 7, 9]);
    expect(keepRuleOf(testConfig({ checks: ["pytest -q"] })).runsMore).toBe(true);
    expect(keepRuleOf(testConfig({ keepRule: "confirm", baselineRuns: 3 }))).toMatchObject({ baselineRuns: 3, baselineRaised: false, extraRuns: 2, confidence: 2 });
  });
});
