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

/**
 * PYTHONPYCACHEPREFIX for an unconfined run on this machine: its Python bytecode goes into `dir`
 * (the worker's cache, see src/workspace/bytecode-cache.ts), never beside the modules of a shared
 * environment. Where the run's environment has PYTHONDONTWRITEBYTECODE set (non-empty, as Python
 * reads it), Python writes no bytecode at all: there is nothing to redirect, and a prefix would
 * only hide the bytecode the environment already has, so every run compiled every module it
 * imported again, the standard library's included (+0.1 s a run for a bare script here; torch
 * about a second).
 */
export function bytecodePrefixEnv(runEnv: Record<string, string>, dir: string): Record<string, string> {
  return runEnv.PYTHONDONTWRITEBYTECODE ? {} : { PYTHONPYCACHEPREFIX: dir };
}
