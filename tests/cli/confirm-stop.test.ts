import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { detectPlatform } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { BIN, cliAsync } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "../loop/deps.js";

// Runs with a seed from AR_TEST_HANG up hang until they are stopped; the others print at once.
const TRAIN = `const seed = Number(process.env.AUTORESEARCH_SEED ?? 0);
if (process.env.AR_TEST_NAN) {
  console.log("val_loss: nan");
} else if (process.env.AR_TEST_HANG && seed >= Number(process.env.AR_TEST_HANG)) {
  console.log("hanging");
  setInterval(() => {}, 1000);
} else {
  console.log("val_loss: " + (1 + seed / 1000).toFixed(6));
}
`;

/** `confirm` in a child process, stopped with `signal` once its first run is reported. */
function confirmStopped(root: string, args: string[], signal: NodeJS.Signals, hangFrom: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, "confirm", ...args], { cwd: root, env: { ...process.env, AR_TEST_HANG: String(hangFrom), NO_COLOR: "1" } });
    let stderr = "";
    let sent = false;
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      // Once the first run (or pair) is in, the next is under way: stop it there.
      if (!sent && /(run|pair) 1\/\d+:/.test(stderr)) {
        sent = true;
        setTimeout(() => child.kill(signal), 1500);
      }
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("autoresearch confirm stopped by Ctrl-C or SIGTERM, or measuring nothing", async () => {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE });
  const platform = await detectPlatform({ command: "node train.js", root });
  await research(root, { kind: "new", config: testConfig({ keepRule: "any", baselineRuns: 1, maxIterations: 0 }), platform }, testDeps(root, new PlanProposer([])));
  const measurements = () => readFileSync(recordPath(root, "measurements.jsonl"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

  it("exits 130 with no verdict; the finished run is recorded, the stopped one is not; nothing is left behind", async () => {
    // The session's one run used seed 0: confirm's get 1, 2, 3, and seed 1 finishes.
    const result = await confirmStopped(root, ["baseline", "--runs", "3"], "SIGINT", 2);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain("error: stopped after 1 of 3 run(s): the 1 finished is recorded in the session's measurements; no verdict from part of the runs");
    expect(result.stderr).not.toMatch(/Verdict|noise floor/);
    const last = measurements().at(-1);
    expect(last.runs).toEqual([expect.objectContaining({ seed: 1, metric: 1.001 })]);
    // The throwaway clone is gone (its run's process tree went with the stop); the logs stay.
    expect(readdirSync(recordPath(root, "confirm")).filter((d) => d.endsWith(".tree"))).toEqual([]);
    expect(git(root, "worktree", "list").split("\n")).toHaveLength(1);
  }, 60_000);

  it("a pair cut short is not recorded at all; SIGTERM stops it as Ctrl-C does", async () => {
    // B better than A by 0.01 on each pair: one pair cannot keep it, so a second starts (and hangs).
    writeFileSync(join(root, "train.js"), TRAIN.replace("(1 + seed / 1000)", "(0.99 + seed / 1000)"));
    git(root, "commit", "-q", "-am", "other");
    const before = measurements().length;
    const other = git(root, "rev-parse", "HEAD").trim();
    // Seeds 0 and 1 are the session's now: the first pair runs on seed 2, the second hangs on 3.
    const result = await confirmStopped(root, ["baseline", other, "--pairs", "3"], "SIGTERM", 3);
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain("error: stopped after 1 of 3 pair(s)");
    // The finished pair's two runs (one line per commit); nothing of the second.
    const added = measurements().slice(before);
    expect(added.map((m) => m.runs.length)).toEqual([1, 1]);
  }, 60_000);

  it("a commit that measures nothing: each run says why, the logs are named, exit 1", async () => {
    const result = await cliAsync(root, ["confirm", "baseline", "--runs", "2"], { AR_TEST_NAN: "1" });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("run 1/2: no metric (val_loss is NaN)");
    expect(result.stdout).toContain("nothing can be said (read the logs below)");
    expect(result.stdout).toMatch(/^The runs' logs: \.git\/autoresearch\/t1\/records\/confirm\/[^/]+\/$/m);
  }, 60_000);
});
