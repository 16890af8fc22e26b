/**
 * The SLURM client commands the executor uses (sbatch, squeue, scontrol, sacct, scancel), each a
 * short subprocess with a time limit. They read the cluster from the orchestrator's environment
 * (SLURM_CONF, PATH); what a job itself sees is set in its batch script, never inherited (--export=NONE).
 */
import { RuntimeFailure, UsageError } from "../../errors.js";
import { type Exec, type ExecResult, execWithTimeout } from "../../platform/exec.js";
import { accountingDisabled, type JobInfo, parseSacct, parseScontrol, parseSqueue, SACCT_FORMAT, SQUEUE_FORMAT, unknownJob } from "./state.js";

export interface SlurmCliOptions {
  exec?: Exec;
  /** Time limit for one command (default 30 s): a controller that does not answer must not hang the loop. */
  timeoutMs?: number;
  /** Folder the commands run in (default the process's). */
  cwd?: string;
  /** Environment of the commands (default the process's: SLURM_CONF, PATH). */
  env?: NodeJS.ProcessEnv;
}

/** A query's answer: the job (null when this source does not know it), or the command failed. */
export type Lookup = { ok: true; job: JobInfo | null } | { ok: false; error: string };

export const SLURM_MISSING_HINT =
  "Executor slurm submits every run with sbatch: install the SLURM client commands on this machine (Debian/Ubuntu: apt-get install slurm-client), load them (module load slurm), or use --executor local.";

function failureText(r: ExecResult): string {
  if (r.timedOut) return "timed out";
  if (r.error) return r.error;
  const text = (r.stderr || r.stdout).trim().split("\n")[0] ?? "";
  return text || `exit code ${r.code}`;
}

export class SlurmCli {
  private readonly exec: Exec;
  private readonly timeoutMs: number;
  private readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv | undefined;
  /** Learned from the first sacct answer: on clusters without accounting, sacct is not asked again. */
  private accounting: boolean | null = null;

  constructor(options: SlurmCliOptions = {}) {
    this.exec = options.exec ?? execWithTimeout;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.cwd = options.cwd ?? process.cwd();
    this.env = options.env;
  }

  run(argv: string[]): Promise<ExecResult> {
    return this.exec(argv, { cwd: this.cwd, timeoutMs: this.timeoutMs, ...(this.env && { env: this.env }) });
  }

  /** Submits a batch script; returns the job id. */
  async submit(args: string[], scriptPath: string): Promise<string> {
    const r = await this.run(["sbatch", "--parsable", ...args, scriptPath]);
    if (r.error === "ENOENT") throw new UsageError("sbatch is not on PATH", SLURM_MISSING_HINT);
    // `--parsable` prints `<id>` or `<id>;<cluster>`.
    const id = /^(\d+)(?:;\S+)?\s*$/m.exec(r.stdout)?.[1];
    if (r.code !== 0 || !id) {
      throw new RuntimeFailure(`sbatch failed: ${failureText(r)}`, "Check the --slurm-args options (partition, account, gres) with `sbatch --test-only`, and `autoresearch doctor`.");
    }
    return id;
  }

  /** The job while it is queued or running; job null once it left the queue (or was never there). */
  async squeue(jobId: string): Promise<Lookup> {
    const r = await this.run(["squeue", "-h", "-j", jobId, "-o", SQUEUE_FORMAT]);
    if (r.code === 0) return { ok: true, job: parseSqueue(r.stdout) };
    if (unknownJob(r.stderr)) return { ok: true, job: null };
    return { ok: false, error: `squeue: ${failureText(r)}` };
  }

  /** The controller's record of the job, kept MinJobAge seconds after it ends. */
  async scontrol(jobId: string): Promise<Lookup> {
    const r = await this.run(["scontrol", "show", "job", "-o", jobId]);
    if (r.code === 0) return { ok: true, job: parseScontrol(r.stdout) };
    if (unknownJob(r.stderr) || unknownJob(r.stdout)) return { ok: true, job: null };
    return { ok: false, error: `scontrol: ${failureText(r)}` };
  }

  /** The accounting record; job null when accounting is off or does not know the job. */
  async sacct(jobId: string): Promise<Lookup> {
    if (this.accounting === false) return { ok: true, job: null };
    const r = await this.run(["sacct", "-n", "-P", "-X", "-j", jobId, "-o", SACCT_FORMAT]);
    if (accountingDisabled(r.stderr + r.stdout) || r.error === "ENOENT") {
      this.accounting = false;
      return { ok: true, job: null };
    }
    if (r.code !== 0) return { ok: false, error: `sacct: ${failureText(r)}` };
    this.accounting = true;
    return { ok: true, job: parseSacct(r.stdout) };
  }

  /**
   * Where the job is now: squeue while it is queued or running; once it left the queue, sacct where
   * accounting works, else scontrol (the decisions note: scontrol is the truth without accounting).
   */
  async lookup(jobId: string): Promise<Lookup> {
    const queued = await this.squeue(jobId);
    if (!queued.ok || queued.job) return queued;
    const accounted = await this.sacct(jobId);
    if (accounted.ok && accounted.job) return accounted;
    const controller = await this.scontrol(jobId);
    if (!controller.ok && !accounted.ok) return { ok: false, error: `${accounted.error}; ${controller.error}` };
    return controller;
  }

  /** Cancels the job (SIGTERM, then SIGKILL after the cluster's KillWait); true when scancel accepted it. */
  async cancel(jobId: string): Promise<{ ok: boolean; error?: string }> {
    const r = await this.run(["scancel", jobId]);
    return r.code === 0 ? { ok: true } : { ok: false, error: `scancel: ${failureText(r)}` };
  }
}
