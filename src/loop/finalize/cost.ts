/**
 * What a finalize will cost, said before anything runs: the runs, at the budget per run and the
 * session's worker count, and the wall time expected. A run's time is taken from the session's own
 * runs (a run costs its budget plus start-up and evaluation), scaled when --budget changes it.
 */
import type { ExperimentRecord } from "../../types.js";

export interface FinalizeCost {
  /** Runs to make now (the batch that can be planned now, minus those recorded). */
  runs: number;
  /** Runs of that batch in all (recorded ones included). */
  planned: number;
  /** Variants and rounds of that batch. */
  variants: number;
  rounds: number;
  /** At most this many more after it: the pairs that look suspicious and the smallest set. */
  laterAtMost: number;
  /** The default N may rise to this once the first rounds measured the noise (absent: it stays). */
  mayRiseTo?: number;
  budgetSec: number;
  workers: number;
  /** Seconds one run is expected to take (from the session's runs, else the budget). */
  perRunSec: number;
  /** Expected wall time of the runs now. */
  wallSec: number;
  /** Where perRunSec comes from, in words. */
  perRunFrom: string;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? (sorted[Math.floor(mid)] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The median wall time of one run of the session's experiments that did not crash. */
export function sessionRunSeconds(history: readonly ExperimentRecord[]): number | null {
  const times: number[] = [];
  for (const e of history) {
    if (e.status === "crash") continue;
    if (e.runs?.length) for (const r of e.runs) times.push(r.durationSec);
    else times.push(e.durationSec);
  }
  return median(times.filter((t) => Number.isFinite(t) && t > 0));
}

/** What the caller knows of the batch (the cost's own fields), beside what the run time is read from. */
export type CostInput = Pick<FinalizeCost, "runs" | "planned" | "variants" | "rounds" | "laterAtMost" | "mayRiseTo" | "budgetSec" | "workers"> & {
  sessionBudgetSec: number;
  history: readonly ExperimentRecord[];
};

export function estimateCost(input: CostInput): FinalizeCost {
  const { sessionBudgetSec, history, mayRiseTo, ...known } = input;
  const measured = sessionRunSeconds(history);
  const perRunSec = measured === null ? input.budgetSec : measured * (input.budgetSec / sessionBudgetSec);
  const perRunFrom = measured === null ? "the budget per run" : `the session's runs (${measured.toFixed(1)}s each at its budget)`;
  const workers = Math.max(1, input.workers);
  return {
    ...known,
    ...(mayRiseTo !== undefined && { mayRiseTo }),
    workers,
    perRunSec,
    wallSec: Math.ceil(input.runs / workers) * perRunSec,
    perRunFrom,
  };
}
