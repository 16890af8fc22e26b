import { describe, expect, it } from "vitest";
import { gainCaveat, keepCaveat, showsCost, summarize } from "../../src/dashboard/model.js";
import type { ExperimentRecord } from "../../src/types.js";

describe("what the dashboard marks and shows", () => {
  const keep = { id: 3, status: "keep" as const, metric: 0.98, bestBefore: 1.0 };

  it("marks a keep whose gain over its parent is under 2x the noise floor, or never re-measured; not one above it", () => {
    expect(keepCaveat(keep, "min", 0.015)).toBe("within noise: could be luck"); // 1.3x noise
    expect(keepCaveat(keep, "min", 0.005)).toBeNull(); // 4x noise
    // No noise floor (one baseline run, no code re-run): the keep is one run, never repeated.
    expect(keepCaveat(keep, "min", null)).toBe("never re-measured, no noise floor");
    expect(keepCaveat(keep, "min", 0)).toBeNull(); // runs of the same code agree exactly
    expect(keepCaveat({ ...keep, status: "discard" }, "min", 0.015)).toBeNull();
    expect(keepCaveat({ ...keep, id: 0 }, "min", 0.015)).toBeNull(); // the baseline
    expect(keepCaveat({ ...keep, metric: 1.02 }, "max", 0.015)).toBe("within noise: could be luck");
  });

  it("judges a keep decided against the load by its load-adjusted standard error, not the raw noise floor", () => {
    // A gain of 0.02 at 1.3x the raw noise floor, but 4 standard errors of its load-adjusted difference.
    const adjusted = { ...keep, loadAdjusted: { loadDelta: -0.02, loadSe: 0.005 } };
    expect(keepCaveat(adjusted, "min", 0.015)).toBeNull();
    expect(keepCaveat({ ...keep, loadAdjusted: { loadDelta: -0.02, loadSe: 0.015 } }, "min", 0.005)).toBe("within noise (load-adjusted): could be luck");
    expect(keepCaveat({ ...keep, metric: 1.02, loadAdjusted: { loadDelta: 0.02, loadSe: 0.005 } }, "max", 0.015)).toBeNull();
    // The record's fields reach the summary the table and the chart read.
    const record = { id: 3, commit: "c", parent: "p", status: "keep", reason: "improved", metric: 0.98, bestBefore: 1.0, description: "x", category: "optimizer", lines: 1, loadDelta: -0.02, loadSe: 0.005 } as unknown as ExperimentRecord;
    expect(summarize(record).loadAdjusted).toEqual({ loadDelta: -0.02, loadSe: 0.005 });
    expect(keepCaveat(summarize(record), "min", 0.015)).toBeNull();
  });

  it("the header's best against the baseline: the same caveats", () => {
    expect(gainCaveat(0.98, 1.0, "min", 0.015)).toBe("within noise: could be luck");
    expect(gainCaveat(0.98, 1.0, "min", null)).toBe("never re-measured, no noise floor");
    expect(gainCaveat(0.9, 1.0, "min", 0.015)).toBeNull();
    expect(gainCaveat(1.0, 1.0, "min", 0.015)).toBeNull(); // no gain: nothing to call luck
  });

  it("shows no cost for a proposer that has none", () => {
    expect(showsCost("builtin", 0)).toBe(false);
    expect(showsCost("plan", 0)).toBe(false);
    expect(showsCost("agent", 0)).toBe(false);
    expect(showsCost("agent", 0.42)).toBe(true);
    expect(showsCost("anthropic", 0)).toBe(true);
  });
});
