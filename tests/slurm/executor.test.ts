import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { RuntimeFailure, UsageError } from "../../src/errors.js";
import { RUN_ID_ENV } from "../../src/runner/process-list.js";
import { checkSlurm, SlurmCli, SlurmExecutor, slurmPaths } from "../../src/executors/slurm/index.js";
import type { RunHandle, RunSpec } from "../../src/types.js";
import { processesWithEnv, sleep, waitGone } from "../reliability/helpers.js";
import { baseSpec, makeTmp, NODE } from "../runner/helpers.js";
import { describeSlurm, queuedJobs } from "./cluster.js";

const tmp = makeTmp("ar-slurm-");
afterAll(() => tmp.cleanup());
const POLL = 200;
let n = 0;

/** A spec whose job runs `script` (a CommonJS file) with node; its own log, run id and handles recorded. */
function jobSpec(script: string, over: Partial<RunSpec> = {}): RunSpec & { runId: string; handles: RunHandle[]; started: () => boolean } {
  n += 1;
  const path = tmp.write(`job${n}.cjs`, script);
  const handles: RunHandle[] = [];
  let started = false;
  const runId = `slurm-test-${process.pid}-${n}`;
  return {
    ...baseSpec(tmp.dir, `${NODE} ${JSON.stringify(path)}`, { logPath: join(tmp.dir, "runs", `${n}.log`), hardTimeoutSec: 60, ...over }),
    runId,
    handles,
    onHandle: (h) => handles.push(h),
    onStart: () => {
      started = true;
    },
    started: () => started,
  };
}

/** Waits for a file the job writes once it is running (its pid, a marker). */
async function waitFile(path: string, timeoutMs = 30_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (existsSync(path) && readFileSync(path, "utf8").trim() !== "") return readFileSync(path, "utf8");
    await sleep(50);
  }
  throw new Error(`${path} not written within ${timeoutMs} ms`);
}

/** Nothing of the run is alive: no process with its marker, its job not in the queue. */
async function expectNothingLeft(runId: string, jobIds: string[]): Promise<void> {
  expect(await waitGone(() => processesWithEnv(RUN_ID_ENV, runId), 2000)).toEqual([]);
  expect(queuedJobs(jobIds)).toEqual([]);
}

// Prints its pid, then hangs ignoring SIGTERM, with a child that ignores it too (killed only by SIGKILL).
const HANG = (readyFile: string) => `
const { spawn } = require("node:child_process");
process.on("SIGTERM", () => console.log("got SIGTERM"));
spawn(process.execPath, ["-e", 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: "inherit" });
console.log("ready " + process.pid);
require("fs").writeFileSync(${JSON.stringify(readyFile)}, String(process.pid));
setInterval(() => {}, 1000);
`;

