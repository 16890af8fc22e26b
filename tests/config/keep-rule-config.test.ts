import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_PAIRS, keepRuleSettings } from "../../src/config/keep-rules.js";
import { resolveConfig, validateFlags } from "../../src/config/resolve.js";

const root = mkdtempSync(join(tmpdir(), "ar-keep-"));
const base = { budget: "1m", metric: "val_loss", direction: "min" };
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...base, ...extra }, { root, now: new Date(2026, 10, 27), platform: "linux" });

describe("keep-rule settings are checked together (bad input names the fix)", () => {
  it("defaults to the noise-aware rule: confirm, two baseline runs (the noise floor from the start), run seed 0; the spec's plain loop when asked", () => {
    expect(resolve({})).toMatchObject({ keepRule: "confirm", baselineRuns: 2, runSeed: 0 });
    expect(resolve({ keepRule: "any", baselineRuns: "1" })).toMatchObject({ keepRule: "any", baselineRuns: 1 });
    expect(keepRuleSettings(resolve({}))).toMatchObject({ name: "confirm", baselineRuns: 2, baselineRaised: false, pairBand: 2, maxPairs: DEFAULT_PAIRS });
  });

  it("--confidence defaults in the option table; --confirm-runs is left out, so the paired rule takes up to 4 pairs (what the keeps bench measured)", () => {
    const resolved = resolve({ keepRule: "confirm" });
    expect(resolved).toMatchObject({ confidence: 2 });
    expect(resolved.confirmRuns).toBeUndefined();
    expect(keepRuleSettings(resolved)).toMatchObject({ maxPairs: 4, confirmRuns: 2 });
    expect(resolve({ keepRule: "confirm", confirmRuns: "4", confidence: "2.5" })).toMatchObject({ confirmRuns: 4, confidence: 2.5 });
  });

  it("threshold needs --min-delta; --min-delta needs threshold", () => {
    expect(() => resolve({ keepRule: "threshold" })).toThrow("--keep-rule threshold needs --min-delta");
    expect(() => resolve({ minDelta: "0.01" })).toThrow("--min-delta is used by --keep-rule threshold, but the keep rule is confirm");
    expect(resolve({ keepRule: "threshold", minDelta: "0.5%" })).toMatchObject({ keepRule: "threshold", minDelta: "0.5%" });
  });

  it("refuses values that are not numbers or rules, naming the flag", () => {
    expect(() => validateFlags({ minDelta: "lots" })).toThrow(/--min-delta "lots": a number, or a percent such as 0.5%/);
    expect(() => validateFlags({ keepRule: "maybe" })).toThrow(/--keep-rule "maybe"/);
    expect(() => validateFlags({ baselineRuns: "0" })).toThrow(/--baseline-runs "0": a positive whole number/);
    expect(() => validateFlags({ confidence: "-1" })).toThrow(/--confidence "-1"/);
  });
});
