import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { buildBatchScript, jobOutcome, parseSacct, parseScontrol, parseSlurmArgs, parseSqueue, sbatchArgs, slurmPaths, timeLimitMinutes } from "../../src/executors/slurm/index.js";
import { accountingDisabled, isFinal, isPending, unknownJob } from "../../src/executors/slurm/state.js";

// Recorded from Debian's slurm-wlm 22.05 (the one-node cluster of scripts/ci/slurm.sh).
const SCONTROL_FAILED =
  "JobId=1 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=3:0 RunTime=00:00:02 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-27T18:52:30 EligibleTime=2026-11-27T18:52:30 AccrueTime=2026-11-27T18:52:30 StartTime=2026-11-27T18:52:31 EndTime=2026-11-27T18:52:32 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-27T18:52:30 Scheduler=Main Partition=debug AllocNode:Sid=localhost:10004 ReqNodeList=(null) ExcNodeList=(null) NodeList=vm BatchHost=vm NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null) Command=(null) WorkDir=/tmp StdErr=/tmp/j.out StdIn=/dev/null StdOut=/tmp/j.out Power= \n";
const SCONTROL_CANCELLED =
  "JobId=2 JobName=wrap UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:9 RunTime=00:00:01 TimeLimit=365-00:00:00 TimeMin=N/A SubmitTime=2026-11-27T18:55:27 EligibleTime=2026-11-27T18:55:27 StartTime=2026-11-27T18:55:28 EndTime=2026-11-27T18:55:29 Deadline=N/A Partition=debug NodeList=vm WorkDir=/tmp/dir with spaces StdOut=/tmp/j2.out Power= \n";
// Cancelled while pending: StartTime is the cancel time, but no node was ever given.
const SCONTROL_CANCELLED_PENDING =
  "JobId=40 JobName=wrap UserId=root(0) GroupId=root(0) JobState=CANCELLED Reason=BeginTime Dependency=(null) ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-11-27T19:31:26 EligibleTime=2026-11-27T20:31:26 AccrueTime=2026-11-27T20:31:26 StartTime=2026-11-27T19:31:27 EndTime=2026-11-27T19:31:27 Deadline=N/A Partition=debug ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 WorkDir=/tmp\n";
const SCONTROL_TIMEOUT = "JobId=7 JobName=autoresearch-3 JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15 SubmitTime=2026-11-27T19:00:00 StartTime=2026-11-27T19:00:01 WorkDir=/shared/repo\n";