describeSlurm("SlurmExecutor on a real cluster", () => {
  it("runs the command as a job: metric read from its output, exactly the run's environment, no secret of the submitting shell", async () => {
    const spec = jobSpec(`
      console.log("marker=" + process.env.${RUN_ID_ENV});
      console.log("budget=" + process.env.AUTORESEARCH_TIME_BUDGET);
      console.log("quoted=" + process.env.QUOTED);
      console.log("secret=" + (process.env.PLANTED_API_KEY ?? "absent"));
      console.log("job=" + (process.env.SLURM_JOB_ID ? "yes" : "no"));
      console.log("cwd=" + process.cwd());
      console.error("to stderr");
      console.log("val_bpb: 0.8125");
      console.log("peak_vram_mb: 2048");
    `);
    spec.env = { ...spec.env, AUTORESEARCH_TIME_BUDGET: "5", QUOTED: "a 'b' $c" };
    // The orchestrator's own environment holds a secret: sbatch runs with it, the job must not see it.
    process.env.PLANTED_API_KEY = "sk-planted-secret";
    let result: Awaited<ReturnType<SlurmExecutor["run"]>>;
    try {
      result = await new SlurmExecutor({ pollMs: POLL }).run(spec);
    } finally {
      delete process.env.PLANTED_API_KEY;
    }
    expect(result).toMatchObject({ exitCode: 0, signal: null, timedOut: false, metric: 0.8125, memGb: 2 });
    expect(result.failure).toBeUndefined();
    expect(result.pendingSec).toBeGreaterThanOrEqual(0);
    expect(spec.handles).toEqual([{ kind: "slurm", id: expect.stringMatching(/^\d+$/), queues: true }]);
    expect(spec.started()).toBe(true);
    const log = readFileSync(spec.logPath, "utf8");
    for (const line of [`marker=${spec.runId}`, "budget=5", "quoted=a 'b' $c", "secret=absent", "job=yes", `cwd=${tmp.dir}`, "to stderr"]) expect(log).toContain(line);
    expect(log).toContain(`submitted as SLURM job ${spec.handles[0]?.id}`);
    // The batch script is kept beside the log (without the secret); the job's raw output file is not.
    const paths = slurmPaths(spec.logPath);
    expect(readFileSync(paths.script, "utf8")).not.toContain("sk-planted-secret");
    expect(existsSync(paths.output)).toBe(false);
  });

  it("streams output while the job runs (the job waits for a file the test writes on seeing its first line)", async () => {
    const go = join(tmp.dir, "go-stream");
    const spec = jobSpec(`
      const fs = require("fs");
      console.log("waiting for go");
      const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(go)})) { clearInterval(t); console.log("val_bpb: 1.5"); } }, 50);
    `);
    const seen: string[] = [];
    spec.onLine = (line) => {
      seen.push(line);
      if (line === "waiting for go") writeFileSync(go, "1");
    };
    const result = await new SlurmExecutor({ pollMs: POLL }).run({ ...spec, hardTimeoutSec: 30 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, metric: 1.5 });
    expect(seen).toContain("waiting for go");
  });

  it("hard timeout from the moment the job runs: scancel, timedOut, no process left", async () => {
    const ready = join(tmp.dir, "ready-timeout");
    const spec = jobSpec(HANG(ready), { hardTimeoutSec: 2 });
    const result = await new SlurmExecutor({ pollMs: POLL }).run(spec);
    expect(result.timedOut).toBe(true);
    expect(result.failure).toBeUndefined();
    expect(result.durationSec).toBeGreaterThanOrEqual(2);
    expect(readFileSync(spec.logPath, "utf8")).toMatch(/hard timeout \(2s\) reached: cancelling SLURM job \d+ \(scancel\)/);
    await expectNothingLeft(spec.runId, spec.handles.map((h) => h.id));
  });

  it("abort (second Ctrl-C): the job is cancelled, recorded as cancelled, nothing left", async () => {
    const ready = join(tmp.dir, "ready-abort");
    const spec = jobSpec(HANG(ready));
    const controller = new AbortController();
    const running = new SlurmExecutor({ pollMs: POLL }).run(spec, controller.signal);
    await waitFile(ready);
    controller.abort();
    const result = await running;
    expect(result.failure).toEqual({ reason: "cancelled", detail: expect.stringContaining("the run was aborted") });
    expect(result.timedOut).toBe(false);
    await expectNothingLeft(spec.runId, spec.handles.map((h) => h.id));
  });

  it("a job cancelled by someone else (scancel outside the tool) is a crash with reason cancelled", async () => {
    const ready = join(tmp.dir, "ready-external");
    const spec = jobSpec(HANG(ready));
    const running = new SlurmExecutor({ pollMs: POLL }).run(spec);
    await waitFile(ready);
    const id = spec.handles[0]?.id as string;
    expect(spawnSync("scancel", [id]).status).toBe(0);
    const result = await running;
    expect(result.failure?.reason).toBe("cancelled");
    expect(result.failure?.detail).toMatch(new RegExp(`SLURM job ${id} ended CANCELLED: the job was cancelled outside autoresearch`));
    await expectNothingLeft(spec.runId, [id]);
  });

  it("a job queued longer than --max-pending is cancelled as pending-too-long; the queue time is recorded apart", async () => {
    const spec = jobSpec(`console.log("val_bpb: 1")`);
    const result = await new SlurmExecutor({ pollMs: POLL, slurmArgs: "--begin=now+1hour", maxPendingSec: 1.5 }).run(spec);
    expect(result.failure).toEqual({ reason: "pending-too-long", detail: expect.stringMatching(/longer than --max-pending 1.5s/) });
    expect(result.pendingSec).toBeGreaterThanOrEqual(1.5);
    expect(result.durationSec).toBe(0);
    expect(spec.started()).toBe(false);
    expect(queuedJobs(spec.handles.map((h) => h.id))).toEqual([]);
  });

  it("a sbatch that refuses the job (unknown partition) is this run's crash, submit-failed", async () => {
    const spec = jobSpec(`console.log("val_bpb: 1")`);
    const result = await new SlurmExecutor({ pollMs: POLL, slurmArgs: "--partition=no-such-partition" }).run(spec);
    expect(result.failure?.reason).toBe("submit-failed");
    expect(result.failure?.detail).toMatch(/sbatch failed: .*partition/i);
    expect(spec.handles).toEqual([]);
  });

  it("attach: a job whose orchestrator was killed is followed by a new one to its end, its log read from the start", async () => {
    const go = join(tmp.dir, "go-attach");
    const spec = jobSpec(`
      const fs = require("fs");
      console.log("first line");
      const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(go)})) { clearInterval(t); console.log("val_bpb: 0.25"); } }, 50);
    `);
    // The first orchestrator: a separate process following the job, killed with SIGKILL once the job runs.
    const { onHandle: _h, onStart: _s, handles: _x, started: _y, ...plain } = spec;
    const dist = join(process.cwd(), "dist", "executors", "index.js");
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `const m = await import(${JSON.stringify(dist)}); const spec = ${JSON.stringify(plain)}; spec.onHandle = (h) => console.log("HANDLE " + JSON.stringify(h)); spec.onStart = () => console.log("STARTED"); await new m.SlurmExecutor({ pollMs: 200 }).run(spec);`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const end = Date.now() + 30_000;
    while (!out.includes("STARTED") && Date.now() < end) await sleep(50);
    child.kill("SIGKILL");
    const handle = JSON.parse(/HANDLE (.*)/.exec(out)?.[1] ?? "null") as RunHandle;
    expect(handle).toMatchObject({ kind: "slurm" });
    expect(queuedJobs([handle.id])).toEqual([`${handle.id} RUNNING`]);

    const seen: string[] = [];
    const attachSpec = { ...spec, onLine: (line: string) => {
      seen.push(line);
      if (line === "first line") writeFileSync(go, "1");
    } };
    const result = await new SlurmExecutor({ pollMs: POLL }).attach(handle, attachSpec);
    expect(result).toMatchObject({ exitCode: 0, metric: 0.25, timedOut: false });
    expect(seen).toContain("first line");
    const log = readFileSync(spec.logPath, "utf8");
    expect(log).toContain(`re-attached to SLURM job ${handle.id}`);
    expect(log.indexOf("first line")).toBeLessThan(log.indexOf("val_bpb: 0.25"));
    await expectNothingLeft(spec.runId, [handle.id]);

    // A job SLURM never heard of cannot be followed: the loop runs the experiment again.
    expect(await new SlurmExecutor({ pollMs: POLL }).attach({ kind: "slurm", id: "99999999" }, spec)).toBeNull();
    expect(await new SlurmExecutor({ pollMs: POLL }).attach({ kind: "ssh", id: handle.id }, spec)).toBeNull();
  });

  it("checkSlurm: a probe job reads a file written in the clone; a clone the nodes cannot see is a usage error naming it", async () => {
    const clone = tmp.dir;
    const logDir = join(tmp.dir, "probe-runs");
    expect(await checkSlurm({ cwd: clone, logDir, pollMs: POLL })).toEqual({ ok: true, warnings: [] });
    // A node that does not see the clone: the probe file is gone by the time the job looks for it.
    class Blind extends SlurmCli {
      override async submit(args: string[], script: string): Promise<string> {
        spawnSync("sh", ["-c", `rm -f ${JSON.stringify(clone)}/.autoresearch-slurm-probe-*`]);
        return super.submit(args, script);
      }
    }
    const failing = checkSlurm({ cwd: clone, logDir, pollMs: POLL, cli: new Blind() });
    await expect(failing).rejects.toThrow(UsageError);
    await expect(checkSlurm({ cwd: clone, logDir, pollMs: POLL, cli: new Blind() })).rejects.toThrow(new RegExp(`the compute nodes cannot see ${clone}`));
    // sbatch missing: the message names it and the fix.
    const noSbatch = checkSlurm({ cwd: clone, logDir, cli: new SlurmCli({ env: { PATH: "/nonexistent" } }) });
    await expect(noSbatch).rejects.toThrow(/sbatch is not on PATH/);
  });
});

// No cluster needed: sbatch refuses the probe job here, as it does where no controller answers.
it("checkSlurm: a probe job sbatch refuses is said as SLURM's refusal with doctor as the fix, not as a filesystem the nodes cannot see", async () => {
  class Refusing extends SlurmCli {
    override async submit(): Promise<string> {
      throw new RuntimeFailure("sbatch failed: sbatch: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host", "");
    }
  }
  const refused = checkSlurm({ cwd: tmp.dir, logDir: join(tmp.dir, "refused-probe"), pollMs: POLL, cli: new Refusing() });
  const error = await refused.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UsageError);
  expect((error as UsageError).message).toMatch(/^SLURM refused the probe job, so no run could start \(sbatch failed: .*Unknown host\)$/);
  expect((error as UsageError).message).not.toContain("cannot see");
  expect((error as UsageError).hint).toMatch(/autoresearch doctor/);
});
