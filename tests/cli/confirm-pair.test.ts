import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { measuredOf } from "../../src/ledger/tree.js";
import { noiseOfRecords } from "../../src/metric/index.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, Measurement, Proposal } from "../../src/types.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { cli } from "../helpers/cli.js";
import { SEEDED_UNIT } from "../helpers/noisy.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";

/**
 * A trainer whose versions differ by a known amount: BOOST = 1 is 0.03 better (about 5 × the
 * noise), NUDGE only changes the noise. The noise (sd about 0.006) is drawn from the seed and the
 * code, so two versions run with one seed still differ by noise, as real runs do.
 */
const TRAIN = `const BOOST = 0;
const NUDGE = 0;
${SEEDED_UNIT}const noise = (unit(seed * 7919 + BOOST * 15485863 + NUDGE * 104729) - 0.5) * 0.02;
console.log("val_loss: " + (1.2 - 0.03 * BOOST + noise).toFixed(6));
`;

const records = (root: string): ExperimentRecord[] =>
  readFileSync(recordPath(root, "experiments.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as ExperimentRecord);
const measurements = (root: string): Measurement[] =>
  readFileSync(recordPath(root, "measurements.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Measurement);

describe("autoresearch confirm A B (real session, real runs)", async () => {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE });
  const platform = await detectPlatform({ command: "node train.js", root });
  const steps: Proposal[] = [
    { description: "BOOST 0 -> 1", category: "optimizer", edits: [{ search: "const BOOST = 0;", replace: "const BOOST = 1;" }], planStep: 0 },
    { description: "NUDGE 0 -> 1", category: "other", edits: [{ search: "const NUDGE = 0;", replace: "const NUDGE = 1;" }], planStep: 1 },
    // For the resume: a comment, so new code whose runs give its parent's numbers.
    { description: "a comment", category: "other", edits: [{ search: "function unit(a) {", replace: "function unit(a) { // the same" }], planStep: 2 },
  ];
  await research(root, { kind: "new", config: testConfig({ baselineRuns: 3, maxIterations: 2 }), platform }, testDeps(root, new PlanProposer(steps)));
  const session = records(root);

  it("two versions 0.03 apart: B is better, the difference and its interval hold 0.03, runs in turns with fresh seeds", () => {
    const result = cli(root, ["confirm", "0", "#1", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.a).toMatchObject({ label: "#0", iteration: 0 });
    expect(report.b).toMatchObject({ label: "#1", iteration: 1 });
    expect(report.outcome).toBe("better");
    expect(report.verdict).toMatch(/^#1 is better than #0 on \d pairs: \d+\.\d standard errors, beyond what noise explains$/);
    // B - A is -0.03 (lower is better) up to the noise of a few pairs, and the interval holds it.
    expect(report.difference).toBeGreaterThan(-0.045);
    expect(report.difference).toBeLessThan(-0.015);
    expect(report.interval[0]).toBeLessThan(-0.03);
    expect(report.interval[1]).toBeGreaterThan(-0.03);
    expect(report.interval[1]).toBeLessThan(0);
    // A then B, then B then A; both of a pair with one seed, after every seed the session used (0, 1, 2).
    expect(report.pairs.map((p: { order: string }) => p.order).slice(0, 2)).toEqual(["AB", "BA"]);
    expect(report.pairs.map((p: { seed: number }) => p.seed)).toEqual(report.pairs.map((_: unknown, i: number) => 3 + i));
    expect(report.noise).toBeGreaterThan(0);
    expect(git(root, "status", "--porcelain")).toBe("");
  });

  it("two versions that do not differ: not better, the interval holds 0; the plain output says so", () => {
    const result = cli(root, ["confirm", "1", "2", "--pairs", "4"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^A = #1 \(iteration 1, [0-9a-f]{7}\)$/m);
    expect(result.stdout).toMatch(/^ {2}pair 1 \(A then B, seed \d+\): A 1\.\d+ {2}B 1\.\d+$/m);
    expect(result.stdout).toMatch(/^B - A: [-+]0\.\d+ \(95% interval -0\.\d+ to \+0\.\d+\)/m);
    expect(result.stdout).toMatch(/^Verdict: (#2 is not better than #1 on \d pairs? \(-?\d\.\d standard errors\): no difference beyond noise|no clear difference on 4 pairs .*)\.$/m);
    expect(result.stdout).toMatch(/^noise floor 0\.\d+ \(the session's: pooled over every run of identical code, these included\)$/m);
    expect(result.stderr).toMatch(/pair 1\/4: A val_loss 1\.\d+, B val_loss 1\.\d+/);
  });

  it("the runs join the session: recorded apart from the experiments, counted in the noise floor and the head's mean that status shows", () => {
    const before = cli(root, ["status", "--json"]);
    const single = cli(root, ["confirm", "best", "--runs", "3", "--json"]);
    expect(single.code).toBe(0);
    const report = JSON.parse(single.stdout);
    // Never an experiment: no new record, no results.tsv row, the branch where it was.
    expect(records(root)).toEqual(session);
    expect(readFileSync(`${root}/results.tsv`, "utf8").trim().split("\n")).toHaveLength(session.length + 1);
    const recorded = measurements(root);
    expect(recorded.map((m) => m.kind)).toEqual(["confirm", "confirm", "confirm", "confirm", "confirm"]);
    expect(recorded.filter((m) => m.pairedWith).map((m) => m.commit)).toEqual([session[0]?.commit, session[1]?.commit, session[1]?.commit, session[2]?.commit]);
    expect(recorded.at(-1)).toMatchObject({ commit: report.target.commit, runs: report.runs.map((r: { seed: number; metric: number }) => expect.objectContaining({ seed: r.seed, metric: r.metric })) });
    // New seeds again: after every seed the session and the earlier confirms used.
    const used = Math.max(...recorded.slice(0, -1).flatMap((m) => m.runs.map((r) => r.seed)));
    expect(report.runs.map((r: { seed: number }) => r.seed)).toEqual([used + 1, used + 2, used + 3]);
    // The noise floor confirm printed is the session's: every run of identical code, confirm's included.
    const joined = session.map((r) => ({ ...r, confirmRuns: recorded.filter((m) => m.commit === r.commit).flatMap((m) => m.runs) }));
    expect(report.noise).toBeCloseTo(noiseOfRecords(joined)?.sd as number, 12);
    expect(report.noise).not.toBeCloseTo(noiseOfRecords(session)?.sd as number, 6);
    // status reads the same floor and the head's mean with confirm's runs counted.
    const after = JSON.parse(cli(root, ["status", "--json"]).stdout);
    expect(JSON.stringify(after)).not.toEqual(JSON.stringify(JSON.parse(before.stdout)));
    const head = joined.find((r) => r.id === report.head.iteration) as ExperimentRecord;
    expect(report.head.metric).toBeCloseTo(measuredOf(joined, head) as number, 12);
    expect(after.markdown).toContain(`**Noise floor:** ${report.noise.toFixed(6)} (`);
    expect(after.progress.best).toMatchObject({ iteration: report.head.iteration, measured: true });
    expect(after.progress.best.metric).toBeCloseTo(report.head.metric, 12);
    expect(after.markdown).toContain(`**Best so far:** ${report.head.metric.toFixed(6)} (iteration ${report.head.iteration}, commit `);
    // show lists confirm's runs with the experiment's own, and the mean later decisions compare with.
    const shown = cli(root, ["show", String(report.head.iteration)]);
    expect(shown.code, shown.stderr).toBe(0);
    for (const r of report.runs as { seed: number; metric: number }[]) expect(shown.stdout).toContain(`seed ${r.seed}: ${r.metric.toFixed(6)} — autoresearch confirm`);
    expect(shown.stdout).toMatch(/^Runs: .*, \d+ by `autoresearch confirm`$/m);
    const how = head.loadDelta !== undefined ? "its parent's measured metric plus its difference at the same load" : head.parentRuns?.length ? "its parent's measured metric plus the mean difference of its pairs" : "the mean of every run of its code";
    expect(shown.stdout).toContain(`Measured:   ${report.metric ?? "val_loss"} ${report.head.metric.toFixed(6)}, ${how}`);
  });

  it("resume decides with them: the next experiment is compared with the head's mean, confirm's runs counted", async () => {
    await research(root, { kind: "resume", overrides: { maxIterations: session.length } }, testDeps(root, new PlanProposer(steps)));
    const all = records(root);
    const added = all.at(-1) as ExperimentRecord;
    expect(added.id).toBe(session.length);
    const joined = all.slice(0, -1).map((r) => ({ ...r, confirmRuns: measurements(root).filter((m) => m.commit === r.commit).flatMap((m) => m.runs) }));
    const parent = joined.find((r) => r.commit === added.parent) as ExperimentRecord;
    expect(added.bestBefore).toBeCloseTo(measuredOf(joined, parent) as number, 9);
    expect(added.bestBefore).not.toBeCloseTo(measuredOf(session, session.find((r) => r.commit === added.parent) as ExperimentRecord) as number, 9);
  }, 60_000);

  it("bad input: the same commit twice, --pairs without a second commit, an unknown experiment: exit 2", () => {
    const same = cli(root, ["confirm", "1", "#1"]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain("are the same commit");
    const pairs = cli(root, ["confirm", "best", "--pairs", "3"]);
    expect(pairs.code).toBe(2);
    expect(pairs.stderr).toContain("--pairs is for two commits");
    const unknown = cli(root, ["confirm", "#99", "best"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("the session has no experiment #99");
  });
});
