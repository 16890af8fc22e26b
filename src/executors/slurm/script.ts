/**
 * The batch script and sbatch options of one run. The job gets exactly the run's environment,
 * written into the script (sbatch --export=NONE: nothing of the submitting shell leaks to the
 * cluster, secrets included), runs the command with `sh -c` in the run's checkout, and writes
 * stdout and stderr to one file the orchestrator tails.
 */
import { parse, quote } from "shell-quote";
import { UsageError } from "../../errors.js";

/** Options the executor owns: a user's --slurm-args may not change where output goes or what the job sees. */
const RESERVED = new Map<string, string>([
  ["--output", "the run's output file is the tool's"],
  ["-o", "the run's output file is the tool's"],
  ["--error", "the run's output file is the tool's"],
  ["-e", "the run's output file is the tool's"],
  ["--export", "the run's environment is written into the batch script"],
  ["--export-file", "the run's environment is written into the batch script"],
  ["--chdir", "runs start in their own checkout"],
  ["-D", "runs start in their own checkout"],
  ["--wrap", "the tool writes the batch script"],
  ["--parsable", "the tool reads the job id itself"],
  ["--array", "one run is one job"],
  ["-a", "one run is one job"],
]);

/** Splits `--slurm-args` like a POSIX shell would (quotes, escapes), refusing operators and the options the tool owns. */
export function parseSlurmArgs(text: string | undefined): string[] {
  if (!text?.trim()) return [];
  // A `$NAME` stays as written: the user's environment is not the cluster's.
  const entries = parse(text, (name) => `$${name}`);
  const args: string[] = [];
  for (const entry of entries) {
    if (typeof entry === "string") args.push(entry);
    else if ("pattern" in entry) args.push(entry.pattern);
    else if ("op" in entry) throw new UsageError(`--slurm-args ${JSON.stringify(text)}: shell operator ${JSON.stringify(entry.op)} is not an sbatch option`, "Give sbatch options only, e.g. --slurm-args \"--partition=gpu --gres=gpu:1\" (quote values with spaces).");
    // A `#` comment ends the options, as in a shell.
  }
  for (const arg of args) {
    const name = arg.startsWith("--") ? arg.split("=")[0] : arg.slice(0, 2);
    const why = name === undefined ? undefined : RESERVED.get(name);
    if (why !== undefined) throw new UsageError(`--slurm-args may not set ${name}: ${why}`, `Remove ${name} from --slurm-args (partition, account, gres, qos, constraint, mem and the like are fine).`);
  }
  return args;
}

/** The backstop wall time in whole minutes: the tool cancels at the hard timeout itself, SLURM a little later. */
export function timeLimitMinutes(hardTimeoutSec: number): number | null {
  return Number.isFinite(hardTimeoutSec) && hardTimeoutSec > 0 ? Math.ceil(hardTimeoutSec / 60) + 1 : null;
}

/** A name the shell can export; others cannot be set by `export` and are left out. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Variables that describe the submitting shell or another job, not this run: SLURM sets its own
 * SLURM_* in the job, and a copied SLURM_JOB_ID would point the run at the wrong job.
 */
const NOT_EXPORTED = /^(SLURM_|SBATCH_|SRUN_|SALLOC_)|^(PWD|OLDPWD|SHLVL|_)$/;

export interface BatchScript {
  text: string;
  /** Variables of the run environment the script does not export, and why. */
  skipped: string[];
}

/** The script sbatch submits: the run's variables exported, then the command run by `sh -c` in the checkout. */
export function buildBatchScript(opts: { cwd: string; command: string; env: Record<string, string> }): BatchScript {
  const skipped: string[] = [];
  const lines = ["#!/bin/sh", "# Written by autoresearch for one run; submitted with sbatch --export=NONE.", `cd ${quote([opts.cwd])} || exit 97`];
  for (const [name, value] of Object.entries(opts.env).sort(([a], [b]) => a.localeCompare(b))) {
    if (!ENV_NAME.test(name)) {
      skipped.push(`${name} (not a shell variable name)`);
      continue;
    }
    if (NOT_EXPORTED.test(name)) continue;
    lines.push(`export ${name}=${quote([value])}`);
  }
  lines.push(`exec /bin/sh -c ${quote([opts.command])}`, "");
  return { text: lines.join("\n"), skipped };
}

/** sbatch's options for one run (before the user's --slurm-args, which may add to them). */
export function sbatchArgs(opts: { jobName: string; cwd: string; outputPath: string; hardTimeoutSec: number }): string[] {
  const minutes = timeLimitMinutes(opts.hardTimeoutSec);
  return [
    `--job-name=${opts.jobName}`,
    `--chdir=${opts.cwd}`,
    `--output=${opts.outputPath}`,
    `--error=${opts.outputPath}`,
    "--export=NONE",
    ...(minutes !== null ? [`--time=${minutes}`] : []),
  ];
}
