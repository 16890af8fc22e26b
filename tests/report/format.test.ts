import { describe, expect, it } from "vitest";
import {
  escapeMarkdown,
  formatBudget,
  formatDelta,
  formatElapsed,
  formatMetric,
  formatPercent,
  shortCommit,
} from "../../src/report/format.js";
import { guessCategory } from "../../src/report/model.js";

describe("formatting", () => {
  it("metrics with 6 decimals, signed deltas, percent with 2 decimals", () => {
    expect(formatMetric(0.9821)).toBe("0.982100");
    expect(formatMetric(null)).toBe("—");
    expect(formatMetric(Number.NaN)).toBe("—");
    expect(formatDelta(-0.0158)).toBe("-0.015800");
    expect(formatDelta(0.002)).toBe("+0.002000");
    expect(formatDelta(0)).toBe("+0.000000");
    expect(formatPercent(-1.5789)).toBe("-1.58%");
    expect(formatPercent(0.001)).toBe("+0.00%");
    expect(formatPercent(null)).toBe("n/a");
  });

  it("HH:MM elapsed, also past a day", () => {
    expect(formatElapsed(0)).toBe("00:00:00");
    expect(formatElapsed(59.9)).toBe("00:00:59");
    expect(formatElapsed(3600 + 23 * 60 + 59)).toBe("01:23:59");
    expect(formatElapsed(27 * 3600 + 5 * 60)).toBe("27:05:00");
    expect(formatElapsed(null)).toBe("unknown");
  });

  it("budgets and commits", () => {
    expect(formatBudget(300)).toBe("5 minutes");
    expect(formatBudget(60)).toBe("1 minute");
    expect(formatBudget(90)).toBe("1 minute 30 seconds");
    expect(formatBudget(45)).toBe("45 seconds");
    expect(formatBudget(undefined)).toBe("unknown");
    expect(shortCommit("a3f12bcdeadbeef")).toBe("a3f12bc");
    expect(shortCommit("baseline")).toBe("baseline");
  });

  it("escapes everything that could break a markdown table or inject markup", () => {
    const hostile = "a | b `code` <script>alert(1)</script>\nnew line **bold** [link](http://x) _em_ n_layer ~~s~~ \\";
    const escaped = escapeMarkdown(hostile, 500);
    expect(escaped).not.toContain("\n");
    expect(escaped).not.toMatch(/(^|[^\\])\|/);
    expect(escaped).not.toMatch(/(^|[^\\])`/);
    expect(escaped).not.toContain("<script>");
    expect(escaped).toContain("&lt;script>");
    expect(escaped).toContain("\\*\\*bold\\*\\*");
    expect(escaped).toContain("\\[link\\]");
    expect(escaped).toContain("\\_em\\_");
    expect(escaped).toContain("n_layer");
    expect(escaped).toContain("\\~\\~s\\~\\~");
    expect(escaped.endsWith("\\\\")).toBe(true);
  });

  it("truncates long text with an ellipsis", () => {
    expect(escapeMarkdown("x".repeat(300), 50)).toHaveLength(50);
    expect(escapeMarkdown("x".repeat(300), 50).endsWith("…")).toBe(true);
  });
});

describe("guessing from a bare results file", () => {
  it("categories from description keywords", () => {
    expect(guessCategory("increase LR to 0.04")).toBe("optimizer");
    expect(guessCategory("switch to GeLU activation")).toBe("architecture");
    expect(guessCategory("ReLU² activation")).toBe("architecture");
    expect(guessCategory("double the batch size with grad accumulation")).toBe("training");
    expect(guessCategory("init std 0.01")).toBe("hyperparameters");
    expect(guessCategory("weight decay 0.2")).toBe("optimizer");
    expect(guessCategory("something unrelated")).toBe("other");
  });
});
