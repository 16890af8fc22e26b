import type { SessionInfo } from "../ledger/ledger.js";
import { platformEnv } from "../platform/index.js";
import { sanitizeEnv } from "../runner/run-env.js";
import type { LoopDeps } from "./session.js";

/**
 * The environment of every run and check of a session (the loop's and `autoresearch confirm`'s):
 * the orchestrator's minus secrets (names in `passEnv` kept, the proposer's `apiKeyEnv`
 * removed), plus the platform variables and AUTORESEARCH_TIME_BUDGET / AUTORESEARCH_EXPERIMENT /
 * AUTORESEARCH_SEED. The runner adds AUTORESEARCH_RUN_ID.
 */
export function sessionRunEnv(info: Pick<SessionInfo, "config" | "platform">, source: Pick<LoopDeps, "sourceEnv" | "baseEnv">, id: number, seed: number): Record<string, string> {
  const { config, platform } = info;
  const allow = config.passEnv ?? [];
  const deny = config.apiKeyEnv !== undefined && !allow.includes(config.apiKeyEnv) ? [config.apiKeyEnv] : [];
  const base = source.sourceEnv ? sanitizeEnv(source.sourceEnv, allow, deny) : { ...source.baseEnv };
  for (const name of deny) delete base[name];
  return {
    ...base,
    ...platformEnv(platform),
    AUTORESEARCH_TIME_BUDGET: String(config.budgetSec),
    AUTORESEARCH_EXPERIMENT: String(id),
    AUTORESEARCH_SEED: String(seed),
  };
}
