import { describe, expect, it } from "vitest";
import { describeCost } from "../../src/cli/commands/finalize.js";
import type { FinalizeCost } from "../../src/loop/finalize/cost.js";

const cost = (rounds: number): FinalizeCost => ({
  runs: 6 * rounds,
  planned: 6 * rounds,
  variants: 5,
  rounds,
  laterAtMost: 0,
  budgetSec: 60,
  workers: 1,
  perRunSec: 61,
  wallSec: 61 * 6 * rounds,
  perRunFrom: "the session's runs",
});

describe("finalize's cost line", () => {
  it("counts its rounds in the right number (`--runs 1` printed \"× 1 rounds\")", () => {
    expect(describeCost(cost(1))).toContain("× 1 round, the best twice a round = 6 runs, 1m budget each");
    expect(describeCost(cost(3))).toContain("× 3 rounds, the best twice a round = 18 runs");
  });
});
