import { describe, expect, it } from "vitest";
import { keepWithinNoise, showsCost } from "../../src/dashboard/model.js";

describe("what the dashboard marks and shows", () => {
  const keep = { id: 3, status: "keep" as const, metric: 0.98, bestBefore: 1.0 };

  it("marks a keep whose gain over its parent is under 2x the noise floor, not one above it", () => {
    expect(keepWithinNoise(keep, "min", 0.015)).toBe(true); // 1.3x noise
    expect(keepWithinNoise(keep, "min", 0.005)).toBe(false); // 4x noise
    expect(keepWithinNoise(keep, "min", null)).toBe(false); // noise unknown: nothing to say
    expect(keepWithinNoise({ ...keep, status: "discard" }, "min", 0.015)).toBe(false);
    expect(keepWithinNoise({ ...keep, id: 0 }, "min", 0.015)).toBe(false); // the baseline
    expect(keepWithinNoise({ ...keep, metric: 1.02 }, "max", 0.015)).toBe(true);
  });

  it("shows no cost for a proposer that has none", () => {
    expect(showsCost("builtin", 0)).toBe(false);
    expect(showsCost("plan", 0)).toBe(false);
    expect(showsCost("agent", 0)).toBe(false);
    expect(showsCost("agent", 0.42)).toBe(true);
    expect(showsCost("anthropic", 0)).toBe(true);
  });
});
