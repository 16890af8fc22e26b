import { describe, expect, it } from "vitest";
import { differencePrior, keptLuck, MIN_PRIOR_DECISIONS } from "../../src/metric/winners-curse.js";

/** A load-adjusted decision: its difference from its parent (lower is better here) and that difference's standard error. */
const decided = (loadDelta: number, loadSe = 0.005, status = "discard") => ({ status, loadDelta, loadSe });
// A session of no-ops and small gains: differences spread about -0.002 by 0.006 (0.005 of it noise).
const session = [0.004, -0.006, 0.001, -0.009, 0.006, -0.004, 0.002, -0.01, 0.003, -0.007].map((d) => decided(d));

describe("the winner's curse of a kept change (its runs less the luck that kept it)", () => {
  it("reads how the session's differences spread beyond their noise, once there are enough of them", () => {
    expect(differencePrior(session.slice(0, MIN_PRIOR_DECISIONS - 1))).toBeNull();
    const prior = differencePrior(session);
    expect(prior?.n).toBe(10);
    expect(prior?.mean).toBeCloseTo(-0.002, 9);
    // Their variance (3.42e-5) less the noise's (2.5e-5).
    expect(prior?.variance).toBeCloseTo(3.42e-5 - 2.5e-5, 6);
    // Crashed decisions and those not load-adjusted say nothing.
    expect(differencePrior([...session.slice(0, 4), { status: "crash", loadDelta: 0.1, loadSe: 0.005 }, { status: "discard" }])).toBeNull();
  });

  it("takes a kept difference back toward the session's typical one, the more the less the session's differences spread", () => {
    // Kept 0.011 better at 0.005 standard error, in a session of no-ops: mostly luck.
    const kept = decided(-0.011, 0.005, "keep");
    const luck = keptLuck(kept, [...session, kept]) as number;
    // Its runs sit better than its level (a lower metric): it lies between them and the session's mean (-0.0028 with it).
    expect(luck).toBeGreaterThan(0.004);
    expect(luck).toBeLessThan(-0.0028 - -0.011);
    // In a session whose differences spread far beyond their noise (real gains and harms), the same keep is far less luck.
    const wide = [0.02, -0.03, 0.01, -0.025, 0.015, -0.02, 0.005, -0.015].map((d) => decided(d));
    const lessLuck = keptLuck(kept, [...wide, kept]) as number;
    expect(lessLuck).toBeGreaterThan(0);
    expect(lessLuck).toBeLessThan(luck / 2);
    // Measured more precisely, it is less luck.
    const precise = decided(-0.011, 0.002, "keep");
    expect(keptLuck(precise, [...session, precise]) as number).toBeLessThan(luck);
    // The direction follows the metric's: a keep of a higher metric sits higher than its level by its luck.
    const up = decided(0.011, 0.005, "keep");
    const mirrored = session.map((r) => ({ ...r, loadDelta: -r.loadDelta }));
    expect(keptLuck(up, [...mirrored, up])).toBeCloseTo(-luck, 12);
  });

  it("says nothing of a change not kept by a load-adjusted decision, or in a session too young to say", () => {
    expect(keptLuck(decided(-0.011), session)).toBeNull();
    expect(keptLuck({ status: "keep" }, session)).toBeNull();
    expect(keptLuck(decided(-0.011, 0.005, "keep"), session.slice(0, 3))).toBeNull();
  });
});
