/** Where runs happen: on this machine, as SLURM jobs, or on SSH hosts. Each executor lives in its own folder and describes itself (descriptor.ts); registry.ts lists them. */
export type { Check, CheckStatus, DoctorContext, ExecutorDeps, ExecutorDescriptor, ResolvedSlots } from "./descriptor.js";
export { checkExecutorConfig } from "./check-config.js";
export { createExecutor, DEFAULT_EXECUTOR, EXECUTOR_DESCRIPTORS, executorOf, executorSlots, findExecutor, handleView, kindOf, probesRemotePlatform } from "./registry.js";
export { LocalExecutor, type LocalExecutorDeps } from "./local.js";
export { checkSlurm, SlurmCli, SlurmExecutor, type SlurmExecutorOptions } from "./slurm/index.js";
