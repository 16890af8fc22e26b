import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import { renderSessions } from "../../src/cli/commands/sessions.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { listSessions } from "../../src/ledger/sessions.js";
import { finalizeHeadline, renderFinalizeTable } from "../../src/report/finalize-table.js";
import { finalizeLine, finalizePanel, loadFinalizeView, writeFinalizeTable } from "../../src/report/finalize-view.js";
import { loadReportData } from "../../src/report/load.js";
import { loadExperiment, renderExperiment, renderSessionLine } from "../../src/report/show.js";
import { renderSummary } from "../../src/report/summary.js";
import type { ExperimentRecord } from "../../src/types.js";
import { finalizeFixture, writeFinalize } from "../helpers/finalize-log-fixture.js";
import { buildRecords, REALISTIC_SPECS, removeDir, sessionInfo, tempDir, writeSessionFiles } from "../helpers/session-fixture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** REALISTIC_SPECS' kept chain (val_bpb, min): #1 0.9932, #3 0.9821, #8 0.9744, #12 0.9655, #14 0.9612 (the head). */
const KEPT = [1, 3, 8, 12, 14];

function session(records: ExperimentRecord[] = buildRecords(1.0, REALISTIC_SPECS)) {
  const root = tempDir("ar-finalize-views-");
  dirs.push(root);
  writeSessionFiles(root, records, sessionInfo());
  return { root, paths: legacyPaths(root), records };
}

/** #3 and #14 matter, #8 hurts, the rest within noise. */
const VERDICTS = {
  3: { verdict: "matters" as const, loss: 0.011 },
  14: { verdict: "matters" as const, loss: 0.0043, dependsOn: [12] },
  8: { verdict: "hurts" as const, loss: -0.003 },
};

