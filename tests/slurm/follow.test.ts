import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Lookup, SlurmCli, SlurmExecutor } from "../../src/executors/slurm/index.js";
import type { JobInfo } from "../../src/executors/slurm/state.js";
import { baseSpec, makeTmp } from "../runner/helpers.js";

const tmp = makeTmp("ar-slurm-follow-");
afterAll(() => tmp.cleanup());

const SUBMIT = new Date("2026-11-27T19:00:00").getTime();
const START = SUBMIT + 4000;

/**
 * A controller whose answers are scripted poll by poll (what squeue/scontrol said, in order), so
 * the follow logic is tested on exactly the sequence a slow poll sees; the real cluster's answers
 * are parsed in parse.test.ts and followed end to end in executor.test.ts.
 */
class ScriptedCli extends SlurmCli {
  lookups = 0;
  constructor(
    private readonly answers: JobInfo[],
    private readonly output: string,
  ) {
    super();
  }
  override async submit(args: string[]): Promise<string> {
    // The "job" writes its output file at once, as a short job does before the next poll.
    const out = args.find((a) => a.startsWith("--output="))?.slice("--output=".length) as string;
    writeFileSync(out, this.output);
    return "41";
  }
  override async lookup(): Promise<Lookup> {
    const job = this.answers[Math.min(this.lookups, this.answers.length - 1)] as JobInfo;
    this.lookups += 1;
    return { ok: true, job };
  }
  override async cancel(): Promise<{ ok: boolean }> {
    return { ok: true };
  }
}

const job = (state: string, over: Partial<JobInfo> = {}): JobInfo => ({ state, exitCode: null, signal: null, reason: null, submitMs: SUBMIT, startMs: null, ran: false, ...over });

describe("following a job whatever the poll saw", () => {
  it("a job seen PENDING, then already COMPLETED at the next poll, has started: onStart once, queue time from SLURM's own times", async () => {
    const cli = new ScriptedCli([job("PENDING"), job("COMPLETED", { exitCode: 0, signal: 0, startMs: START, ran: true })], "val_bpb: 0.5\n");
    let starts = 0;
    const spec = baseSpec(tmp.dir, "true", { logPath: join(tmp.dir, "runs", "1.log"), onStart: () => (starts += 1) });
    const result = await new SlurmExecutor({ cli, pollMs: 10 }).run(spec);
    expect(cli.lookups).toBe(2);
    expect(starts).toBe(1);
    expect(result).toMatchObject({ exitCode: 0, metric: 0.5, pendingSec: 4 });
    expect(result.failure).toBeUndefined();
  });

  it("a job whose final record names no node but whose output has content ran too", async () => {
    const cli = new ScriptedCli([job("PENDING"), job("COMPLETED", { exitCode: 0, signal: 0, startMs: START, ran: null })], "val_bpb: 0.25\n");
    let starts = 0;
    const result = await new SlurmExecutor({ cli, pollMs: 10 }).run(baseSpec(tmp.dir, "true", { logPath: join(tmp.dir, "runs", "2.log"), onStart: () => (starts += 1) }));
    expect(starts).toBe(1);
    expect(result.metric).toBe(0.25);
  });

  it("a job cancelled while pending (no node, no output) never started: no onStart, no run time", async () => {
    const cli = new ScriptedCli([job("PENDING"), job("CANCELLED", { exitCode: 0, signal: 0, startMs: START, ran: false })], "");
    let starts = 0;
    const result = await new SlurmExecutor({ cli, pollMs: 10 }).run(baseSpec(tmp.dir, "true", { logPath: join(tmp.dir, "runs", "3.log"), onStart: () => (starts += 1) }));
    expect(starts).toBe(0);
    expect(result.durationSec).toBe(0);
    expect(result.failure?.reason).toBe("cancelled");
  });
});
