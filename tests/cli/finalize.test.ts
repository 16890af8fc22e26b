import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFinalizeEntries, type FinalizeRun } from "../../src/ledger/finalize-records.js";
import { research } from "../../src/loop/research.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { FINALIZE_TRAIN, FIXTURE_CPU, finalizeRepo, finalizeSessionOf } from "../helpers/finalize-fixture.js";
import { git, recordPath } from "../helpers/repo.js";
import { processesWithEnv, sleep, startCli, waitGone } from "../reliability/helpers.js";

const runKey = (r: FinalizeRun) => `${r.batch}/${r.kind}/${r.removed.join("+")}/${r.round}/${r.repeat ?? 0}`;
const runsOf = (root: string) => readFinalizeEntries(recordPath(root, "finalize.jsonl")).filter((e): e is FinalizeRun => e.type === "run");

describe("autoresearch finalize (CLI)", () => {
  it("bad input is exit 2 with the fix, and changes nothing: unknown tag, --runs 0, no terminal without --yes, a running loop, nothing kept", async () => {
    const root = await finalizeSessionOf();
    const before = repoSnapshot(root);
    const cases: [string[], RegExp][] = [
      [["finalize", "--tag", "nosuch", "--yes"], /no autoresearch session "nosuch"[\s\S]*fix: .*autoresearch sessions/],
      [["finalize", "--runs", "0", "--yes"], /--runs "0": not a whole number from 1 to 1000[\s\S]*fix:/],
      [["finalize", "--budget", "soon", "--yes"], /--budget "soon": not a positive duration/],
      // Zero is refused in the words run and demo use.
      [["finalize", "--budget", "0", "--yes"], /--budget "0": not a positive duration/],
      [["finalize"], /no terminal to ask in[\s\S]*fix: Pass --yes/],
    ];
    for (const [args, message] of cases) {
      const result = cli(root, args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(message);
    }
    // A live loop holds the repository's lock (here: this test's own process stands for it).
    const lock = join(root, ".git", "autoresearch", "lock");
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    const running = cli(root, ["finalize", "--yes"]);
    expect(running.code).toBe(2);
    expect(running.stderr).toMatch(/a research loop is running in this repo[\s\S]*fix: Finalize works on a finished or stopped session/);
    writeFileSync(lock, JSON.stringify({ pid: 999999, host: hostname(), startedAt: new Date().toISOString() }));
    expect(repoSnapshot(root)).toBe(before);
    expect(readFinalizeEntries(recordPath(root, "finalize.jsonl"))).toEqual([]);

    // A session whose best is still the baseline.
    const empty = finalizeRepo();
    const worse = new PlanProposer([{ description: "BIG 0 -> -1", category: "other", edits: [{ search: "const BIG = 0;", replace: "const BIG = -1;" }], planStep: 0 }]);
    await research(empty, { kind: "new", config: testConfig({ keepRule: "any" }), platform: FIXTURE_CPU }, testDeps(empty, worse));
    const nothing = cli(empty, ["finalize", "--yes"]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/session t1 kept nothing: its best is the baseline[\s\S]*fix: Run the session longer/);
  }, 120_000);

  it("kill -9 during finalize, then finalize again: nothing lost, nothing run twice, no run left behind; then merge --final", async () => {
    const root = await finalizeSessionOf();
    const researchBranch = git(root, "rev-parse", "autoresearch/t1");
    // Runs of 400 ms, marked so the test can find them.
    const marker = `finalize-kill-${process.pid}-${Date.now()}`;
    const env = { FIXTURE_SLEEP_MS: "400", FIXTURE_MARK: marker };
    const live = startCli(root, ["finalize", "--yes", "--runs", "2"], env);
    // Wait until some runs are recorded and one is running, then kill finalize (not its group: its runs are orphaned).
    const start = Date.now();
    while (runsOf(root).length < 5 && Date.now() - start < 60_000) await sleep(50);
    while (processesWithEnv("FIXTURE_MARK", marker).length === 0 && Date.now() - start < 60_000) await sleep(20);
    process.kill(live.pid, "SIGKILL");
    await live.exited;
    const recorded = runsOf(root);
    expect(recorded.length).toBeGreaterThanOrEqual(5);
    // The watchdog kills what the killed finalize left running.
    expect(await waitGone(() => processesWithEnv("FIXTURE_MARK", marker), 10_000)).toEqual([]);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(researchBranch);

    const again = cli(root, ["finalize", "--yes", "--runs", "2"], { FIXTURE_SLEEP_MS: "1" }, 240_000);
    expect(again.code, again.stderr).toBe(0);
    // The cost said first counts only what was not recorded.
    // 9 variants, 2 rounds, the best twice a round: 20 runs in the `changes` batch.
    const before = recorded.filter((r) => r.batch === "changes").length;
    expect(again.stderr).toMatch(new RegExp(`Finalize: 9 variants .* × 2 rounds, the best twice a round = ${20 - before} runs \\(${before} of 20 recorded already\\)`));
    const all = runsOf(root);
    // Nothing lost: every run recorded before the kill is still there, as it was.
    expect(all.slice(0, recorded.length)).toEqual(recorded);
    // Nothing run twice: one run per batch, variant and round.
    expect(new Set(all.map(runKey)).size).toBe(all.length);
    expect(all.filter((r) => r.batch === "changes")).toHaveLength(20);
    expect(again.stdout).toMatch(/Finalize of t1: best #7/);
    expect(again.stdout).toMatch(/#6 TOGETHER 0 -> 1 .* matters \(with #2\)/);
    expect(again.stdout).toMatch(/Smallest set: #1 #2 #4 #6 \(4 of 7 changes, without #3 #5 #7\): as good as the best within noise/);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(researchBranch);

    // merge --final: the smallest set into main, one commit per change it holds.
    const merged = cli(root, ["merge", "--final", "--rebase", "--yes"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain("Merged autoresearch/t1-final into main (rebase)");
    expect(git(root, "show", "main:train.js")).toBe(git(root, "show", "autoresearch/t1-final:train.js"));
    expect(git(root, "show", "main:train.js")).toBe(
      FINALIZE_TRAIN.replace("const BIG = 0;", "const BIG = 1;").replace("const MEDIUM = 0;", "const MEDIUM = 1;").replace("const SMALL = 0;", "const SMALL = 1;").replace("const TOGETHER = 0;", "const TOGETHER = 1;").trim(),
    );
    expect(git(root, "log", "--format=%s", "main")).toMatch(/^#6: TOGETHER 0 -> 1\n#4: SMALL 0 -> 1\n#2: MEDIUM 0 -> 1\n#1: BIG 0 -> 1\ninit$/);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(researchBranch);

    // clean takes finalize's branches with the session, and names them first.
    const leftByFinalize = git(root, "branch", "--list", "autoresearch/t1-*", "--format=%(refname:short)").split("\n").filter(Boolean);
    expect(leftByFinalize).toEqual(expect.arrayContaining(["autoresearch/t1-final", "autoresearch/t1-change-1"]));
    const cleaned = cli(root, ["clean", "--tag", "t1", "--yes"]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    for (const branch of leftByFinalize) expect(cleaned.stdout).toContain(`branch ${branch} (left by finalize)`);
    expect(git(root, "branch", "--list", "autoresearch/*", "--format=%(refname:short)")).toBe("");
  }, 300_000);

  it("merge --final before any finalize: exit 2, run finalize first", async () => {
    const root = await finalizeSessionOf();
    const result = cli(root, ["merge", "--final", "--yes"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/autoresearch\/t1-final does not exist: the session was not finalized[\s\S]*fix: Run `autoresearch finalize` first/);
  }, 120_000);
});

describe("autoresearch finalize, stopped", () => {
  it("Ctrl-C: the runs in flight end and are recorded, no more start, exit 130; finalize again continues", async () => {
    const root = await finalizeSessionOf();
    const marker = `finalize-int-${process.pid}-${Date.now()}`;
    const live = startCli(root, ["finalize", "--yes", "--runs", "2"], { FIXTURE_SLEEP_MS: "300", FIXTURE_MARK: marker });
    const start = Date.now();
    while (runsOf(root).length < 3 && Date.now() - start < 60_000) await sleep(50);
    process.kill(live.pid, "SIGINT");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);
    expect(live.stderr()).toContain("Stopping after the runs in flight");
    expect(live.stderr()).toMatch(/Stopped: the runs recorded so far are kept; `autoresearch finalize` continues where it was/);
    const recorded = runsOf(root);
    expect(recorded.length).toBeGreaterThanOrEqual(3);
    expect(recorded.length).toBeLessThan(20);
    expect(recorded.every((r) => r.status === "ok")).toBe(true);
    expect(processesWithEnv("FIXTURE_MARK", marker)).toEqual([]);
    const again = cli(root, ["finalize", "--yes", "--runs", "2", "--json"], {}, 240_000);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).smallestSet.accepted).toBe(true);
    expect(runsOf(root).slice(0, recorded.length)).toEqual(recorded);
  }, 240_000);
});
