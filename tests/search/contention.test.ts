import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ContentionRecord, rerunWhileContended } from "../../src/search/contention.js";
import type { LoopDeps } from "../../src/search/session.js";
import { StopControl } from "../../src/search/stop.js";
import type { RunResult } from "../../src/types.js";

/** A run of 30 s that made `steps` steps. */
const run = (steps: number): RunResult => ({ exitCode: 0, signal: null, timedOut: false, durationSec: 30, metric: 1, memGb: null, params: null, oom: false, tailLines: [], steps, trainingSec: 30 });

/** rerunWhileContended on a run of code "H" whose earlier runs made `history` steps (one record each, in that order; or the records given). */
async function check(history: number[] | ContentionRecord[], steps: number, earlier: number[] = []) {
  const records: ContentionRecord[] = history.map((s) => (typeof s === "number" ? { status: "discard", trainHash: "H", steps: s, trainingSec: 30 } : s));
  // Another code run 100 times back to back: the spread of steps/s between identical runs is known (a fraction of a percent).
  records.push({ status: "discard", trainHash: "O", runs: Array.from({ length: 100 }, (_, i) => ({ steps: 400 + (i % 2), trainingSec: 30 })) });
  const warnings: string[] = [];
  const deps = { emit: (e: { type: string; message?: string }) => e.type === "warning" && warnings.push(e.message ?? ""), stop: new StopControl() } as unknown as LoopDeps;
  const logPath = join(mkdtempSync(join(tmpdir(), "ar-contention-")), "1.log");
  writeFileSync(logPath, "log\n");
  let again = 0;
  const outcome = await rerunWhileContended({
    deps,
    history: records,
    trainHash: "H",
    earlier: earlier.map((s) => ({ seed: 0, metric: 1, durationSec: 30, steps: s, trainingSec: 30 })),
    id: 1,
    run: run(steps),
    seed: 0,
    logPath,
    guard: async () => [],
    again: async () => {
      again++;
      return run(steps);
    },
    what: "its run",
  });
  return { contended: outcome.contended.length, again, warnings };
}

describe("runs slowed by a busy machine (no load track: steps/s against the same code's runs)", () => {
  it("re-runs a run far slower than its code's latest runs, and says so", async () => {
    const { contended, again, warnings } = await check([400, 402, 399], 300);
    expect(again).toBeGreaterThan(0);
    expect(contended).toBe(again);
    expect(warnings[0]).toMatch(/the machine was busy \(contention\); running it again/);
  });

  it("compares with its code's latest runs, not all of them: a slow drift of the machine since its first runs is no contention", async () => {
    // Its first runs at 400 steps; the machine has drifted to 320 since, where its latest three ran.
    const drifted = await check([400, 402, 398, 320, 322, 319], 321);
    expect(drifted.again).toBe(0);
    // Against its first runs the same run is 20% slow: re-run.
    expect((await check([400, 402, 398], 321)).again).toBeGreaterThan(0);
  });

  it("counts the code's runs as a parent beside its children's among its latest (the runs of its own record may be long ago)", async () => {
    const steps = (n: number) => ({ seed: 0, metric: 1, durationSec: 30, steps: n, trainingSec: 30 });
    const kept: ContentionRecord = { status: "keep", commit: "h", parent: "b", trainHash: "H", runs: [steps(400), steps(402)] };
    // Its children were decided on pairs since, the machine drifting: its runs beside theirs made 330 steps.
    const child = (commit: string, reusedFirst: boolean): ContentionRecord => ({ status: "discard", commit, parent: "h", trainHash: `C${commit}`, runs: [steps(331)], parentRuns: [{ ...steps(reusedFirst ? 331 : 330), reused: reusedFirst }, steps(329)] });
    expect((await check([kept, child("x", false), child("y", true)], 331)).again).toBe(0);
    // Its own record's runs alone (no children yet) say it ran at 400: 331 now is slowed.
    expect((await check([kept], 331)).again).toBeGreaterThan(0);
  });

  it("compares with this experiment's runs of the code when it has some (a parent's runs in the pairs before): they ran nearest in time", async () => {
    // The parent ran at 400 just before this experiment, and at 330 in its earlier pairs: 331 now is the machine as it is.
    expect((await check([400, 402, 398], 331, [330, 332])).again).toBe(0);
    // And one far below those is slowed, whatever its code did before.
    expect((await check([300, 302, 298], 250, [330, 332])).again).toBeGreaterThan(0);
  });
});
