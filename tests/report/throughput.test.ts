import { describe, expect, it } from "vitest";
import { contentionCount, contentionOf, contentionText, noiseOfRecords, rateNoise, ratesByCode, stepsPerSec } from "../../src/metric/index.js";
import { fromRecords } from "../../src/report/model.js";
import { renderProgressReport } from "../../src/report/progress.js";
import { renderExperiment } from "../../src/report/show.js";
import { renderSummary } from "../../src/report/summary.js";
import type { ExperimentRecord, RunSample } from "../../src/types.js";

const run = (seed: number, metric: number, steps: number, extra: Partial<RunSample> = {}): RunSample => ({ seed, metric, durationSec: 31, steps, trainingSec: 30, ...extra });

function rec(id: number, fields: Partial<ExperimentRecord>): ExperimentRecord {
  return {
    id,
    commit: `${id}`.repeat(40).slice(0, 40),
    parent: "0".repeat(40),
    trainHash: `h${id}`,
    description: id === 0 ? "Baseline — no modifications" : `change ${id}`,
    category: id === 0 ? "baseline" : "optimizer",
    status: "keep",
    reason: id === 0 ? "baseline" : "improved",
    metric: 2.4,
    memGb: null,
    params: null,
    bestBefore: id === 0 ? null : 2.5,
    startedAt: "2024-01-01T00:00:00Z",
    finishedAt: "2024-01-01T00:01:00Z",
    durationSec: 60,
    proposer: "builtin",
    lines: 10,
    ...fields,
  };
}

const RECORDS: ExperimentRecord[] = [
  rec(0, {
    metric: 2.5,
    steps: 450,
    trainingSec: 30,
    runs: [run(0, 2.5, 450), run(1, 2.51, 456), run(2, 2.49, 444)],
    contendedRuns: [run(1, 2.6, 300, { contended: true, load: { loadStart: 1.1, loadEnd: 3.4, cores: 2 } })],
    load: { loadStart: 0.4, loadEnd: 0.9, cores: 2, otherGpuProcesses: 1 },
  }),
  rec(1, { metric: 2.4, steps: 600, trainingSec: 30, bestBefore: 2.5 }),
];

describe("throughput and contention in the reports", () => {
  it("steps/s, the spread of identical code's runs, and the contention verdict", () => {
    expect(stepsPerSec({ steps: 450, trainingSec: 30 })).toBe(15);
    expect(stepsPerSec({ steps: 450 })).toBeNull();
    const groups = ratesByCode(RECORDS);
    // Contended runs are left out of their code's rates, as of the noise floor.
    expect(groups.get("h0")).toEqual([15, 15.2, 14.8]);
    expect(rateNoise(groups)).toBeCloseTo(0.2, 9);
    expect(noiseOfRecords(RECORDS)?.sd).toBeCloseTo(0.01, 9);
    // 10 steps/s against 15 ± 0.2: contended; 14.5 is within max(3 sd, 5%).
    expect(contentionOf({ steps: 300, trainingSec: 30 }, [15, 15.2, 14.8], 0.2)?.contended).toBe(true);
    expect(contentionOf({ steps: 435, trainingSec: 30 }, [15, 15.2, 14.8], 0.2)?.contended).toBe(false);
    // Faster never counts (load only slows runs), and unknown spread needs a 25% drop.
    expect(contentionOf({ steps: 900, trainingSec: 30 }, [15], null)?.contended).toBe(false);
    expect(contentionOf({ steps: 330, trainingSec: 30 }, [15], null)?.contended).toBe(true);
    expect(contentionOf({ steps: 360, trainingSec: 30 }, [15], null)?.contended).toBe(false);
    expect(contentionCount(RECORDS)).toEqual({ runs: 5, rerun: 1 });
    expect(contentionText(RECORDS)).toMatch(/^1 of 5 runs was re-run for contention/);
    expect(contentionText([RECORDS[1] as ExperimentRecord])).toBeNull();
  });

  it("show prints each run's steps, seconds and steps/s, its load, and the contended run", () => {
    const text = renderExperiment({ record: RECORDS[0] as ExperimentRecord, patch: null, logTail: [], logPath: "0.log", patchPath: null, parent: null, children: [], combines: [] }, "val_loss");
    expect(text).toContain("Throughput: 450 steps in 30.0s of training (15.0 steps/s); load 0.4 -> 0.9 on 2 cores; 1 other GPU process");
    expect(text).toContain("Runs:       3 decided, 1 re-run for contention");
    expect(text).toContain("  seed 1: 2.510000, 456 steps in 30.0s of training (15.2 steps/s)");
    expect(text).toContain("  seed 1: 2.600000, 300 steps in 30.0s of training (10.0 steps/s), load 1.1 -> 3.4 on 2 cores — contended, re-run");
  });

  it("the summary and the progress report (status) count the runs re-run for contention and show throughput", () => {
    const data = fromRecords(RECORDS, null);
    const summary = renderSummary(data);
    expect(summary).toContain("**Contention:** 1 of 5 runs was re-run for contention");
    expect(summary).toContain("**Throughput:** baseline 450 steps in 30.0s of training (15.0 steps/s); best (iteration 1) 600 steps in 30.0s of training (20.0 steps/s)");
    expect(renderProgressReport(data)).toContain("**Contention:** 1 of 5 runs was re-run for contention");
  });
});
