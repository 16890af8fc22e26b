import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { sessionPaths } from "../../src/ledger/paths.js";
import { readInFlightReadOnly } from "../../src/ledger/read.js";
import type { InFlight } from "../../src/ledger/ledger.js";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { type CliEvent, checkInvariants, hashes, processesWithEnv, sleep, startCli, userRefs, waitGone } from "../reliability/helpers.js";
import { describeSlurm, queuedJobs } from "./cluster.js";

// MODE picks what a run does (the plan's edits change it); every run sleeps AR_SLEEP_MS first.
const TRAIN = `const LEARNING_RATE = 0.01;
const MODE = "ok";
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
if (MODE === "hang") setInterval(() => {}, 1000);
else if (MODE === "wait") sleep(60000);
else {
  sleep(Number(process.env.AR_SLEEP_MS || 1000));
  console.log("val_loss: " + (1 + Math.abs(Math.log2(LEARNING_RATE / 0.04))).toFixed(6));
}
`;

const COMMON = ["--train", "train.js", "--readonly", "prepare.js", "--metric", "val_loss", "--direction", "min", "--yes", "--executor", "slurm", "--json"];

function project(steps: { description: string; search: string; replace: string }[] = []) {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n" });
  if (steps.length > 0) {
    writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify({ description: s.description, category: "other", edits: [{ search: s.search, replace: s.replace }] })).join("\n")}\n`);
    git(root, "add", "plan.jsonl");
    git(root, "commit", "-qm", "plan");
  }
  return { root, base: git(root, "rev-parse", "HEAD"), guarded: hashes(root, ["prepare.js"]), refsBefore: userRefs(root) };
}

const jobsOf = (events: CliEvent[], id?: number) => events.filter((e) => e.type === "run-pending" && (id === undefined || e.iteration === id)).map((e) => String(e.job));

describeSlurm("SLURM sessions: kill -9 and resume, faults", () => {
  it("kill -9 with two jobs running: the jobs go on, resume follows the same job ids to their end, no row lost or doubled, nothing left", async () => {
    const { root, base, guarded, refsBefore } = project();
    const mark = randomUUID();
    const args = ["run", ...COMMON, "--budget", "10s", "--timeout", "40s", "--proposer", "builtin", "--tag", "rk", "--workers", "2", "--max-iterations", "2"];
    const live = startCli(root, args, { AR_MARK: mark, AR_SLEEP_MS: "6000" });
    // Both experiments' jobs running (state.json holds their handles) and announced.
    const paths = sessionPaths(root, "rk");
    let running: InFlight[] = [];
    const end = Date.now() + 90_000;
    while (Date.now() < end) {
      running = readInFlightReadOnly(paths).filter((e) => e.phase === "running" && e.handle?.kind === "slurm" && e.runStartedAt !== undefined);
      if (running.length === 2) break;
      await sleep(100);
    }
    expect(running.map((e) => e.id).sort(), live.stderr()).toEqual([1, 2]);
    const jobs = new Map(running.map((e) => [e.id, e.handle?.id as string]));
    process.kill(live.pid, "SIGKILL");
    await live.exited;
    // The watchdog left them alone: still running in the cluster a moment later.
    await sleep(1500);
    expect(queuedJobs([...jobs.values()]).sort()).toEqual([...jobs.values()].map((id) => `${id} RUNNING`).sort());
    // Their training processes run (on a loaded machine a job's own setup may still be going at first).
    const seen = Date.now() + 15_000;
    while (processesWithEnv("AR_MARK", mark).length === 0 && Date.now() < seen) await sleep(100);
    expect(processesWithEnv("AR_MARK", mark).length).toBeGreaterThan(0);

    const resumed = startCli(root, ["resume", "--json"], { AR_MARK: mark });
    const exit = await resumed.exited;
    expect(exit.code, resumed.stderr()).toBe(0);
    const records = checkInvariants(root, { base, tag: "rk", guarded, refsBefore });
    expect(records.map((r) => r.id).sort()).toEqual([0, 1, 2]);
    for (const [id, job] of jobs) {
      // In flight it was named by its key; its decision numbered it (in the order the two ended).
      const number = (resumed.events.find((e) => e.type === "experiment" && e.key === id)?.record as ExperimentRecord | undefined)?.id;
      const record = records.find((r) => r.id === number) as ExperimentRecord;
      // Measured by the job the first orchestrator submitted: a metric, a run of the whole sleep, queue time apart.
      expect(record.status, record.detail).not.toBe("crash");
      expect(record.metric).toEqual(expect.any(Number));
      expect(record.durationSec).toBeGreaterThanOrEqual(4);
      expect(record.pendingSec).toEqual(expect.any(Number));
      // No new sbatch for it: the resumed orchestrator only announced the same job, and its log says so.
      expect(jobsOf(resumed.events, id)).toEqual([job]);
      const log = readFileSync(recordPath(root, `runs/${number}.log`), "utf8");
      expect(log).toContain(`re-attached to SLURM job ${job}`);
      expect(log).toMatch(/val_loss: \d/);
      expect(resumed.events.some((e) => e.type === "warning" && String(e.message).includes(`experiment ${id} was interrupted; following its run again`))).toBe(true);
    }
    expect(resumed.events.filter((e) => e.type === "proposal")).toEqual([]);
    // Nothing left: no job in the queue, no process of any run.
    expect(queuedJobs([...jobs.values()])).toEqual([]);
    expect(await waitGone(() => processesWithEnv("AR_MARK", mark), 3000)).toEqual([]);
  }, 150_000);

  it("a hang past the hard timeout, a job cancelled outside, a job queued past --max-pending: each recorded with its reason, the session goes on to its end", async () => {
    const { root, base, guarded, refsBefore } = project([
      { description: "LEARNING_RATE 0.04", search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" },
      { description: "hangs", search: 'const MODE = "ok";', replace: 'const MODE = "hang";' },
      { description: "is cancelled by the scheduler", search: 'const MODE = "ok";', replace: 'const MODE = "wait";' },
      // Last: a job still waiting when the session ends cannot delay the next one's start.
      { description: "waits in the queue", search: 'const MODE = "ok";', replace: 'const MODE = "ok, later";' },
    ]);
    const mark = randomUUID();
    const args = ["run", ...COMMON, "--budget", "2s", "--timeout", "4s", "--max-pending", "6s", "--proposer", "plan", "--plan", "plan.jsonl", "--check", 'echo "check job=$SLURM_JOB_ID"', "--tag", "faults", "--max-iterations", "4"];
    const live = startCli(root, args, { AR_MARK: mark, AR_SLEEP_MS: "500" });
    let blocker = "";
    try {
      // Experiment 3 running: a job that takes the whole node is queued behind it, then experiment 3
      // is cancelled from outside; the node goes to that job, so experiment 4 waits in the queue.
      await live.waitFor((e) => e.type === "run-start" && e.iteration === 3, 90_000).catch((err: Error) => {
        throw new Error(`${err.message}\nstdout: ${live.stdout().slice(-3000)}`);
      });
      const cancelled = jobsOf(live.events, 3)[0] as string;
      const sb = spawnSync("sbatch", ["--parsable", "--exclusive", "--job-name=blocker", "--output=/dev/null", "--wrap", "sleep 60"], { encoding: "utf8" });
      blocker = sb.stdout.trim();
      expect(blocker, sb.stderr).toMatch(/^\d+$/);
      expect(spawnSync("scancel", [cancelled]).status).toBe(0);
      await live.waitFor((e) => e.type === "experiment" && e.record?.id === 4, 60_000);
    } finally {
      // The test's own job: gone before the next test (it holds the whole node).
      if (blocker) spawnSync("scancel", [blocker]);
      if (blocker) await waitGone(() => queuedJobs([blocker]), 15_000);
    }
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);
    const records = checkInvariants(root, { base, tag: "faults", guarded, refsBefore });
    const byId = (id: number) => records.find((r) => r.id === id) as ExperimentRecord;
    expect([1, 2, 3, 4].map((id) => [byId(id).status, byId(id).reason])).toEqual([
      ["keep", "improved"],
      ["crash", "timeout"],
      ["crash", "cancelled"],
      ["crash", "pending-too-long"],
    ]);
    expect(byId(3).detail).toMatch(/cancelled outside autoresearch/);
    expect(byId(2).durationSec).toBeGreaterThanOrEqual(4);
    // The queue time is recorded apart: the waiting job never ran.
    expect(byId(4).pendingSec).toBeGreaterThanOrEqual(6);
    expect(byId(4).durationSec).toBe(0);
    const tsv = readFileSync(join(root, "results.tsv"), "utf8");
    expect(tsv).toMatch(/\tcrash\thangs: /);
    // The would-be keep's --check ran through the same executor: as a job of its own.
    expect(byId(1).checks).toEqual([{ command: 'echo "check job=$SLURM_JOB_ID"', ok: true }]);
    const check = readFileSync(recordPath(root, "runs/1.log"), "utf8").split("--- autoresearch check 1:")[1] ?? "";
    const checkJob = /submitted as SLURM job (\d+)/.exec(check)?.[1];
    expect(checkJob).toMatch(/^\d+$/);
    expect(check).toContain(`check job=${checkJob}`);
    expect(jobsOf(live.events, 1)).not.toContain(checkJob);

    // `confirm` runs through the session's executor too.
    const confirmed = cli(root, ["confirm", "--runs", "1", "--json"]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    const report = JSON.parse(confirmed.stdout) as { runs: { metric: number | null; log: string }[] };
    expect(report.runs[0]?.metric).toEqual(expect.any(Number));
    expect(readFileSync(join(root, report.runs[0]?.log as string), "utf8")).toMatch(/submitted as SLURM job \d+/);
    expect(queuedJobs(jobsOf(live.events))).toEqual([]);
    expect(await waitGone(() => processesWithEnv("AR_MARK", mark), 3000)).toEqual([]);
  }, 150_000);
});
