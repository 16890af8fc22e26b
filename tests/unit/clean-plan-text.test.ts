import { describe, expect, it } from "vitest";
import { renderPlan } from "../../src/cli/commands/clean.js";
import type { CleanPlan } from "../../src/loop/clean.js";

describe("clean's plan", () => {
  it("says what its refs hold: every experiment's commit, and finalize's variants (it called them all discarded and crashed experiments)", () => {
    const plan = {
      items: [
        {
          session: { id: "mar5", tag: "mar5", state: "finished", experiments: 2 },
          branch: "autoresearch/mar5",
          refs: ["refs/autoresearch/mar5/1", "refs/autoresearch/mar5/2", "refs/autoresearch/mar5/finalize/a1/without-1"],
          dirs: [],
          unmergedKept: 0,
        },
      ],
      leftovers: [],
      refused: [],
    } as unknown as CleanPlan;
    expect(renderPlan(plan, true)).toContain("3 ref(s) refs/autoresearch/mar5/* (2 experiment commit(s), 1 of finalize's variants)");
    const plain = { ...plan, items: [{ ...(plan.items[0] as CleanPlan["items"][number]), refs: ["refs/autoresearch/mar5/1"] }] };
    expect(renderPlan(plain, true)).toContain("1 ref(s) refs/autoresearch/mar5/* (1 experiment commit(s))");
  });
});
