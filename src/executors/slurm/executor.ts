/**
 * Runs each experiment as one SLURM job: a batch script beside the run log, submitted with
 * sbatch, followed with squeue (then sacct or scontrol once it left the queue), its output file
 * tailed into the capped log and the scanner as it is written. The hard timeout counts from the
 * moment the job runs (queue time never counts) and the tool enforces it itself with scancel;
 * --time is only a backstop in whole minutes. Nothing of the job runs when run() or attach() returns.
 */
import { randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { RuntimeFailure } from "../../errors.js";
import { ensureRealDir } from "../../safe-fs.js";
import type { Executor, RunHandle, RunResult, RunSpec } from "../../types.js";
import { openRunLog } from "../../runner/run-log.js";
import { OutputScanner } from "../../runner/output-scanner.js";
import { RUN_ID_ENV } from "../../runner/process-list.js";
import { type CheckSlurmResult, type ProbeOptions, probeSharedFilesystem } from "./check.js";
import { SlurmCli } from "./commands.js";
import { buildBatchScript, parseSlurmArgs, sbatchArgs } from "./script.js";
import { isFinal, isPending, type JobInfo, jobOutcome } from "./state.js";
import { FileTail } from "./tail.js";
import { RUN_SIDE_SUFFIXES } from "../../file-names.js";

export interface SlurmExecutorOptions {
  /** The user's --slurm-args (split like a shell would). */
  slurmArgs?: string;
  /** A job queued longer than this is cancelled and recorded as `pending-too-long` (default: waits forever). */
  maxPendingSec?: number;
  cli?: SlurmCli;
  /** How often the job's state and output are read (default 500 ms). */
  pollMs?: number;
  /** How long SLURM may fail to answer about a job before it is given up as lost (default 120 s). */
  lostAfterSec?: number;
  /** How long to wait for a cancelled job to end on its node (default 120 s). */
  cancelWaitSec?: number;
  /** Wall clock in ms: SLURM's own times (submit, start) are wall-clock times. */
  now?: () => number;
  newRunId?: () => string;
}

/** The batch script and the job's output file, beside the run log (`runs/3.log` -> `runs/3.slurm.sh`, `runs/3.slurm.out`). */
export function slurmPaths(logPath: string): { script: string; output: string } {
  const stem = logPath.replace(/\.log$/, "");
  return { script: `${stem}${RUN_SIDE_SUFFIXES.slurmScript}`, output: `${stem}${RUN_SIDE_SUFFIXES.slurmOutput}` };
}

/** A job missing from squeue, sacct and scontrol this many polls in a row has vanished (not a slow update). */
const MISSING_POLLS = 3;

interface FollowStart {
  /** When the job was submitted (run) or when following began (attach): the start of its queue time. */
  queuedAt: number;
  /** True when following a job an earlier process submitted: SLURM's own start time counts. */
  attached: boolean;
}

export class SlurmExecutor implements Executor {
  readonly kind = "slurm";
  /** A job does not die with the orchestrator: --time bounds it, resume follows it by its id. */
  readonly reattachable = true;
  private readonly args: string[];
  private readonly cli: SlurmCli;
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(private readonly options: SlurmExecutorOptions = {}) {
    this.args = parseSlurmArgs(options.slurmArgs); // bad --slurm-args fail before anything is submitted
    this.cli = options.cli ?? new SlurmCli();
    this.pollMs = options.pollMs ?? 500;
    this.now = options.now ?? Date.now;
  }

  /** Before a session's baseline: a probe job must see a file written in the clone (see check.ts); the warnings when it could not tell. */
  async check(where: { cwd: string; logDir: string }, signal?: AbortSignal): Promise<string[]> {
    return (await checkSlurm({ ...this.options, cli: this.cli, ...where }, signal)).warnings;
  }

  async run(spec: RunSpec, signal?: AbortSignal): Promise<RunResult> {
    const scanner = new OutputScanner(spec.metric); // throws on a bad pattern, before anything is submitted
    if (signal?.aborted) return this.finishEarly(spec, scanner, "run aborted before it was submitted");
    const runId = spec.runId ?? (this.options.newRunId ?? randomUUID)();
    const paths = slurmPaths(spec.logPath);
    const script = buildBatchScript({ cwd: spec.cwd, command: spec.command, env: { ...spec.env, [RUN_ID_ENV]: runId } });
    try {
      ensureRealDir(dirname(paths.script));
      writeFileSync(paths.script, script.text, { mode: 0o600 });
      rmSync(paths.output, { force: true }); // a stale file would be read as this job's output
    } catch (err) {
      throw new RuntimeFailure(`cannot write the batch script ${paths.script}: ${(err as Error).message}`);
    }
    const experiment = spec.env.AUTORESEARCH_EXPERIMENT;
    const jobName = `autoresearch${experiment !== undefined ? `-${experiment}` : ""}`;
    let jobId: string;
    const queuedAt = this.now();
    try {
      jobId = await this.cli.submit([...sbatchArgs({ jobName, cwd: spec.cwd, outputPath: paths.output, hardTimeoutSec: spec.hardTimeoutSec }), ...this.args], paths.script);
    } catch (err) {
      // sbatch missing is the user's setup (UsageError, exit 2); a refused job is this run's crash.
      if (!(err instanceof RuntimeFailure)) throw err;
      return this.finishEarly(spec, scanner, err.message, { reason: "submit-failed", detail: err.message });
    }
    spec.onHandle?.({ kind: "slurm", id: jobId, queues: true });
    const skipped = script.skipped.length > 0 ? `; not exported: ${script.skipped.join(", ")}` : "";
    return this.follow(jobId, spec, scanner, signal, { queuedAt, attached: false }, `submitted as SLURM job ${jobId}${skipped}`);
  }

  /** Follows a job an earlier orchestrator submitted, its output read from the start; null when SLURM does not know the job. */
  async attach(handle: RunHandle, spec: RunSpec, signal?: AbortSignal): Promise<RunResult | null> {
    if (handle.kind !== "slurm" || !/^\d+(_\d+)?$/.test(handle.id)) return null;
    const found = await this.cli.lookup(handle.id);
    if (found.ok && found.job === null) return null;
    const scanner = new OutputScanner(spec.metric);
    spec.onHandle?.({ ...handle, queues: true });
    return this.follow(handle.id, spec, scanner, signal, { queuedAt: this.now(), attached: true }, `re-attached to SLURM job ${handle.id}`);
  }

  private async follow(jobId: string, spec: RunSpec, scanner: OutputScanner, signal: AbortSignal | undefined, start: FollowStart, first: string): Promise<RunResult> {
    const paths = slurmPaths(spec.logPath);
    const { sink, note, lines } = openRunLog(spec, scanner);
    const splitter = lines();
    const tail = new FileTail(paths.output, (chunk) => {
      sink.write(chunk);
      splitter.push(chunk);
    });
    note(first);

    const hardMs = spec.hardTimeoutSec * 1000;
    const maxPendingMs = (this.options.maxPendingSec ?? Number.POSITIVE_INFINITY) * 1000;
    const lostAfterMs = (this.options.lostAfterSec ?? 120) * 1000;
    const cancelWaitMs = (this.options.cancelWaitSec ?? 120) * 1000;
    let queuedAt = start.queuedAt;
    let startedAt: number | null = null;
    let cancelled: { why: "timeout" | "abort" | "pending"; at: number; detail: string } | null = null;
    let failingSince: number | null = null;
    let missing = 0;
    let final: JobInfo | null = null;
    let lost: string | null = null;
    let pendingReason: string | null = null;
    /** SLURM's own submit and start times of a job that ran: its queue time, whatever the polls saw. */
    let slurmTimes: { submitMs: number; startMs: number } | null = null;

    const cancel = async (why: "timeout" | "abort" | "pending", detail: string) => {
      cancelled = { why, at: this.now(), detail };
      note(`${detail}: cancelling SLURM job ${jobId} (scancel)`);
      const r = await this.cli.cancel(jobId);
      if (!r.ok) note(`${r.error}`);
    };

    const wake = new Wakeup(signal);
    try {
      for (;;) {
        tail.poll();
        const res = await this.cli.lookup(jobId);
        const t = this.now();
        if (!res.ok) {
          failingSince ??= t;
          if (t - failingSince >= lostAfterMs) {
            lost = `SLURM did not answer about job ${jobId} for ${Math.round((t - failingSince) / 1000)}s (${res.error})`;
            break;
          }
        } else if (res.job === null) {
          failingSince = null;
          if (++missing >= MISSING_POLLS) {
            lost = `SLURM job ${jobId} vanished: squeue, sacct and scontrol no longer know it (the controller forgot it: restarted, or MinJobAge is shorter than the poll)`;
            break;
          }
        } else {
          failingSince = null;
          missing = 0;
          const job = res.job;
          if (job.ran && job.submitMs !== null && job.startMs !== null && job.startMs >= job.submitMs) slurmTimes = { submitMs: job.submitMs, startMs: job.startMs };
          if (isFinal(job.state)) {
            final = job;
            // A short job may go from PENDING to its end between two polls: it ran all the same.
            if (startedAt === null && (job.ran || tail.bytes > 0)) {
              startedAt = job.startMs !== null && job.startMs <= t ? job.startMs : t;
              spec.onStart?.();
            }
            break;
          }
          if (isPending(job.state) && startedAt === null) {
            // Attached: the queue time started when SLURM took the job, not when we found it.
            if (start.attached && job.submitMs !== null && job.submitMs < queuedAt) queuedAt = job.submitMs;
            pendingReason = job.reason;
            if (!cancelled && t - queuedAt > maxPendingMs) {
              await cancel("pending", `job waited ${Math.round((t - queuedAt) / 1000)}s in the queue, longer than --max-pending ${this.options.maxPendingSec}s`);
            }
          } else if (!isPending(job.state)) {
            if (startedAt === null) {
              startedAt = start.attached && job.startMs !== null && job.startMs <= t ? job.startMs : t;
              if (start.attached && job.submitMs !== null && job.submitMs < queuedAt) queuedAt = job.submitMs;
              spec.onStart?.();
            }
            if (!cancelled && Number.isFinite(hardMs) && hardMs > 0 && t - startedAt >= hardMs) {
              await cancel("timeout", `hard timeout (${spec.hardTimeoutSec}s) reached`);
            }
          }
        }
        if (signal?.aborted && !cancelled) await cancel("abort", "run aborted");
        const c = cancelled as { at: number } | null;
        if (c && this.now() - c.at >= cancelWaitMs) {
          lost = `SLURM job ${jobId} had not ended ${Math.round(cancelWaitMs / 1000)}s after scancel`;
          break;
        }
        await wake.sleep(this.nextPollMs(startedAt, hardMs, cancelled !== null));
      }
    } finally {
      wake.dispose();
    }
    const endedAt = this.now();
    // The last bytes may land just after the job's end on a shared filesystem.
    for (let i = 0; i < 20 && tail.poll() > 0; i++) await sleep(50);
    tail.close();
    splitter.end();

    const failure = ((): RunResult["failure"] & {} | undefined => {
      const c = cancelled as { why: string; detail: string } | null;
      if (c?.why === "pending") return { reason: "pending-too-long", detail: `SLURM job ${jobId}: ${c.detail}${pendingReason ? ` (pending: ${pendingReason})` : ""}` };
      if (c?.why === "abort") return { reason: "cancelled", detail: `the run was aborted: SLURM job ${jobId} was cancelled` };
      if (lost) return { reason: "lost", detail: lost };
      return undefined;
    })();
    if (lost) {
      note(lost);
      if (!cancelled) await this.cli.cancel(jobId); // if it still runs somewhere, it must not go on unseen
    }
    const outcome = final ? jobOutcome(jobId, final, cancelled !== null) : { exitCode: null, signal: null, oom: false };
    const chosen = failure ?? outcome.failure;
    if (final) note(`SLURM job ${jobId} ended ${final.state}${final.exitCode !== null ? ` (exit ${final.exitCode}:${final.signal ?? 0})` : ""}`);
    sink.close();
    rmSync(paths.output, { force: true }); // the capped log holds it now

    const scan = scanner.result();
    // Queue time: SLURM's StartTime - SubmitTime once the job ran (whole seconds, but not tied to
    // when the polls happened); until then (never started), from submission to the end of following.
    const pendingSec = slurmTimes && startedAt !== null ? (slurmTimes.startMs - slurmTimes.submitMs) / 1000 : Math.max(0, ((startedAt ?? endedAt) - queuedAt) / 1000);
    return {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: (cancelled as { why: string } | null)?.why === "timeout",
      durationSec: startedAt !== null ? Math.max(0, (endedAt - startedAt) / 1000) : 0,
      metric: scan.metric,
      memGb: scan.memGb,
      params: scan.params,
      ...(scan.steps !== undefined && { steps: scan.steps }),
      ...(scan.trainingSec !== undefined && { trainingSec: scan.trainingSec }),
      oom: scan.oom || outcome.oom,
      tailLines: scan.tailLines,
      pendingSec,
      ...(chosen && { failure: chosen }),
    };
  }

  /** Polls often, and wakes exactly at the hard timeout when it falls before the next poll. */
  private nextPollMs(startedAt: number | null, hardMs: number, cancelling: boolean): number {
    if (startedAt === null || cancelling || !Number.isFinite(hardMs)) return this.pollMs;
    const left = startedAt + hardMs - this.now();
    return Math.max(10, Math.min(this.pollMs, left));
  }

  private finishEarly(spec: RunSpec, scanner: OutputScanner, text: string, failure?: { reason: string; detail: string }): RunResult {
    const { sink, note } = openRunLog(spec, scanner);
    note(text);
    sink.close();
    const scan = scanner.result();
    return {
      exitCode: null,
      signal: null,
      timedOut: false,
      durationSec: 0,
      metric: scan.metric,
      memGb: scan.memGb,
      params: scan.params,
      oom: false,
      tailLines: scan.tailLines,
      pendingSec: 0,
      ...(failure && { failure }),
    };
  }
}

/**
 * The shared-filesystem check on its own (a probe job with these options). The probe waits at most
 * --max-pending, or 10 minutes, in the queue; then the check gives up with a warning.
 */
export function checkSlurm(options: SlurmExecutorOptions & ProbeOptions, signal?: AbortSignal): Promise<CheckSlurmResult> {
  const probe = new SlurmExecutor({ ...options, maxPendingSec: options.maxPendingSec ?? 600 });
  return probeSharedFilesystem(probe, options, signal);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A sleep that an abort ends early, so Ctrl-C cancels the job at once rather than at the next poll. */
class Wakeup {
  private wake: (() => void) | null = null;
  private readonly onAbort = () => this.wake?.();

  constructor(private readonly signal?: AbortSignal) {
    signal?.addEventListener("abort", this.onAbort);
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  dispose(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
