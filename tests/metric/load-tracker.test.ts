import { describe, expect, it } from "vitest";
import { type LoadRecord, type LoadRun, loadTracker, orderOfRecord, runsInOrder, type TimedRun, timesOfRecord } from "../../src/metric/load-tracker.js";
import { joinMeasurements } from "../../src/ledger/measurements.js";
import { measuredMeans } from "../../src/metric/noise.js";
import type { ExperimentRecord, Measurement } from "../../src/types.js";

// A machine whose load moves as a slow sine (a period of 48 runs): it slows training (steps/s × exp(-0.2 × load)) and
// worsens the metric (+0.04 × load), so the metric falls 0.2 per unit of ln(steps/s).
const load = (t: number) => Math.sin((t * Math.PI) / 24);
// Small fixed noise, different for each run (a hash of its time).
const wiggle = (t: number, k: number) => (((t * 7919 + k * 104729) % 1000) / 1000 - 0.5) * 0.006;
function run(t: number, { speed = 1, gain = 0 } = {}): LoadRun {
  const rate = (400 / 30) * speed * Math.exp(-0.2 * load(t)) * (1 + wiggle(t, 1));
  return { metric: 1 - gain + 0.04 * load(t) + wiggle(t, 2), steps: Math.round(rate * 300), trainingSec: 300 };
}

/** Runs at times `ts`, each with its time (what LoadTracker.gainOf reads). */
const timed = (ts: number[], options: { speed?: number; gain?: number } = {}): TimedRun[] => ts.map((t) => ({ t, run: run(t, options) }));

/** A baseline of three runs, then `n` no-op children of it, each run twice: the runs at t = 0, 1, 2, ... */
function session(n: number): LoadRecord[] {
  const records: LoadRecord[] = [{ status: "keep", commit: "b", parent: "b", trainHash: "H0", metric: 1, runs: [run(0), run(1), run(2)] }];
  let t = 3;
  for (let i = 1; i <= n; i++) {
    records.push({ status: "discard", commit: `c${i}`, parent: "b", trainHash: `H${i}`, metric: 1, runs: [run(t), run(t + 1)] });
    t += 2;
  }
  return records;
}

