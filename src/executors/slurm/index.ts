/** Executor slurm: each run is one sbatch job, followed to its end (see executor.ts). */
export { type CheckSlurmResult, type ProbeOptions, probeSharedFilesystem } from "./check.js";
export { type Lookup, SLURM_MISSING_HINT, SlurmCli, type SlurmCliOptions } from "./commands.js";
export { checkSlurm, SlurmExecutor, type SlurmExecutorOptions, slurmPaths } from "./executor.js";
export { buildBatchScript, parseSlurmArgs, sbatchArgs, timeLimitMinutes } from "./script.js";
export { accountingDisabled, isFinal, isPending, type JobInfo, type JobOutcome, jobOutcome, parseSacct, parseScontrol, parseSqueue, parseSlurmTime, unknownJob } from "./state.js";
export { FileTail } from "./tail.js";
