import { describe, expect, it } from "vitest";
import { gainCaveat, keepCaveat, showsCost } from "../../src/dashboard/model.js";

describe("what the dashboard marks and shows", () => {
  const keep = { id: 3, status: "keep" as const, metric: 0.98, bestBefore: 1.0 };

  it("marks a keep whose gain over its parent is under 2x the noise floor, or never re-measured; not one above it", () => {
    expect(keepCaveat(keep, "min", 0.015)).toBe("within noise: could be luck"); // 1.3x noise
    expect(keepCaveat(keep, "min", 0.005)).toBeNull(); // 4x noise
    // No noise floor (one baseline run, no code re-run): the keep is one run, never repeated.
    expect(keepCaveat(keep, "min", null)).toBe("never re-measured (no noise floor)");
    expect(keepCaveat(keep, "min", 0)).toBeNull(); // runs of the same code agree exactly
    expect(keepCaveat({ ...keep, status: "discard" }, "min", 0.015)).toBeNull();
    expect(keepCaveat({ ...keep, id: 0 }, "min", 0.015)).toBeNull(); // the baseline
    expect(keepCaveat({ ...keep, metric: 1.02 }, "max", 0.015)).toBe("within noise: could be luck");
  });

  it("the header's best against the baseline: the same caveats", () => {
    expect(gainCaveat(0.98, 1.0, "min", 0.015)).toBe("within noise: could be luck");
    expect(gainCaveat(0.98, 1.0, "min", null)).toBe("never re-measured (no noise floor)");
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
