import { mkdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { legacyPaths } from "../../src/ledger/paths.js";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { fromRecords, fromResults } from "../../src/report/model.js";
import { progressSnapshot, renderProgressReport, writeProgressReport } from "../../src/report/progress.js";
import { renderSummary } from "../../src/report/summary.js";
import { KARPATHY_RESULTS, REALISTIC_SPECS, buildRecords, commitAt, removeDir, sessionInfo, tempDir } from "../helpers/session-fixture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe("progress report (spec 2.6)", () => {
  it("is exactly the spec's block, with best, delta, %, iterations, HH:MM, last 5 and direction", () => {
    const records = buildRecords(1.0, [
      { description: "Increase LR to 0.04", category: "optimizer", metric: 0.99, direction: "learning rate" },
      { description: "Deeper MLP", category: "architecture", metric: 1.01, direction: "model size" },
      { description: "ReLU² activation", category: "architecture", metric: 0.98, direction: "activations" },
      { description: "Double batch", category: "training", metric: null, detail: "OOM: CUDA out of memory" },
      { description: "Dropout | 0.1", category: "training", metric: 0.985 },
      { description: "SwiGLU MLP", category: "architecture", metric: 0.9821, direction: "MLP variants" },
    ]);
    const data = fromRecords(records, sessionInfo({ startedAt: "2025-03-08T22:00:00.000Z" }, { maxIterations: 50 }));
    const report = renderProgressReport(data, { now: new Date("2025-03-09T01:23:45Z") });
    const c = (sha: string) => sha.slice(0, 7);
    expect(report).toBe(
      [
        "## AutoResearch Progress — Iteration 6",
        "",
        `**Best so far:** 0.980000 (iteration 3, commit ${c(commitAt(records, 3))})`,
        "",
        "**vs. Baseline:** -0.020000 (-2.00%)",
        "",
        // The best of a session that measured no noise floor says so (issue 26), on the tool's line after the spec's.
        "**Noise floor:** unknown (not measured: no code ran twice (one baseline run, no confirmation runs); run `autoresearch confirm baseline --runs 3` in the session's repository to measure it) ⚠ The best against the baseline: never re-measured, no noise floor.",
        "",
        "**Iterations:** 6 / 50",
        "",
        "**Time elapsed:** 03:23:45",
        "",
        "**Recent results (last 5):**",
        "",
        "| Iter | Commit | Metric | Status | Change |",
        "|------|--------|--------|--------|--------|",
        `| 6 | ${c(commitAt(records, 6))} | 0.982100 | discard | SwiGLU MLP |`,
        `| 5 | ${c(commitAt(records, 5))} | 0.985000 | discard | Dropout \\| 0.1 |`,
        `| 4 | ${c(commitAt(records, 4))} | — | crash | Double batch |`,
        `| 3 | ${c(commitAt(records, 3))} | 0.980000 | keep | ReLU² activation |`,
        `| 2 | ${c(commitAt(records, 2))} | 1.010000 | discard | Deeper MLP |`,
        "",
        "**Current direction:** MLP variants",
        "",
      ].join("\n"),
    );
  });

  it("unlimited iterations, max direction, the caller's current direction", () => {
    const records = buildRecords(0.5, [{ description: "bigger model", metric: 0.6 }, { description: "smaller", metric: 0.55 }], { direction: "max" });
    const data = fromRecords(records, sessionInfo({}, { metric: "val_acc", direction: "max", maxIterations: null }));
    const report = renderProgressReport(data, { now: Date.parse("2025-03-08T22:00:00Z"), currentDirection: "width sweep" });
    expect(report).toContain("**Best so far:** 0.600000 (iteration 1, commit");
    expect(report).toContain("**vs. Baseline:** +0.100000 (+20.00%)");
    expect(report).toContain("**Iterations:** 2 / unlimited");
    expect(report).toContain("**Current direction:** width sweep");
    expect(report).toContain("**Time elapsed:** 00:02:00");
  });

  it("works from a bare results file (Karpathy's format): unknown time, no direction", () => {
    const data = fromResults(parseResults(KARPATHY_RESULTS));
    const report = renderProgressReport(data, { now: Date.now() });
    expect(report.split("\n")[0]).toBe("## AutoResearch Progress — Iteration 9");
    expect(report).toContain("**Best so far:** 0.985500 (iteration 6, commit a7b8c9d)");
    expect(report).toContain("**vs. Baseline:** -0.012400 (-1.24%)");
    expect(report).toContain("**Iterations:** 9 / unlimited");
    expect(report).toContain("**Time elapsed:** unknown");
    expect(report).toContain("| 8 | c9d0e1f | — | crash | fp8 matmuls (nan loss) |");
    expect(report).toContain("**Current direction:** —");
  });

  it("its header is the completed count, also for records numbered with gaps (older sessions)", () => {
    const records = buildRecords(1.0, [
      { description: "a", category: "optimizer", metric: 0.99 },
      { description: "b", category: "optimizer", metric: 1.01 },
    ]).map((r, i) => (i === 2 ? { ...r, id: 5 } : r));
    const report = renderProgressReport(fromRecords(records, sessionInfo({}, { maxIterations: 12 })));
    expect(report.split("\n")[0]).toBe("## AutoResearch Progress — Iteration 2");
    expect(report).toContain("**Iterations:** 2 / 12");
  });

  it("after `confirm` re-ran the best, the delta is its measured metric's, as the best line shows (not its first run's)", () => {
    const records = buildRecords(1.0, [{ description: "A", metric: 0.9 }]);
    (records[1] as (typeof records)[number]).confirmRuns = [{ metric: 0.94, seed: 7, durationSec: 30 }, { metric: 0.95, seed: 8, durationSec: 30 }];
    const report = renderProgressReport(fromRecords(records, sessionInfo()), { now: Date.parse("2025-03-08T23:00:00Z") });
    // The best's measured metric: the mean of its three runs, 0.93.
    expect(report).toContain("**Best so far:** 0.930000 (iteration 1, commit");
    expect(report).toContain("**vs. Baseline:** -0.070000 (-7.00%)");
    // The summary's Results say the same; its Top Improvements row is the decision's, with the measured metric beside it.
    const summary = renderSummary(fromRecords(records, sessionInfo()), { chart: null });
    expect(summary).toMatch(/^\| 1\.000000 \| 0\.930000 \| -0\.070000 \(-7\.00%\) \| /m);
    expect(summary).toMatch(/^\| 1 \| \w+ \| 0\.900000 \| A \(-0\.100000, -10\.00%, iteration 1, 0\.930000 measured since/m);
    expect(summary).toContain("**Final metric:** 0.930000 (iteration 1");
  });

  it("before any experiment: only the baseline", () => {
    const data = fromRecords(buildRecords(1.0, []), sessionInfo());
    const s = progressSnapshot(data, { now: Date.parse("2025-03-08T22:10:00Z") });
    expect(s.iteration).toBe(0);
    expect(s.completed).toBe(0);
    expect(s.best?.metric).toBe(1.0);
    expect(s.delta).toBe(0);
    expect(renderProgressReport(data)).toContain("## AutoResearch Progress — Iteration 0");
  });

  it("is written atomically to .autoresearch/progress.md", () => {
    const root = tempDir();
    dirs.push(root);
    const paths = legacyPaths(root);
    const data = fromRecords(buildRecords(1.0023, REALISTIC_SPECS), sessionInfo());
    mkdirSync(paths.dir, { recursive: true });
    const markdown = renderProgressReport(data, { now: Date.parse("2025-03-09T06:00:00Z") });
    expect(writeProgressReport(paths, markdown)).toBe(paths.progress);
    expect(readFileSync(paths.progress, "utf8")).toBe(markdown);
  });
});
