import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig, validateFlags } from "../../src/config/resolve.js";

const root = mkdtempSync(join(tmpdir(), "ar-keep-"));
const base = { budget: "1m", metric: "val_loss", direction: "min" };
const resolve = (extra: Record<string, unknown>) => resolveConfig({ ...base, ...extra }, { root, now: new Date(2026, 10, 27), platform: "linux" });

describe("keep-rule settings are checked together (bad input names the fix)", () => {
  it("defaults to the spec's rule, one baseline run, run seed 0", () => {
    expect(resolve({})).toMatchObject({ keepRule: "any", baselineRuns: 1, runSeed: 0 });
  });

  it("--confirm-runs and --confidence default in the option table: the resolved config holds them, a flag overrides them", () => {
    expect(resolve({ keepRule: "confirm" })).toMatchObject({ confirmRuns: 2, confidence: 2 });
    expect(resolve({ keepRule: "confirm", confirmRuns: "4", confidence: "2.5" })).toMatchObject({ confirmRuns: 4, confidence: 2.5 });
  });

  it("threshold needs --min-delta; --min-delta needs threshold", () => {
    expect(() => resolve({ keepRule: "threshold" })).toThrow("--keep-rule threshold needs --min-delta");
    expect(() => resolve({ minDelta: "0.01" })).toThrow("--min-delta is used by --keep-rule threshold, but the keep rule is any");
    expect(resolve({ keepRule: "threshold", minDelta: "0.5%" })).toMatchObject({ keepRule: "threshold", minDelta: "0.5%" });
  });

  it("refuses values that are not numbers or rules, naming the flag", () => {
    expect(() => validateFlags({ minDelta: "lots" })).toThrow(/--min-delta "lots": a number, or a percent such as 0.5%/);
    expect(() => validateFlags({ keepRule: "maybe" })).toThrow(/--keep-rule "maybe"/);
    expect(() => validateFlags({ baselineRuns: "0" })).toThrow(/--baseline-runs "0": a positive whole number/);
    expect(() => validateFlags({ confidence: "-1" })).toThrow(/--confidence "-1"/);
  });
});
