import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { budgetCommitMessage, budgetConflicts, budgetEdit, findTimeBudgets } from "../../src/config/readonly-budget.js";

describe("findTimeBudgets", () => {
  it("finds Karpathy's prepare.py constant", () => {
    const text = "MAX_SEQ_LEN = 2048\nTIME_BUDGET = 300        # training time budget in seconds (5 minutes)\nEVAL_TOKENS = 40 * 524288\n";
    expect(findTimeBudgets("prepare.py", text)).toEqual([{ path: "prepare.py", line: 2, name: "TIME_BUDGET", valueText: "300", unitSec: 1, seconds: 300 }]);
  });

  it.each([
    ["export const TIME_BUDGET = 300;", 300],
    ["const TIME_BUDGET_S = 90", 90],
    ["TIME_BUDGET: int = 5 * 60", 300],
    ["TRAIN_TIME_BUDGET_MIN = 5", 300],
    ["TIME_BUDGET_MS = 1_500", 1.5],
    ["TIME_BUDGET = 10  # in minutes", 600],
    ["    TIME_BUDGET = 120.5", 120.5],
  ])("%s -> %ss", (line, seconds) => {
    expect(findTimeBudgets("p", line)[0]?.seconds).toBe(seconds);
  });

  it.each([
    'TIME_BUDGET = int(os.environ.get("AUTORESEARCH_TIME_BUDGET", 300))',
    'const TIME_BUDGET = envNumber("AUTORESEARCH_TIME_BUDGET", 5);',
    "if elapsed > TIME_BUDGET:",
    "# TIME_BUDGET = 300",
    "time_budget = 300",
    "TIME_BUDGET == 300",
  ])("ignores %s", (line) => {
    expect(findTimeBudgets("p", line)).toEqual([]);
  });
});

describe("budgetConflicts and budgetEdit", () => {
  it("reports only disagreeing constants, and rewrites them in their own unit", () => {
    const root = mkdtempSync(join(tmpdir(), "ar-budget-"));
    writeFileSync(join(root, "prepare.py"), "A = 1\nTIME_BUDGET = 300  # seconds\nTIME_BUDGET_MIN = 5\n");
    writeFileSync(join(root, "eval.py"), "TIME_BUDGET = 120\n");
    expect(budgetConflicts(root, ["prepare.py", "eval.py", "missing.py"], 300).map((c) => `${c.path}:${c.line}`)).toEqual(["eval.py:1"]);
    const conflicts = budgetConflicts(root, ["prepare.py"], 90);
    expect(conflicts).toHaveLength(2);
    const edit = budgetEdit(root, "prepare.py", conflicts, 90);
    expect(edit.after).toBe("A = 1\nTIME_BUDGET = 90  # seconds\nTIME_BUDGET_MIN = 1.5\n");
    expect(edit.message).toBe("autoresearch: set TIME_BUDGET to 90 for this session");
    expect(budgetCommitMessage(300)).toBe("autoresearch: set TIME_BUDGET to 300 for this session");
  });
});