describe("the load tracker (steps/s read the machine's load)", () => {
  it("learns the metric's slope on ln(steps/s) from runs of identical code, and knows when it cannot yet", () => {
    expect(loadTracker(session(0), "H0").model).toBeNull();
    const tracker = loadTracker(session(8), "H0");
    expect(tracker.model?.slope).toBeCloseTo(-0.2, 1);
    expect(tracker.next).toBe(19);
  });

  it("takes a run at its parent's speed for one (its steps/s read the load), and tells a run faster than the head's speed now (its code is faster: load only slows) from one slower (a slower code, or a machine slowed beyond the track)", () => {
    const tracker = loadTracker(session(8), "H0");
    expect(tracker.speedAgainstHead(run(19), 19)).toBe("alike");
    expect(tracker.speedAgainstHead(run(19, { speed: 1.08 }), 19)).toBe("faster");
    expect(tracker.speedAgainstHead(run(19, { speed: 0.92 }), 19)).toBe("slower");
    expect(loadTracker(session(0), "H0").speedAgainstHead(run(3), 3)).toBeNull();
    // An 8% faster change keeps what its speed is worth (0.2 x ln 1.08 under this session's slope): its own steps/s are never read as the load.
    const speedGain = 0.2 * Math.log(1.08);
    const faster = tracker.gainOf(timed([19, 20], { speed: 1.08, gain: speedGain }), "min");
    expect(faster?.gain).toBeCloseTo(speedGain, 2);
  });

  it("learns the speed of a faster change from its runs beside its parent's (its first, then its parent's right after), so its children are compared at its speed", () => {
    // An 8% faster change kept on its runs at t = 19 and 21, its parent's run at 20 between them.
    const kept: LoadRecord = { status: "keep", commit: "f", parent: "b", trainHash: "HF", metric: 0.98, runs: [run(19, { speed: 1.08 }), run(21, { speed: 1.08 })], parentRuns: [run(20)], runOrder: "cpc" };
    const tracker = loadTracker([...session(8), kept], "HF");
    expect(tracker.next).toBe(22);
    // Its child at its speed trains alike; one at the baseline's is slower.
    expect(tracker.speedAgainstHead(run(22, { speed: 1.08 }), 22)).toBe("alike");
    expect(tracker.speedAgainstHead(run(22), 22)).toBe("slower");
    // Its runs read the load: the track has readings at t = 19, 20 and 21.
    expect(tracker.readings.filter((r) => r.t >= 19).map((r) => r.t)).toEqual([19, 20, 21]);
  });

  it("takes a change's speed from its runs beside its parent's when they show another speed, even where its first run seemed to agree with the track", () => {
    // From t = 19 on the machine is 8% slower (another job started), and the change is 8% faster: its first run
    // (t = 19) reads what the track expects of its parent's speed, but its parent's run right after (t = 20)
    // reads 8% below it, and its own next run (t = 21) 8% above that again.
    const slowed = 1 / 1.08;
    const kept: LoadRecord = {
      status: "keep",
      commit: "f",
      parent: "b",
      trainHash: "HF",
      metric: 0.98,
      runs: [run(19, { speed: 1.08 * slowed }), run(21, { speed: 1.08 * slowed })],
      parentRuns: [run(20, { speed: slowed })],
      runOrder: "cpc",
    };
    const tracker = loadTracker([...session(8), kept], "HF");
    // Its speed is the 8% its runs showed beside its parent's, so the three readings lie on the load's line (taken
    // at its parent's speed, its two readings would lie 8% above its parent's between them).
    const [y19, y20, y21] = tracker.readings.filter((r) => r.t >= 19).map((r) => r.y) as [number, number, number];
    expect(Math.abs(y20 - (y19 + y21) / 2)).toBeLessThan(0.01);
  });

  it("measures a change against its parent at the same load, whatever the drift did since the parent ran", () => {
    const tracker = loadTracker(session(8), "H0");
    // t = 19..20: the load has moved far from the baseline's (t = 0..2), by more than the gain.
    expect(Math.abs(0.04 * (load(19) - load(1)))).toBeGreaterThan(0.015);
    const real = tracker.gainOf(timed([19, 20], { gain: 0.02 }), "min");
    expect(real?.gain).toBeCloseTo(0.02, 2);
    expect((real?.gain as number) / (real?.se as number)).toBeGreaterThan(3);
    const noop = tracker.gainOf(timed([19, 20]), "min");
    expect(Math.abs(noop?.gain as number)).toBeLessThan(0.004);
    // For a metric to maximise the sign turns.
    expect(tracker.gainOf(timed([19], { gain: 0.02 }), "max")?.gain).toBeCloseTo(-0.02, 2);
  });

  it("keeps the gain a change a little faster than its parent owes to its speed: its own steps/s are not read as the load", () => {
    const tracker = loadTracker(session(8), "H0");
    // 1% faster passes for the head's speed (the alike test cannot tell 1% from the track's error)...
    expect(tracker.speedAgainstHead(run(19, { speed: 1.01 }), 19)).toBe("alike");
    // ...and under a time budget its extra steps are worth 0.2 × ln(1.01) of the metric (the session's slope).
    const speedGain = 0.2 * Math.log(1.01);
    const faster = tracker.gainOf(timed([19, 20], { speed: 1.01, gain: speedGain }), "min");
    const same = tracker.gainOf(timed([19, 20]), "min");
    // Against the same runs at the head's speed it is better by that gain, not by nothing (its speed read as a lighter load).
    expect((faster?.gain as number) - (same?.gain as number)).toBeCloseTo(speedGain, 4);
    // And the head's runs made during the decision read the load beside it (the track interpolates between them).
    const beside = tracker.gainOf(timed([19, 21], { speed: 1.01, gain: speedGain }), "min", timed([20, 22]));
    expect(beside?.headN).toBe((faster?.headN as number) + 2);
    expect(beside?.se as number).toBeLessThan(faster?.se as number);
  });

  it("costs O(n log n) in the records, not O(n^3): 1000 records' tracker does about as much work a run as 250 records'", () => {
    const work = (n: number) => {
      const records = session(n);
      const runs = records.reduce((a, r) => a + (r.runs?.length ?? 1), 0);
      return loadTracker(records, "H0").work / runs;
    };
    const small = work(250);
    const large = work(1000);
    // Work a run grows with log n only (the running median's heaps, the binary search for a window).
    expect(large).toBeLessThan(1.25 * small);
    expect(large).toBeLessThan(200);
  });

  it("expects the head's steps/s now (a run far below that was slowed by something else)", () => {
    const tracker = loadTracker(session(8), "H0");
    const expected = tracker.expected("H0", 19);
    const rate = (400 / 30) * Math.exp(-0.2 * load(19));
    expect(Math.exp(expected?.y as number)).toBeCloseTo(rate, 0);
    expect(tracker.expected("unknown code", 19)).toBeNull();
  });

  it("puts a paired record's runs in the order they ran", () => {
    const c = (m: number): LoadRun => ({ metric: m });
    const sides = (r: Omit<LoadRecord, "status" | "commit" | "parent" | "metric">) => orderOfRecord({ status: "keep", commit: "x", parent: "p", metric: 0, ...r }).map((o) => `${o.side[0]}${o.run.metric}`);
    // The parent's run just before reused (A B), then B A, A B.
    expect(sides({ runs: [c(1), c(2), c(3)], parentRuns: [{ ...c(10), reused: true }, c(11), c(12)], firstPaired: true })).toEqual(["c1", "c2", "p11", "p12", "c3"]);
    // A parent run made right after the first (B A), then A B.
    expect(sides({ runs: [c(1), c(2)], parentRuns: [c(10), c(11)], firstPaired: true })).toEqual(["c1", "p10", "p11", "c2"]);
    // The first run left out: A B afresh after it, then B A.
    expect(sides({ runs: [c(1), c(2), c(3)], parentRuns: [c(10), c(11)] })).toEqual(["c1", "p10", "c2", "c3", "p11"]);
    // A tracked decision's own order.
    expect(sides({ runs: [c(1), c(2), c(3)], parentRuns: [c(10)], runOrder: "ccpc" })).toEqual(["c1", "c2", "p10", "c3"]);
  });

  it("places a record's contended runs where they ran (before the run that replaced them), older records' first", () => {
    const c = (m: number): LoadRun => ({ metric: m });
    const record = (contendedRuns: { at?: number }[]): LoadRecord => ({ status: "keep", commit: "x", parent: "p", metric: 0, runs: [c(1), c(2)], parentRuns: [c(10), c(11)], firstPaired: true, contendedRuns });
    // Four runs from t = 10: c1 p10 p11 c2; a run re-run before its parent's second run (at 2) and one before the first (at 0).
    expect(timesOfRecord(record([{ at: 2 }, { at: 0 }]), 4, 10)).toEqual({ times: [11, 12, 14, 15], end: 16 });
    // Without `at` (records written before it): first.
    expect(timesOfRecord(record([{}, {}]), 4, 10)).toEqual({ times: [12, 13, 14, 15], end: 16 });
    // The walk reads the same times: the run after a contended one is a run later.
    const runs = runsInOrder([{ status: "keep", commit: "b", parent: "b", trainHash: "H0", metric: 1, runs: [run(0), run(1)] }, { status: "discard", commit: "c", parent: "b", trainHash: "H1", metric: 1, runs: [run(3), run(5)], contendedRuns: [{ at: 0 }, { at: 1 }] }]);
    expect(runs.map((r) => r.t)).toEqual([0, 1, 3, 5]);
  });

  it("reads a kept change's level from its runs made since it was kept (as its children's parent), not from the lucky runs that kept it", () => {
    // Kept on two runs that were 0.01 lucky (the winner's curse); its runs as a parent at t = 21 and 23 show its level.
    const lucky = (t: number): LoadRun => ({ ...run(t, { gain: 0.02 }), metric: (run(t, { gain: 0.02 }).metric as number) - 0.01 });
    const kept: LoadRecord = { status: "keep", commit: "k", parent: "b", trainHash: "HK", metric: 0.97, runs: [lucky(19), lucky(20)], runOrder: "cc" };
    const child = (commit: string, t: number): LoadRecord => ({ status: "discard", commit, parent: "k", trainHash: `H${commit}`, metric: 1, runs: [run(t + 1)], parentRuns: [run(t, { gain: 0.02 })], runOrder: "pc" });
    const once = loadTracker([...session(8), kept, child("x", 21)], "HK");
    // One run since: the level is still all of its runs'.
    expect(once.model?.head.n).toBe(3);
    const tracker = loadTracker([...session(8), kept, child("x", 21), child("y", 23)], "HK");
    expect(tracker.model?.head.n).toBe(2);
    // A no-op child of it at t = 25 is measured as one (the lucky runs would make it look 0.01 worse).
    const noop = tracker.gainOf(timed([25, 26], { gain: 0.02 }), "min");
    expect(Math.abs(noop?.gain as number)).toBeLessThan(0.004);
  });

  it("reads a kept change's level from the runs that kept it less the luck the session's differences say they hold (empirical Bayes), beside its runs made since", () => {
    // The session's load-adjusted decisions: no-ops, measured within their noise (0.005).
    const decided = session(8).map((r, i) => (i === 0 ? r : { ...r, loadDelta: i % 2 ? 0.002 : -0.002, loadSe: 0.005 }));
    // A change 0.005 better kept on two runs 0.016 lucky: measured 0.021 better at 0.01 standard error.
    const lucky = (t: number): LoadRun => ({ ...run(t, { gain: 0.005 }), metric: (run(t, { gain: 0.005 }).metric as number) - 0.016 });
    const kept: LoadRecord = { status: "keep", commit: "k", parent: "b", trainHash: "HK", metric: 0.979, runs: [lucky(19), lucky(20)], runOrder: "cc", loadDelta: -0.021, loadSe: 0.01 };
    // A no-op child of it at t = 21 and 22.
    const noop = (records: LoadRecord[], at = 21) => loadTracker(records, "HK").gainOf(timed([at, at + 1], { gain: 0.005 }), "min")?.gain as number;
    // Against the lucky runs as they are (no load-adjusted decisions to say how much luck) it looks 0.016 worse.
    expect(noop([...session(8), kept])).toBeCloseTo(-0.016, 2);
    // In a session of no-ops a keep 2.1 standard errors out is mostly luck: taken off, the no-op child is measured as one.
    expect(Math.abs(noop([...decided, kept]))).toBeLessThan(0.004);
    // Its runs made since (as its children's parent) count beside the corrected ones.
    const child = (commit: string, t: number): LoadRecord => ({ status: "discard", commit, parent: "k", trainHash: `H${commit}`, metric: 1, runs: [run(t + 1)], parentRuns: [run(t, { gain: 0.005 })], runOrder: "pc", loadDelta: 0.001, loadSe: 0.005 });
    const since = [...decided, kept, child("x", 21), child("y", 23)];
    expect(loadTracker(since, "HK").model?.head.n).toBe(4);
    expect(Math.abs(noop(since, 25))).toBeLessThan(0.004);
  });

  it("a node decided against the load sits on its parent's scale", () => {
    const records = [
      { status: "keep" as const, commit: "b", parent: "b", trainHash: "H0", metric: 1, runs: [{ metric: 1 }, { metric: 1.02 }] },
      { status: "keep" as const, commit: "c", parent: "b", trainHash: "H1", metric: 0.99, runs: [{ metric: 1.2 }, { metric: 1.21 }], loadDelta: -0.02 },
    ];
    expect(measuredMeans(records).get("c")).toBeCloseTo(1.01 - 0.02, 9);
  });

  it("runs `confirm` made of a node decided against the load (measurements.jsonl) count in its measured metric", () => {
    const records = [
      { id: 0, status: "keep" as const, commit: "b", parent: "b", trainHash: "H0", metric: 1, runs: [{ seed: 0, metric: 1, durationSec: 1 }, { seed: 1, metric: 1.02, durationSec: 1 }] },
      { id: 1, status: "keep" as const, commit: "c", parent: "b", trainHash: "H1", metric: 0.99, runs: [{ seed: 0, metric: 1.2, durationSec: 1 }, { seed: 1, metric: 1.21, durationSec: 1 }], loadDelta: -0.02, loadSe: 0.004 },
    ] as unknown as ExperimentRecord[];
    const measurement: Measurement = { kind: "confirm", at: "2025-03-09T00:00:00Z", commit: "c", trainHash: "H1", runs: [0.95, 0.96, 0.97].map((metric, i) => ({ seed: 100 + i, metric, durationSec: 1 })) };
    const joined = joinMeasurements(records, [measurement]);
    // Its load-adjusted level stands for its own two runs; confirm's three runs count beside it, one each.
    expect(measuredMeans(joined).get("c")).toBeCloseTo((2 * (1.01 - 0.02) + 0.95 + 0.96 + 0.97) / 5, 9);
    expect(measuredMeans(joined).get("c")).not.toBeCloseTo(measuredMeans(records).get("c") as number, 3);
  });
});