describe("parsing what SLURM prints", () => {
  it("scontrol show job -o: state, exit code and signal, reason, submit and start times", () => {
    const failed = parseScontrol(SCONTROL_FAILED);
    expect(failed).toMatchObject({ state: "FAILED", exitCode: 3, signal: 0, reason: "NonZeroExitCode" });
    expect(failed?.startMs).toBe(new Date("2026-11-27T18:52:31").getTime());
    expect(failed?.submitMs).toBe(new Date("2026-11-27T18:52:30").getTime());
    expect(parseScontrol(SCONTROL_CANCELLED)).toMatchObject({ state: "CANCELLED", exitCode: 0, signal: 9, reason: null });
    expect(parseScontrol(SCONTROL_TIMEOUT)).toMatchObject({ state: "TIMEOUT", reason: "TimeLimit", signal: 15, ran: null });
    // Whether it ever ran: a node assigned (BatchHost / NodeList), not the StartTime a cancel sets.
    expect(failed?.ran).toBe(true);
    expect(parseScontrol(SCONTROL_CANCELLED)?.ran).toBe(true);
    expect(parseScontrol(SCONTROL_CANCELLED_PENDING)).toMatchObject({ state: "CANCELLED", reason: "BeginTime", ran: false });
    expect(parseScontrol("slurm_load_jobs error: Invalid job id specified\n")).toBeNull();
    expect(unknownJob("slurm_load_jobs error: Invalid job id specified")).toBe(true);
  });

  it("squeue -o '%T|%S|%V|%r': a pending job's reason, a running job's start; empty output = left the queue", () => {
    expect(parseSqueue("PENDING|2026-11-27T19:55:33|2026-11-27T18:55:33|BeginTime\n")).toMatchObject({ state: "PENDING", reason: "BeginTime" });
    const running = parseSqueue("RUNNING|2026-11-27T18:55:28|2026-11-27T18:55:27|None\n");
    expect(running).toMatchObject({ state: "RUNNING", reason: null, startMs: new Date("2026-11-27T18:55:28").getTime() });
    expect(parseSqueue("PENDING|N/A|2026-11-27T18:55:33|Priority\n")?.startMs).toBeNull();
    expect(parseSqueue("COMPLETING|2026-11-27T18:55:28|2026-11-27T18:55:27|None")?.state).toBe("COMPLETING");
    expect([parseSqueue("PENDING|N/A|2026-11-27T18:55:33|Priority\n")?.ran, running?.ran]).toEqual([false, true]);
    expect(parseSqueue("")).toBeNull();
    expect(parseSqueue("\n\n")).toBeNull();
  });

  it("sacct -n -P -X: 'CANCELLED by 0' is CANCELLED; accounting off is recognised", () => {
    expect(parseSacct("CANCELLED by 0|0:15|None|2026-11-27T18:55:27|2026-11-27T18:55:28\n")).toMatchObject({ state: "CANCELLED", exitCode: 0, signal: 15 });
    expect(parseSacct("OUT_OF_MEMORY|0:125|None|2026-11-27T18:55:27|2026-11-27T18:55:28|gpu01\n")).toMatchObject({ state: "OUT_OF_MEMORY", ran: true });
    expect(parseSacct("CANCELLED by 0|0:0|BeginTime|2026-11-27T18:55:27|2026-11-27T18:55:30|None assigned\n")?.ran).toBe(false);
    expect(parseSacct("")).toBeNull();
    expect(accountingDisabled("Slurm accounting storage is disabled\n")).toBe(true);
    expect(accountingDisabled("CANCELLED|0:0")).toBe(false);
  });

  it("pending, active and final states", () => {
    for (const s of ["PENDING", "CONFIGURING", "REQUEUED", "SUSPENDED"]) expect(isPending(s)).toBe(true);
    for (const s of ["RUNNING", "COMPLETING"]) expect([isPending(s), isFinal(s)]).toEqual([false, false]);
    for (const s of ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"]) expect(isFinal(s)).toBe(true);
  });
});

describe("final state -> run result", () => {
  const info = (state: string, exitCode = 0, signal = 0) => ({ state, exitCode, signal, reason: null, submitMs: null, startMs: null, ran: true });

  it("COMPLETED and FAILED carry the command's exit code; a signal is named", () => {
    expect(jobOutcome("5", info("COMPLETED"), false)).toEqual({ exitCode: 0, signal: null, oom: false });
    expect(jobOutcome("5", info("FAILED", 3), false)).toEqual({ exitCode: 3, signal: null, oom: false });
    expect(jobOutcome("5", info("FAILED", 0, 9), false)).toEqual({ exitCode: null, signal: "SIGKILL", oom: false });
  });

  it("what the scheduler did gets its own reason", () => {
    const reasons = Object.fromEntries(
      ["TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "CANCELLED"].map((s) => [s, jobOutcome("9", info(s), false).failure?.reason]),
    );
    expect(reasons).toEqual({ TIMEOUT: "time-limit", NODE_FAIL: "node-fail", PREEMPTED: "preempted", OUT_OF_MEMORY: "oom", BOOT_FAIL: "boot-fail", DEADLINE: "deadline", CANCELLED: "cancelled" });
    expect(jobOutcome("9", info("OUT_OF_MEMORY"), false).oom).toBe(true);
    expect(jobOutcome("9", { ...info("TIMEOUT"), reason: "TimeLimit" }, false).failure?.detail).toBe("SLURM job 9 ended TIMEOUT: the cluster's time limit ended the job (sbatch --time) (TimeLimit)");
  });

  it("CANCELLED by the tool itself is no failure of its own (the caller says why)", () => {
    expect(jobOutcome("9", info("CANCELLED", 0, 0), true)).toEqual({ exitCode: 0, signal: "SIGTERM", oom: false });
    expect(jobOutcome("9", info("CANCELLED", 0, 9), true).failure).toBeUndefined();
  });
});

describe("--slurm-args", () => {
  it("splits like a shell: quotes, escapes, globs kept as written, $VARS not expanded here", () => {
    expect(parseSlurmArgs('--partition=gpu --gres=gpu:1 --comment="two words" --constraint=a\\ b')).toEqual(["--partition=gpu", "--gres=gpu:1", "--comment=two words", "--constraint=a b"]);
    expect(parseSlurmArgs("--nodelist=node[1-3]* --account=$PROJECT")).toEqual(["--nodelist=node[1-3]*", "--account=$PROJECT"]);
    expect(parseSlurmArgs(undefined)).toEqual([]);
    expect(parseSlurmArgs("   ")).toEqual([]);
  });

  it("refuses shell operators and the options the tool owns, naming them", () => {
    expect(() => parseSlurmArgs("--partition=gpu; rm -rf ~")).toThrow(UsageError);
    expect(() => parseSlurmArgs("--partition=gpu; rm -rf ~")).toThrow(/shell operator ";"/);
    for (const bad of ["--output=x.log", "-o x.log", "--error=e", "--export=ALL", "--export-file=f", "--chdir=/", "-D /", "--wrap=true", "--array=1-3"]) {
      expect(() => parseSlurmArgs(bad), bad).toThrow(/--slurm-args may not set/);
    }
  });
});

describe("the batch script", () => {
  it("exports the run's variables exactly (quotes, newlines, dollars survive sh), skips SLURM_* and names it cannot export", () => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TRICKY: "it's $HOME `id` \"q\"\nline2", EMPTY: "", SLURM_JOB_ID: "123", "BAD-NAME": "x" };
    const { text, skipped } = buildBatchScript({ cwd: "/tmp", command: "echo \"$TRICKY\"; printf '%s' \"$" + "{SLURM_JOB_ID-unset}\"", env });
    expect(skipped).toEqual(["BAD-NAME (not a shell variable name)"]);
    expect(text).not.toContain("SLURM_JOB_ID=");
    // The real shell reads it back: the command sees the value byte for byte.
    const out = execFileSync("/bin/sh", ["-c", text], { env: {}, encoding: "utf8" });
    expect(out).toBe(`${env.TRICKY}\nunset`);
  });

  it("sbatch options: name, checkout, one output file, no inherited environment, --time a backstop in whole minutes", () => {
    expect(timeLimitMinutes(60)).toBe(2);
    expect(timeLimitMinutes(61)).toBe(3);
    expect(timeLimitMinutes(Number.POSITIVE_INFINITY)).toBeNull();
    expect(sbatchArgs({ jobName: "autoresearch-3", cwd: "/r", outputPath: "/s/3.slurm.out", hardTimeoutSec: 600 })).toEqual([
      "--job-name=autoresearch-3",
      "--chdir=/r",
      "--output=/s/3.slurm.out",
      "--error=/s/3.slurm.out",
      "--export=NONE",
      "--time=11",
    ]);
    expect(slurmPaths("/rec/runs/3.log")).toEqual({ script: "/rec/runs/3.slurm.sh", output: "/rec/runs/3.slurm.out" });
  });
});
