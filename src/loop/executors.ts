/**
 * The executor a session's runs go through, chosen by `executor` in its config. The loop takes
 * it as LoopDeps.executor (tests inject their own); the CLI builds it here.
 */
import type { ResearchConfig } from "../config/options.js";
import { UsageError } from "../errors.js";
import { LocalExecutor } from "../runner/index.js";
import type { Executor } from "../types.js";

export interface ExecutorDeps {
  /** Whether runs get a cgroup of their own where the system allows (local). */
  env?: NodeJS.ProcessEnv;
}

export function createExecutor(config: Pick<ResearchConfig, "executor">, deps: ExecutorDeps = {}): Executor {
  void deps;
  switch (config.executor ?? "local") {
    case "local":
      return new LocalExecutor();
    // The slurm and ssh executors (src/runner/slurm/, src/runner/ssh/) add their cases here.
    default:
      throw new UsageError(`executor ${config.executor} is not available in this build`, "Use --executor local.");
  }
}
