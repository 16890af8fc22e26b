import { describe, expect, it } from "vitest";
import { renderChartSvg } from "../../src/report/chart.js";
import { fromRecords } from "../../src/report/model.js";
import { progressSnapshot, renderProgressReport } from "../../src/report/progress.js";
import { renderSummary } from "../../src/report/summary.js";
import type { ExperimentRecord } from "../../src/types.js";
import { buildRecords, sessionInfo } from "../helpers/session-fixture.js";

const T0 = Date.parse("2025-03-08T22:00:00Z");
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

/**
 * A 2-worker session of 1000 s: the baseline on w0 (0-100 s), then w0 runs #1 (100-500) and
 * #3 (600-1000), w1 runs #2 (100-300, after 50 s in a queue) and #4, which re-ran #2's change
 * on the new best (700-800).
 */
function twoWorkerRecords(): ExperimentRecord[] {
  const records = buildRecords(1.0, [
    { description: "LR 0.04", metric: 0.99 },
    { description: "Wider MLP", metric: 0.98 },
    { description: "Dropout 0.1", metric: 1.01 },
    { description: "Wider MLP", metric: 0.97 },
  ]);
  const where: [number, number, number, number | null][] = [
    // worker, start, end, run start (after the queue)
    [0, 0, 100, null],
    [0, 100, 500, null],
    [1, 100, 300, 150],
    [0, 600, 1000, null],
    [1, 700, 800, null],
  ];
  return records.map((r, i) => {
    const [worker, start, end, run] = where[i] as [number, number, number, number | null];
    return {
      ...r,
      worker,
      device: String(worker),
      startedAt: at(start),
      finishedAt: at(end),
      ...(run !== null && { runStartedAt: at(run), pendingSec: run - start }),
      ...(r.id === 4 && { rebaseOf: 2 }),
    };
  });
}

describe("reports of a session with several workers", () => {
  const data = fromRecords(twoWorkerRecords(), sessionInfo({ startedAt: at(0) }, { maxIterations: 10 }));

  it("the progress report has a Workers table: decided per hour and utilisation per worker", () => {
    const snapshot = progressSnapshot(data, { now: T0 + 1000_000 });
    // w0: 100 + 400 + 400 = 900 s busy; w1: 150 (queue time left out) + 100 = 250 s.
    expect(snapshot.workers?.workers.map((w) => [w.worker, w.decided, w.busySec, w.utilisation])).toEqual([
      [0, 2, 900, 0.9],
      [1, 2, 250, 0.25],
    ]);
    const report = renderProgressReport(data, { now: T0 + 1000_000 });
    expect(report).toContain("| w0 | 0 | 2 | 7.2 | 00:15:00 | 90% |");
    expect(report).toContain("| w1 | 1 | 2 | 7.2 | 00:04:10 | 25% |");
    expect(report).toContain("| 4 |");
    expect(report).toMatch(/\| 4 \| [0-9a-f]{7} \| 0\.970000 \| keep \| Wider MLP \(re-run of #2\) \|/);
  });

  it("the summary has a Workers section and says which experiment a row re-ran", () => {
    const md = renderSummary(data, { chart: null });
    const headings = md.split("\n").filter((l) => l.startsWith("## "));
    expect(headings).toContain("## Workers");
    expect(md).toContain("2 workers ran experiments at the same time");
    expect(md).toContain("| w1 | 1 | 2 | 7.2 | 00:04:10 | 25% |");
    expect(md).toMatch(/Wider MLP \(re-run of #2\)/);
  });

  it("the chart names each point's worker in its tooltip and adds one workers line", () => {
    const svg = renderChartSvg(data);
    expect(svg).toMatch(/<title>#4 \(w1\) [0-9a-f]{7} 0\.970000 keep/);
    expect(svg).toContain('<text class="workers"');
    expect(svg).toContain("w0 7.2/h 90% · w1 7.2/h 25%");
  });

  it("a one-worker session's reports are as before: no Workers section, no workers line", () => {
    const serial = fromRecords(
      twoWorkerRecords().map((r) => ({ ...r, worker: 0 })),
      sessionInfo({ startedAt: at(0) }),
    );
    expect(renderProgressReport(serial)).not.toContain("Workers");
    expect(renderSummary(serial, { chart: null })).not.toContain("## Workers");
    expect(renderChartSvg(serial)).not.toContain('class="workers"');
  });
});
