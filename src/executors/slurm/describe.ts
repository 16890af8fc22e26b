/**
 * Executor slurm: each run one sbatch job. SLURM assigns each job its GPU, so the slots carry no
 * device; a job waits in the queue before it starts, and outlives the orchestrator (resume follows it).
 */
import { UsageError } from "../../errors.js";
import type { ExecutorDescriptor } from "../descriptor.js";
import { numbered } from "../slots.js";
import { SlurmExecutor } from "./executor.js";

export const SLURM: ExecutorDescriptor = {
  kind: "slurm",
  create: (config) =>
    new SlurmExecutor({
      ...(config.slurmArgs !== undefined && { slurmArgs: config.slurmArgs }),
      ...(config.maxPendingSec !== undefined && { maxPendingSec: config.maxPendingSec }),
    }),
  ownOptions: ["slurmArgs", "maxPending"],
  slots(config) {
    const asked = config.workers ?? 1;
    if (asked === "auto") throw new UsageError("--workers auto counts this machine's GPUs, not the cluster's", "Give the number of jobs to keep running at once, e.g. --workers 4.");
    return { slots: numbered(Array.from({ length: asked }, () => null)), warnings: [] };
  },
  // Every failure SLURM reports (src/executors/slurm/state.ts, a refused sbatch): the job's, not the script's.
  failureHint: (reason) => `SLURM ended or refused the job before it could finish (${reason}): \`autoresearch doctor\` checks sbatch, the controller and the nodes; check the job options in --slurm-args (partition, account, gres), then run again.`,
  // Loaded when doctor asks: what only reads the registry (status) stays light.
  doctorChecks: async (context) => (await import("./doctor.js")).slurmChecks(context),
  reattachable: true,
  remotePlatform: true,
  queues: true,
  showsHandle: true,
};
