import type { Direction, ExperimentRecord } from "../types.js";
import { noiseOfRecords, stepsPerSec } from "../metric/index.js";
import { decidedOn, gainStanding, type LoadAdjusted, loadAdjustedConfidence, WITHIN_NOISE } from "../metric/noise.js";

/**
 * One row of the table / point of the chart: what the overview needs of a record, not all of
 * it. Pure, so the page (which gets whole records from the live feed) shares it.
 */
export interface ExperimentSummary {
  id: number;
  commit: string;
  status: ExperimentRecord["status"];
  metric: number | null;
  bestBefore: number | null;
  category: string;
  description: string;
  reason: string;
  detail: string | null;
  memGb: number | null;
  durationSec: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  costUsd: number | null;
  tokens: number | null;
  /** What the proposer said it was exploring. */
  direction: string | null;
  /** The commit of the node it was built on (the research tree; the baseline's is its own). */
  parent: string;
  /** Non-empty lines of its script: the head's tie-break (src/ledger/tree.ts). */
  lines: number;
  /** The kept experiments whose changes it combined onto its parent. */
  combines?: number[];
  /** Steps per second of training of its (first decided) run, when the script printed steps. */
  stepsPerSec: number | null;
  /** Its runs re-run because the machine was busy. */
  contendedRuns: number;
  /** Parent/change pairs it was decided on (0: none). */
  pairs: number;
  /** Decided against the load its runs read: its difference from its parent at the same load and that difference's standard error (src/types.ts). */
  loadAdjusted?: LoadAdjusted;
}

export function summarize(r: ExperimentRecord): ExperimentSummary {
  const tokens = r.usage ? r.usage.inputTokens + r.usage.outputTokens : null;
  return {
    id: r.id,
    commit: r.commit,
    status: r.status,
    metric: r.status === "crash" ? null : finite(r.metric),
    bestBefore: finite(r.bestBefore),
    category: r.category,
    description: r.description ?? "",
    reason: r.reason ?? "",
    detail: r.detail ?? null,
    memGb: finite(r.memGb),
    durationSec: finite(r.durationSec),
    startedAt: r.startedAt ?? null,
    finishedAt: r.finishedAt ?? null,
    costUsd: finite(r.costUsd),
    tokens,
    direction: r.direction?.trim() ? r.direction : null,
    parent: r.parent || r.commit,
    lines: Number.isFinite(r.lines) ? r.lines : 0,
    ...(r.combines && r.combines.length > 0 && { combines: [...r.combines] }),
    stepsPerSec: stepsPerSec(r),
    contendedRuns: r.contendedRuns?.length ?? 0,
    ...decidedOn(r),
  };
}

function finite(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/**
 * Run-to-run noise: the metric module's noise floor (every run of identical code pooled,
 * confirmation and baseline repeats included). Null until some code has run at least twice.
 */
export function pooledNoise(records: readonly ExperimentRecord[]): number | null {
  return noiseOfRecords(records)?.sd ?? null;
}

/**
 * What the table, the chart's tooltip and the header say of a keep (or of the best against the
 * baseline) that could be luck: its gain within the noise floor, or never re-measured (no noise
 * floor: one run, never repeated). Null when it stands clear, or when runs agree exactly (noise 0).
 */
export function gainCaveat(metric: number | null, reference: number | null, direction: Direction, noise: number | null): string | null {
  const standing = gainStanding(metric, reference, direction, noise);
  if (!standing?.within) return null;
  return noise === null ? "never re-measured, no noise floor" : "within noise: could be luck";
}

/**
 * A keep's caveat (gainCaveat against the node it was decided against); null for the baseline and
 * for other statuses. A keep decided against the load its runs read is judged by its gain in
 * standard errors of its load-adjusted difference (src/metric/noise.ts loadAdjustedConfidence),
 * not by the raw noise floor.
 */
export function keepCaveat(e: Pick<ExperimentSummary, "id" | "status" | "metric" | "bestBefore"> & { pairs?: number; loadAdjusted?: LoadAdjusted }, direction: Direction, noise: number | null): string | null {
  if (e.status !== "keep" || e.id === 0) return null;
  // A keep decided on pairs was measured again beside its parent: it stands on them.
  if ((e.pairs ?? 0) > 0) return null;
  if (e.loadAdjusted) {
    const z = loadAdjustedConfidence(e.loadAdjusted, direction);
    if (z !== undefined) return z !== null && z < WITHIN_NOISE ? "within noise (load-adjusted): could be luck" : null;
  }
  return gainCaveat(e.metric, e.bestBefore, direction, noise);
}

/** Whether the header shows a cost: proposers that pay per call (LLM APIs), or any cost recorded. */
export function showsCost(proposer: string | undefined, costUsd: number): boolean {
  return costUsd > 0 || (proposer !== undefined && !["builtin", "plan", "agent"].includes(proposer));
}
