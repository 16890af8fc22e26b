import { describe, expect, it } from "vitest";
import { WAVE_SLACK, waveHoldUntil } from "../../src/search/waves.js";

const starts = (entries: [number, number][]) => new Map(entries);

describe("a free worker waits for the rest of its wave before it proposes", () => {
  it("waits while a decision is coming (a run ended, decided next)", () => {
    expect(waveHoldUntil({ now: 5_000, runStarts: starts([]), durations: [], imminent: new Set([3]) })).toBe(Number.POSITIVE_INFINITY);
  });

  it("waits for the runs of the same wave: those expected to end about now, until the last is due", () => {
    // Runs take 2 s. #2 and #3 started 0.1 s and 0.2 s after #1, which has just ended (now = 2 s).
    const state = { now: 2_000, runStarts: starts([[2, 100], [3, 200]]), durations: [2_000], imminent: new Set<number>() };
    expect(waveHoldUntil(state)).toBe(200 + 2_000 + WAVE_SLACK * 2_000);
  });

  it("does not wait for a run of a later wave, nor for one that overran its window", () => {
    // #4 started 1 s ago: due in a second, half a run away. #5 was due 0.6 s ago (past the 0.5 s slack).
    expect(waveHoldUntil({ now: 3_000, runStarts: starts([[4, 2_000]]), durations: [2_000], imminent: new Set<number>() })).toBeNull();
    expect(waveHoldUntil({ now: 3_000, runStarts: starts([[5, 400]]), durations: [2_000], imminent: new Set<number>() })).toBeNull();
  });

  it("knows no wave before a first run has ended", () => {
    expect(waveHoldUntil({ now: 1_000, runStarts: starts([[1, 0], [2, 10]]), durations: [], imminent: new Set<number>() })).toBeNull();
  });

  it("takes the typical run from the latest durations (the median), not the last one alone", () => {
    // One slow outlier (9 s) among 2 s runs: a run started 2 s ago is still expected now.
    const state = { now: 10_000, runStarts: starts([[7, 8_000]]), durations: [2_000, 9_000, 2_100], imminent: new Set<number>() };
    expect(waveHoldUntil(state)).toBe(8_000 + 2_100 + WAVE_SLACK * 2_100);
  });
});
