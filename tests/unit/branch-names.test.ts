import { describe, expect, it } from "vitest";
import { changeBranch, finalBranch, isFinalizeBranchOf, researchBranch } from "../../src/workspace/branch-names.js";

describe("branch names", () => {
  it("finalize's branches are siblings of the research branch, and only they are recognised as its", () => {
    expect(researchBranch("t1")).toBe("autoresearch/t1");
    expect(finalBranch("t1")).toBe("autoresearch/t1-final");
    expect(changeBranch("t1", 12)).toBe("autoresearch/t1-change-12");
    expect(isFinalizeBranchOf("t1", "autoresearch/t1-final")).toBe(true);
    expect(isFinalizeBranchOf("t1", "autoresearch/t1-change-3")).toBe(true);
    // Another session's research branch, or a name that only starts the same, is not finalize's.
    expect(isFinalizeBranchOf("t1", "autoresearch/t1-change-x")).toBe(false);
    expect(isFinalizeBranchOf("t1", "autoresearch/t1-finals")).toBe(false);
    expect(isFinalizeBranchOf("t1", "autoresearch/t1")).toBe(false);
    expect(isFinalizeBranchOf("t", "autoresearch/t1-final")).toBe(false);
  });
});
