import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { cli } from "../helpers/cli.js";
import { NOISY_TRAIN } from "../helpers/noisy.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";

// Seeds 0, 1, 2 of the noisy trainer: the baseline (LR 0.01, true 1.4) prints 1.376643 1.419010
// 1.437350; LR 0.04 (true 1.0) prints the same noise 0.4 lower.
const BASELINE = [1.376643, 1.41901, 1.43735];

describe("autoresearch confirm (real session, real runs)", async () => {
  const root = createRepo({ "train.js": NOISY_TRAIN, "prepare.js": FAKE_PREPARE });
  const platform = await detectPlatform({ command: "node train.js", root });
  const plan = new PlanProposer([
    { description: "LR 0.01 -> 0.04", category: "optimizer", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }], planStep: 0 },
    { description: "NUDGE 0 -> 1", category: "other", edits: [{ search: "const NUDGE = 0;", replace: "const NUDGE = 1;" }], planStep: 1 },
  ]);
  await research(root, { kind: "new", config: testConfig({ baselineRuns: 3 }), platform }, testDeps(root, plan));

  it("re-runs the best with seeds the session never used and calls a 0.4 gain over 0.03 noise real", () => {
    const result = cli(root, ["confirm", "--runs", "3", "--json"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.target).toMatchObject({ label: "best", iteration: 2 });
    // Best is NUDGE 1 on top of LR 0.04 (a noise win kept by `any`). The session used seeds 0 1 2
    // (the baseline's three runs): confirm draws 3 4 5, not a replay of the run it was kept on.
    expect(report.runs.map((r: { seed: number }) => r.seed)).toEqual([3, 4, 5]);
    expect(report.runs.map((r: { metric: number }) => r.metric)).toEqual([0.969026, 0.986637, 0.964794]);
    expect(report.baseline.mean).toBeCloseTo(BASELINE.reduce((a, b) => a + b) / 3, 9);
    expect(report.baseline.runs).toBe(3);
    expect(report.candidate.sd).toBeCloseTo(0.011584, 5);
    expect(report.confidence).toBeGreaterThan(10);
    expect(report.verdict).toMatch(/^a real improvement: the mean is \d+\.\d× the noise floor better than the baseline$/);
    // The temporary worktree is gone; the logs stay.
    expect(git(root, "worktree", "list").split("\n")).toHaveLength(1);
    const dirs = readdirSync(recordPath(root, "confirm"));
    expect(dirs).toHaveLength(1);
    expect(existsSync(join(recordPath(root, "confirm"), dirs[0] as string, "run3.log"))).toBe(true);
    expect(git(root, "status", "--porcelain")).toBe("");
  });

  it("prints mean ± sd and a plain verdict; the baseline's own re-runs measure the noise floor", () => {
    const result = cli(root, ["confirm", "baseline", "--runs", "2"]);
    expect(result.code).toBe(0);
    // Seeds 6 and 7: the first test's confirm used 3, 4 and 5, and its runs are the session's now.
    expect(result.stdout).toContain("baseline   1.396603 ± 0.025005 (2 runs)");
    expect(result.stdout).toMatch(/noise floor 0\.0\d+ \(the session's: pooled over every run of identical code, these included\)/);
    expect(result.stdout).toMatch(/^best \(head\) #2, measured 0\.\d+ \(the mean of its runs, these counted\)$/m);
    expect(result.stdout).toMatch(/Verdict for baseline \(iteration 0, [0-9a-f]{7}\): the baseline's spread between runs \(the noise floor\) is 0\.0\d+\./);
    expect(result.stderr).toContain("run 2/2: val_loss 1.414285");
  });

  it("bad input: an unknown commit or a bad --runs is exit 2 and changes nothing", () => {
    const bad = cli(root, ["confirm", "nosuchref"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('no commit "nosuchref" in this repository');
    // A number the session does not have is named as an experiment, with the numbers it has (it said `no commit "99"`).
    const number = cli(root, ["confirm", "99"]);
    expect(number.code).toBe(2);
    expect(number.stderr).toMatch(/no experiment 99 in this session \(nor a commit of that name\)\n\s*fix: Experiments are numbered 0 \(the baseline\) to \d+; or name a commit, best or baseline\./);
    const runs = cli(root, ["confirm", "--runs", "0"]);
    expect(runs.code).toBe(2);
    expect(runs.stderr).toContain("--runs");
    expect(readdirSync(recordPath(root, "confirm"))).toHaveLength(2);
  });
});
