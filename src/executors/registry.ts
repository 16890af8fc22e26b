/**
 * The executor a session's runs go through, chosen by `executor` in its config. The loop takes
 * it as LoopDeps.executor (tests inject their own); the CLI builds it here.
 */
import type { ResearchConfig } from "../config/options.js";
import { UsageError } from "../errors.js";
import { LocalExecutor } from "./local.js";
import { SlurmExecutor } from "./slurm/index.js";
import type { Executor } from "../types.js";
import { createSshExecutor } from "./ssh/from-config.js";

export interface ExecutorDeps {
  /** The orchestrator's environment (ssh: AUTORESEARCH_SSH and the ssh agent's socket). */
  env?: NodeJS.ProcessEnv;
  /** The user's repository (ssh: names the worker repos on the hosts). */
  root?: string;
}

export function createExecutor(config: ResearchConfig, deps: ExecutorDeps = {}): Executor {
  switch (config.executor ?? "local") {
    case "local":
      return new LocalExecutor();
    case "slurm":
      return new SlurmExecutor({
        ...(config.slurmArgs !== undefined && { slurmArgs: config.slurmArgs }),
        ...(config.maxPendingSec !== undefined && { maxPendingSec: config.maxPendingSec }),
      });
    case "ssh":
      return createSshExecutor(config, deps.root ?? process.cwd(), deps.env ?? process.env);
    default:
      throw new UsageError(`executor ${config.executor} is not available in this build`, "Use --executor local.");
  }
}
