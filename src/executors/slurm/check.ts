/**
 * The start-of-session check for executor slurm: a tiny probe job, submitted the way every run
 * will be (same --slurm-args, same batch script, output beside the run logs), must read a file
 * the tool has just written in the clone. A cluster whose nodes do not see the clone (or the
 * records folder the job writes its output to) would otherwise crash every experiment.
 */
import { randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { UsageError } from "../../errors.js";
import type { Executor } from "../../types.js";

export interface ProbeOptions {
  /** The checkout runs start in (a worker's clone). */
  cwd: string;
  /** The folder the run logs (and so the jobs' output files) go to. */
  logDir: string;
  /** The environment of the probe (PATH at least); default: PATH and HOME of this process. */
  env?: Record<string, string>;
}

export interface CheckSlurmResult {
  /** The probe's job ran and saw the file. */
  ok: boolean;
  /** Why the check could not decide (the probe stayed queued); the session goes on. */
  warnings: string[];
}

const SHARED_FS_HINT =
  "Executor slurm needs the repository and its .git folder on a filesystem the compute nodes mount at the same path (a home or project directory on NFS, Lustre, GPFS): clone it there and run autoresearch from that clone.";

/**
 * Runs the probe through `executor` (a SlurmExecutor with the session's --slurm-args and a
 * --max-pending). Throws UsageError (exit 2) when sbatch is missing or the nodes cannot see the clone.
 */
export async function probeSharedFilesystem(executor: Pick<Executor, "run">, options: ProbeOptions, signal?: AbortSignal): Promise<CheckSlurmResult> {
  const token = randomUUID();
  const probe = join(options.cwd, `.autoresearch-slurm-probe-${token.slice(0, 8)}`);
  writeFileSync(probe, `${token}\n`);
  let seen = false;
  try {
    const env = options.env ?? Object.fromEntries(["PATH", "HOME"].flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
    const result = await executor.run({
      cwd: options.cwd,
      command: `cat ${basename(probe)}`,
      env,
      budgetSec: 60,
      hardTimeoutSec: 120,
      graceMs: 1000,
      logPath: join(options.logDir, "slurm-probe.log"),
      metric: { name: "slurm_probe" },
      onLine: (line) => {
        if (line.includes(token)) seen = true;
      },
    }, signal);
    if (seen) return { ok: true, warnings: [] };
    if (result.failure?.reason === "pending-too-long") {
      return { ok: false, warnings: [`could not check that the compute nodes see ${options.cwd}: the probe job stayed queued (${result.failure.detail})`] };
    }
    // sbatch refused the job (no controller, a partition or account it does not know): nothing about the filesystem is known yet.
    if (result.failure?.reason === "submit-failed") {
      throw new UsageError(`SLURM refused the probe job, so no run could start (${result.failure.detail})`, "Check the cluster with `autoresearch doctor` (executor slurm: sbatch, the controller, sinfo) and the job options in --slurm-args.");
    }
    const last = result.failure?.detail ?? result.tailLines.filter((l) => l.trim()).slice(-3).join(" | ");
    throw new UsageError(
      `the compute nodes cannot see ${options.cwd}: a probe job could not read ${probe}, or could not write its output under ${options.logDir}${last ? ` (${last})` : ""}`,
      SHARED_FS_HINT,
    );
  } finally {
    rmSync(probe, { force: true });
  }
}
