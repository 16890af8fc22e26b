/** Where runs happen: on this machine, as SLURM jobs, or on SSH hosts. Each executor lives in its own folder. */
export { createExecutor, type ExecutorDeps } from "./registry.js";
export { LocalExecutor, type LocalExecutorDeps } from "./local.js";
export { checkSlurm, SlurmCli, SlurmExecutor, type SlurmExecutorOptions } from "./slurm/index.js";
