import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { fromRecords, fromResults } from "../../src/report/model.js";
import { renderProgressReport } from "../../src/report/progress.js";
import { renderSummary } from "../../src/report/summary.js";
import { overview } from "../../src/cli/commands/merge.js";
import type { MergePlan } from "../../src/workspace/merge.js";
import { buildRecords, sessionInfo } from "../helpers/session-fixture.js";

function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  expect(start, `missing heading ${heading}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

describe("noise floor and confidence in the reports", () => {
  // Baseline 1.0 from three runs with sd 0.01; a keep of -0.03 (3×) and one of -0.005 (0.5×).
  const records = buildRecords(1.0, [
    { description: "LR 0.01 -> 0.04", category: "optimizer", metric: 0.97 },
    { description: "WD 0.1 -> 0.2", category: "optimizer", metric: 0.965 },
  ]);
  (records[0] as (typeof records)[0]).runs = [
    { seed: 0, metric: 0.99, durationSec: 1 },
    { seed: 1, metric: 1.0, durationSec: 1 },
    { seed: 2, metric: 1.01, durationSec: 1 },
  ];
  const data = fromRecords(records, sessionInfo());

  it("summary: the noise floor, each keep's confidence, keeps within noise flagged, in plain words", () => {
    expect(data.noise?.sd).toBeCloseTo(0.01, 12);
    const md = renderSummary(data);
    expect(md).toContain("**Noise floor:** 0.010000 (the standard deviation of single runs, pooled over 3 runs of 1 identical script)");
    expect(md).toMatch(/LR 0\.01 -> 0\.04 \(-0\.030000, -3\.00%, iteration 1, 3\.0× noise\)/);
    expect(md).toMatch(/WD 0\.1 -> 0\.2 \(-0\.005000, -0\.52%, iteration 2, 0\.5× noise, within noise ⚠\)/);
    const words = section(md, "## Noise and Confidence");
    expect(words).toContain("The best result is 3.5× the noise floor away from the baseline.");
    expect(words).toContain("1 of the 2 kept changes are within noise (marked ⚠): iteration 2.");
    // The best stands 3.5× the noise floor from the baseline, as measured: no advice to go and check that.
    expect(section(md, "## Recommended Next Steps")).not.toContain("`autoresearch confirm best --runs 3`");
  });

  it("the next steps say what was measured (issue 26): confirming only a best that could be luck, no noise to measure when it was, no gain to check without one", () => {
    // A best 1.5× the noise floor from the baseline: could be luck, so confirming it is the advice.
    const weak = buildRecords(1.0, [{ description: "WD 0.1 -> 0.2", category: "optimizer", metric: 0.985 }]);
    (weak[0] as (typeof weak)[0]).runs = records[0]?.runs;
    const steps = section(renderSummary(fromRecords(weak, sessionInfo())), "## Recommended Next Steps");
    expect(steps).toContain("`autoresearch confirm best --runs 3`");
    // Nothing kept in 9 experiments numbered with gaps, the noise floor measured.
    const none = buildRecords(1.0, [1.01, 1.02, 1.005, 1.03, 1.01, 1.02, 1.04, 1.01, 1.02].map((metric, i) => ({ description: `change ${i}`, category: "optimizer", metric })));
    (none[0] as (typeof none)[0]).runs = records[0]?.runs;
    const flat = section(renderSummary(fromRecords(none, sessionInfo())), "## Recommended Next Steps");
    expect(flat).toContain("Nothing beat the baseline (1.000000) in 9 experiments: with a noise floor of 0.010000 measured, try larger, different changes.");
    expect(flat).not.toContain("measure run-to-run noise");
    // A hypothesis is offered where the proposer reads one (an LLM's or an agent's brief), not to the builtin search.
    const only = buildRecords(1.0, []);
    const builtin = section(renderSummary(fromRecords(only, sessionInfo({}, { proposer: "builtin" }))), "## Recommended Next Steps");
    expect(builtin).toContain("Start the next session from the best commit (`autoresearch run`); an LLM or coding-agent proposer takes a direction for it with `--hypothesis`.");
    const llm = section(renderSummary(fromRecords(only, sessionInfo({}, { proposer: "anthropic" }))), "## Recommended Next Steps");
    expect(llm).toContain('with a hypothesis for the next direction: `autoresearch run --hypothesis "..."`.');
    expect(flat).not.toContain("check the gain holds");
    expect(flat).not.toContain("confirm best");
    // The last keep is told by how many experiments came after it, not by numbers that may skip.
    const gaps = buildRecords(1.0, [
      { description: "A", category: "optimizer", metric: 0.97 },
      { description: "B", category: "optimizer", metric: 0.99 },
    ]);
    (gaps[2] as (typeof gaps)[0]).id = 3;
    const coming = section(renderSummary(fromRecords(gaps, sessionInfo())), "## Recommended Next Steps");
    expect(coming).toContain("Improvements were still coming (last kept at iteration 1, 1 experiment before the end)");
    expect(coming).not.toMatch(/of 3\b/);
  });

  it("the advice to go on fits the session: resume with more iterations when all were used, a last keep within noise called possible luck, the keep rule said whole", () => {
    // Two experiments of a session allowed two, the last kept well clear of the noise (3.0×).
    const used = buildRecords(1.0, [
      { description: "A", category: "optimizer", metric: 1.01 },
      { description: "B", category: "optimizer", metric: 0.97 },
    ]);
    (used[0] as (typeof used)[0]).runs = records[0]?.runs;
    const full = renderSummary(fromRecords(used, sessionInfo({}, { maxIterations: 2, keepRule: "confirm" })));
    // `resume` alone refuses a session that ran all its iterations.
    expect(section(full, "## Recommended Next Steps")).toContain("continue the session with `autoresearch resume --max-iterations 12`");
    expect(section(renderSummary(fromRecords(used, sessionInfo({}, { maxIterations: 5 }))), "## Recommended Next Steps")).toContain("continue the session with `autoresearch resume`.");
    // Stopped after its baseline, before any experiment: resume goes on (not "start the next session").
    const stopped = section(renderSummary(fromRecords(used.slice(0, 1), sessionInfo({}, { maxIterations: 5 }))), "## Recommended Next Steps");
    expect(stopped).toContain("The session stopped before its first experiment: `autoresearch resume` goes on from the baseline it measured (1.000000).");
    // One that was allowed none (--max-iterations 0) is not told to go on.
    expect(section(renderSummary(fromRecords(used.slice(0, 1), sessionInfo({}, { maxIterations: 0 }))), "## Recommended Next Steps")).not.toContain("stopped before its first experiment");
    // One that met its stop condition: resume goes on only with a condition its best does not meet yet.
    expect(section(renderSummary(fromRecords(used, sessionInfo({}, { maxIterations: 5, stopWhen: "val_bpb <= 0.98" }))), "## Recommended Next Steps")).toContain('continue the session with `autoresearch resume --stop-when "val_bpb <= 0.9603"`.');
    // The keep rule's text is whole, up to its last sentence.
    expect(full).toMatch(/\*\*Keep rule:\*\* .*Seed changes are never improvements\./);
    // The last keep 0.5× the noise floor from its parent (the baseline): not a sign that improvements were coming.
    const lucky = buildRecords(1.0, [
      { description: "A", category: "optimizer", metric: 1.01 },
      { description: "B", category: "optimizer", metric: 0.995 },
    ]);
    (lucky[0] as (typeof lucky)[0]).runs = records[0]?.runs;
    const steps = section(renderSummary(fromRecords(lucky, sessionInfo())), "## Recommended Next Steps");
    expect(steps).not.toContain("Improvements were still coming");
    expect(steps).toContain("The last keep (iteration 2) is within noise of its parent, so it could be luck: measure the two in turns (`autoresearch confirm 0 2`)");
  });

  it("a keep decided on parent/change pairs stands on them: not flagged within noise whatever its gain over one run", () => {
    const paired = buildRecords(1.0, [
      { description: "LR 0.01 -> 0.04", category: "optimizer", metric: 0.97 },
      { description: "WD 0.1 -> 0.2", category: "optimizer", metric: 0.965 },
    ]);
    (paired[0] as (typeof paired)[0]).runs = records[0]?.runs;
    (paired[2] as (typeof paired)[0]).parentRuns = [0.97, 0.971, 0.969, 0.97].map((metric, seed) => ({ seed: 1000 + seed, metric, durationSec: 1 }));
    const md = renderSummary(fromRecords(paired, sessionInfo()));
    expect(md).toMatch(/WD 0\.1 -> 0\.2 \(-0\.005000, -0\.52%, iteration 2, confirmed on 4 pairs\)/);
    expect(md).not.toContain("within noise ⚠");
    expect(section(md, "## Noise and Confidence")).toContain("or beat its parent on parent/change pairs run side by side (iteration 2)");
  });

  it("a keep decided against the load its runs read stands on its load-adjusted standard error, in the summary, status and merge", () => {
    // WD's gain over the best before it is 0.5× the raw noise floor, but it was kept on its difference from its parent at the
    // same load (-0.005) with a standard error of 0.0015: 3.3 standard errors.
    const adjusted = (loadSe: number) => {
      const list = buildRecords(1.0, [
        { description: "LR 0.01 -> 0.04", category: "optimizer", metric: 0.97 },
        { description: "WD 0.1 -> 0.2", category: "optimizer", metric: 0.965 },
      ]);
      (list[0] as (typeof list)[0]).runs = records[0]?.runs;
      Object.assign(list[2] as (typeof list)[0], { loadDelta: -0.005, loadSe, runs: [0.96, 0.97].map((metric, seed) => ({ seed, metric, durationSec: 1 })) });
      return fromRecords(list, sessionInfo());
    };
    const plan: MergePlan = { branch: "autoresearch/t", base: "main", branchTip: "b".repeat(40), baseTip: "a".repeat(40), mergeBase: "a".repeat(40), commits: [], diverged: false, conflicts: [] };
    const clear = adjusted(0.0015);
    const md = renderSummary(clear);
    expect(md).toMatch(/WD 0\.1 -> 0\.2 \(-0\.005000, -0\.52%, iteration 2, load-adjusted, 3\.3 standard errors\)/);
    expect(md).not.toContain("within noise ⚠");
    expect(section(md, "## Noise and Confidence")).toContain("or beat its parent at the same load by at least 2 standard errors, its load read from its runs' steps/s (iteration 2)");
    expect(renderProgressReport(clear, { now: Date.parse("2025-03-09T00:00:00Z") })).not.toContain("Kept changes within noise");
    expect(overview(plan, "squash", clear)).not.toContain("⚠ within noise");
    // Under 2 of its standard errors it could be luck, in every view.
    const weak = adjusted(0.004);
    expect(renderSummary(weak)).toMatch(/WD 0\.1 -> 0\.2 \(-0\.005000, -0\.52%, iteration 2, load-adjusted, 1\.3 standard errors, within noise ⚠\)/);
    expect(renderProgressReport(weak, { now: Date.parse("2025-03-09T00:00:00Z") })).toContain("Kept changes within noise (could be luck): iteration 2.");
    expect(overview(plan, "squash", weak)).toMatch(/#2 .*⚠ within noise/);
  });

  it("progress report: the noise floor and the keeps that could be luck", () => {
    const report = renderProgressReport(data, { now: Date.parse("2025-03-09T00:00:00Z") });
    expect(report).toContain("**Noise floor:** 0.010000 (the standard deviation of single runs, pooled over 3 runs of 1 identical script) Kept changes within noise (could be luck): iteration 2.");
  });

  it("a results file: estimated from rows that re-ran the same commit, or says it cannot be", () => {
    const rerun = parseResults(
      [
        "commit\tval_bpb\tmemory_gb\tstatus\tdescription",
        "a1b2c3d\t1.000000\t44.0\tkeep\tbaseline",
        "a1b2c3d\t1.020000\t44.0\tkeep\tbaseline (rerun)",
        "b2c3d4e\t0.990000\t44.0\tkeep\tlower LR",
        "",
      ].join("\n"),
    );
    const noisy = fromResults(rerun);
    expect(noisy.noise?.sd).toBeCloseTo(Math.sqrt(0.0002), 12);
    expect(renderSummary(noisy)).toContain("(estimated from 2 rows that re-ran 1 commit (rows of the same commit are identical code))");
    const plain = fromResults(parseResults("commit\tval_bpb\tmemory_gb\tstatus\tdescription\na1b2c3d\t1.0\t44.0\tkeep\tbaseline\nb2c3d4e\t0.99\t44.0\tkeep\tlower LR\n"));
    expect(plain.noise?.sd).toBeNull();
    const md = renderSummary(plain);
    expect(md).toContain("**Noise floor:** unknown (cannot be estimated from this file: no two rows re-ran the same commit;");
    // The hint says once what it is for (it used to read "To measure it, run ... to measure it").
    expect(section(md, "## Noise and Confidence")).toContain("no kept change can be told apart from luck: run `autoresearch confirm baseline --runs 3` in the session's repository to measure it.");
    expect(section(md, "## Noise and Confidence").match(/to measure it/gi)).toHaveLength(1);
  });

  it("says in words why a better run was not kept under a keep rule", () => {
    const records = buildRecords(1.0, [
      { description: "A", metric: 0.999, status: "discard", reason: "within-noise" },
      { description: "B", metric: 0.99, status: "discard", reason: "not-confirmed" },
      { description: "C", metric: 0.9, status: "discard", reason: "check-failed", detail: "check failed: pytest -q: exit code 1: 2 failed" },
    ]);
    const md = renderSummary(fromRecords(records, sessionInfo()));
    const failed = section(md, "## What Didn't Work");
    expect(failed).toContain("not kept: -0.001000 (-0.10%), within noise on one run (not worth confirming)");
    expect(failed).toContain("not kept: -0.010000 (-1.00%), not confirmed: the mean of its re-runs was within noise");
    expect(failed).toContain("not kept: -0.100000 (-10.00%), a check failed: pytest -q: exit code 1: 2 failed");
  });
});