describe("finalize in the summary", () => {
  it("a finished finalize: the header line, the Finalize section with the table from finalize.jsonl, and merge --final", () => {
    const { root, paths, records } = session();
    const fixture = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS });
    expect(fixture.changes).toEqual(KEPT);
    writeFinalize(paths, fixture.entries);
    const data = loadReportData({ root });
    expect(data.finalize?.progress).toBe("finished");
    const summary = renderSummary(data);
    expect(summary).toContain("**Finalized:** 2025-03-09 07:22 UTC");
    expect(summary).toMatch(/\*\*Finalized:\*\* [^\n]*: 2 of 5 kept changes matter \(see Finalize below\)/);
    const section = summary.slice(summary.indexOf("## Finalize"), summary.indexOf("## What Didn't Work"));
    expect(section).toContain(renderFinalizeTable(fixture.result as NonNullable<typeof fixture.result>, { format: "markdown", tag: "mar8", runsPerVariant: 3 }).trimEnd());
    // The loss column is the metric's own change without it: val_bpb goes up (worse) without #3.
    expect(section).toMatch(/\| #3 ReLU² activation instead of GELU \| -0\.011100 \| \+0\.011000 ± 0\.001000 \| 19\.1 SE \(>99\.9%\) \| matters \| \d+% \|/);
    // Taking out #8 (which hurts) makes val_bpb go down.
    expect(section).toMatch(/\| #8 Cosine cooldown[^|]*\| -0\.007700 \| -0\.003000 ± 0\.001000 \| -5\.2 SE \(0\.1%\) \| hurts \|/);
    expect(section).toMatch(/\| #14 Muon optimizer for matrices \|[^\n]*matters \(with #12\)/);
    expect(section).toContain(".autoresearch/finalize.md");
    expect(section).toMatch(/^- Final code: autoresearch\/mar8-final \([0-9a-f]+\), on the session's base commit; `autoresearch merge --final` merges it$/m);
    expect(summary).toContain("autoresearch merge --final --into main    # the smallest set finalize found (autoresearch/mar8-final)");
    // The noise paragraph says what finalize found of the changes that do not matter (it stood every change above the noise alone).
    const noise = summary.slice(summary.indexOf("## Noise and Confidence"), summary.indexOf("\n## ", summary.indexOf("## Noise and Confidence") + 1));
    expect(noise).toMatch(/`autoresearch finalize` measured the kept changes again, each taken out of the best and run beside it: [^\n]*#8 hurts[^\n]* there \(see Finalize below\)\./);
    expect(noise).not.toMatch(/measured the kept changes again[^\n]*#3 /);
  });

  it("a maximised metric: the loss column says the metric goes down without a change that matters", () => {
    const records = buildRecords(0.5, [
      { description: "wider", metric: 0.6 },
      { description: "no-op", metric: 0.61 },
    ], { direction: "max" });
    const { root, paths } = session(records);
    writeSessionFiles(root, records, sessionInfo({}, { direction: "max", metric: "acc" }));
    const fixture = finalizeFixture(records, { tag: "mar8", metric: "acc", direction: "max", verdicts: { 1: { verdict: "matters", loss: 0.1 } } });
    writeFinalize(paths, fixture.entries);
    const summary = renderSummary(loadReportData({ root }));
    expect(summary).toMatch(/\| #1 wider \| \+0\.100000 \| -0\.100000 ± 0\.001000 \| 173\.2 SE \(>99\.9%\) \| matters \|/);
    expect(summary).toMatch(/\| #2 no-op \| \+0\.010000 \| \+0\.000000 ± 0\.001000 \| 0\.0 SE \(40\.0%\) \| within noise \|/);
  });

  it("the headline says a refused smallest set is not the final code (it read as if its share were kept)", () => {
    const fixture = finalizeFixture(buildRecords(1.0, REALISTIC_SPECS), { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS });
    const result = fixture.result as NonNullable<typeof fixture.result>;
    expect(finalizeHeadline(result)).toMatch(/; the smallest set \(2 of 5\) keeps \d+% of the gain$/);
    const refused = { ...result, smallestSet: { ...result.smallestSet, accepted: false } };
    expect(finalizeHeadline(refused)).toMatch(/; the smallest set \(2 of 5\) would keep \d+% of the gain but was not shown as good as the best, which stays the final code$/);
  });

  it("a stopped finalize: k of n runs and how to continue it; a running one says running", () => {
    const { root, paths, records } = session();
    const fixture = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", stopAfterRuns: 5, at: new Date(Date.now() - 3600_000) });
    writeFinalize(paths, fixture.entries);
    let data = loadReportData({ root });
    expect(finalizeLine(data.finalize as NonNullable<typeof data.finalize>)).toBe("finalize stopped: 5 of 21 runs; `autoresearch finalize` continues it (runs recorded are not run again)");
    let summary = renderSummary(data);
    expect(summary).toContain("**Finalize:** stopped, 5 of 21 runs (see Finalize below)");
    expect(summary).toContain("Finalize stopped: 5 of 21 runs (5 kept changes, 3 runs of each variant); it was stopped before every run was in");
    expect(summary).not.toContain("merge --final");
    // The repo's lock held by a live process (this one) since before its last run ended: finalize is at work.
    writeFileSync(paths.lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date(Date.now() - 3600_000).toISOString() }));
    data = loadReportData({ root });
    expect(data.finalize?.progress).toBe("running");
    summary = renderSummary(data);
    expect(summary).toContain("Finalize running: 5 of 21 runs");
    // A loop that took the lock after finalize stopped is not finalize.
    writeFileSync(paths.lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    writeFileSync(`${paths.dir}/events.jsonl`, `${JSON.stringify({ type: "session-start", at: new Date(Date.now() + 1000).toISOString() })}\n`);
    expect(loadReportData({ root }).finalize?.progress).toBe("stopped");
  });

  it("a finalize of an earlier best is marked as such once the session kept more", () => {
    const { root, paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const more = buildRecords(1.0, [...REALISTIC_SPECS, { description: "later win", metric: 0.95 }]);
    writeSessionFiles(root, more, sessionInfo());
    const data = loadReportData({ root });
    expect(data.finalize?.stale).toBe(true);
    const summary = renderSummary(data);
    expect(summary).toContain("it measured the best of then (#14); the session kept more since");
    // Its command is a code span in the markdown, not backticks shown with a backslash.
    expect(summary).toContain("kept more since: `autoresearch finalize` measures the best of now");
    expect(summary).not.toContain("\\`");
    // merge --final would merge an earlier best: the merge recommendation does not offer it.
    expect(summary.slice(summary.indexOf("## Merge Recommendation"))).not.toContain("merge --final");
  });

  it("a session never finalized has no Finalize section", () => {
    const { root } = session();
    const data = loadReportData({ root });
    expect(data.finalize).toBeNull();
    expect(renderSummary(data)).not.toContain("Finalize");
  });

  it("finalize.md is rendered again from finalize.jsonl", () => {
    const { paths, records } = session();
    const fixture = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS });
    writeFinalize(paths, fixture.entries);
    expect(existsSync(paths.finalizeTable)).toBe(false);
    const view = loadFinalizeView(paths);
    expect(writeFinalizeTable(view as NonNullable<typeof view>, "mar8")).toBe(paths.finalizeTable);
    expect(readFileSync(paths.finalizeTable, "utf8")).toBe(renderFinalizeTable(fixture.result as NonNullable<typeof fixture.result>, { format: "markdown", tag: "mar8", runsPerVariant: 3 }));
  });
});

describe("finalize in show, sessions and the dashboard's data", () => {
  it("show N of a kept change it measured prints its verdict; another experiment prints none; show with no number starts with the session's line", () => {
    const { paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const three = renderExperiment(loadExperiment(paths, 3), "val_bpb");
    expect(three).toMatch(
      /^Finalize: {3}matters: without it val_bpb \+0\.011000 ± 0\.001000 vs the best \(3 rounds\), confidence it matters 19\.1 SE \(>99\.9%\), \d+% of the gain, -0\.011100 when it was kept$/m,
    );
    expect(renderExperiment(loadExperiment(paths, 14), "val_bpb")).toMatch(/^Finalize: {3}matters \(depends on #12\): /m);
    expect(renderExperiment(loadExperiment(paths, 2), "val_bpb")).not.toMatch(/^Finalize:/m);
    const best = loadExperiment(paths, null);
    expect(best.record.id).toBe(14);
    expect(best.head).toBe(true);
    expect(renderSessionLine(best, "mar8")).toBe("Session mar8: the best is #14; finalized 2025-03-09 07:22 UTC: 2 of 5 kept changes matter, table in .autoresearch/finalize.md\n");
  });

  it("show with no number on a session never finalized says what finalize would measure", () => {
    const { paths } = session();
    const best = loadExperiment(paths, null);
    expect(best.finalize).toBeNull();
    expect(renderSessionLine(best, "mar8")).toBe("Session mar8: the best is #14; not finalized: `autoresearch finalize` measures which of its 5 kept changes matter\n");
  });

  it("sessions lists when it was finalized and how many changes matter, or how far finalize is", () => {
    const { root, paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const [listed] = listSessions(root);
    expect(listed?.finalize).toMatchObject({ progress: "finished", matter: 2, changes: 5, runsDone: 21, stale: false });
    expect(renderSessions(listSessions(root))).toMatch(/^\*?\s+\S+\s+stopped\s+autoresearch\/mar8 .*2025-03-09 07:22Z, 2 of 5 matter$/m);
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", stopAfterRuns: 7 }).entries);
    expect(renderSessions(listSessions(root))).toMatch(/stopped, 7\/21 runs$/m);
    expect(renderSessions(listSessions(root))).toContain("FINALIZED: when `autoresearch finalize` finished");
    // Each header stands over its column (they sat two columns to the right).
    const [header, row] = renderSessions(listSessions(root)).split("\n") as [string, string];
    for (const [name, cell] of [["STATE", "stopped"], ["BRANCH", "autoresearch/mar8"], ["STARTED", "2025-"]]) expect(header.indexOf(name as string), name).toBe(row.indexOf(cell as string));
    expect(header.indexOf("TAG")).toBe(2);
  });

  it("sessions in an 80-column terminal: a block per session instead of a table wider than the terminal", () => {
    const { root, paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const wide = renderSessions(listSessions(root));
    expect(Math.max(...wide.split("\n").map((l) => l.length))).toBeGreaterThan(79);
    const narrow = renderSessions(listSessions(root), 79);
    expect(narrow.split("\n").filter((l) => l.length > 79)).toEqual([]);
    expect(narrow).toMatch(/^\*? +\S+ {2}stopped, \d+ experiments \(\d+ kept\)$/m);
    expect(narrow).toMatch(/^ {4}branch {5}autoresearch\/mar8$/m);
    expect(narrow).toMatch(/^ {4}finalized {2}2025-03-09 07:22Z, 2 of 5 matter$/m);
  });

  it("the dashboard's panel: each verdict by experiment, the rows formatted, the notes", () => {
    const { paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const panel = finalizePanel(loadFinalizeView(paths) as NonNullable<ReturnType<typeof loadFinalizeView>>, "mar8");
    expect(panel.verdicts).toEqual({ 1: "within noise", 3: "matters", 8: "hurts", 12: "within noise", 14: "matters" });
    expect(panel.rows.find((r) => r.change === 3)).toMatchObject({ without: "+0.011000 ± 0.001000", confidence: "19.1 SE (>99.9%)", verdict: "matters" });
    expect(panel.notes.some((n) => n.startsWith("Smallest set: #3 #14"))).toBe(true);
    expect(panel.notes.filter((n) => /^Change #\d+: autoresearch\/mar8-change-\d+ \([0-9a-f]{7}\)$/.test(n))).toHaveLength(2);
  });
});
