/**
 * The executor settings of a config, checked once where the config is checked. Apart from the
 * registry so that what only reads the registry (how a run in flight shows, in `status`) does
 * not load the option table and its schemas.
 */
import { flagName, OPTION_DEFS, type ResearchConfig } from "../config/options.js";
import { UsageError } from "../errors.js";
import { EXECUTOR_DESCRIPTORS, executorOf } from "./registry.js";

/**
 * The executor settings of a config, checked before anything changes: the chosen executor's own
 * checks, and no setting that only another executor reads (it would be ignored silently).
 */
export function checkExecutorConfig(config: ResearchConfig): void {
  const chosen = executorOf(config);
  chosen.checkConfig?.(config);
  for (const other of EXECUTOR_DESCRIPTORS) {
    if (other === chosen) continue;
    for (const key of other.ownOptions) {
      if (config[OPTION_DEFS[key].field as keyof ResearchConfig] === undefined) continue;
      const flag = flagName(key);
      throw new UsageError(`${flag} is used by --executor ${other.kind}, but the executor is ${chosen.kind}`, `Add --executor ${other.kind}, or leave ${flag} out.`);
    }
  }
}
