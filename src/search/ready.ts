/**
 * A proposal waiting for a worker, and its state.json entry: apart from the scheduler that runs
 * them, because the session (resume's queue) holds them too.
 */
import type { InFlight } from "../ledger/ledger.js";
import type { Proposal, RunHandle } from "../types.js";

/** A proposal ready to run (or an experiment to run again after a kill, or a stale candidate's re-run). */
export interface ReadyItem {
  /** Its key while in flight (state.json, events): its number comes with its decision. */
  key: number;
  proposal: Proposal;
  /** The training script built on `base`. */
  newText: string;
  base: string;
  queuedAt: string;
  oomRetryOf?: number;
  rebaseOf?: number;
  /** A combination: the kept nodes whose changes it applies onto `base` (the head when it was made). */
  combines?: number[];
  /** A proposal made on that combination (ExperimentRecord.onCombination): `newText` holds the combined changes and its own. */
  onCombination?: boolean;
  /** Made on the head (not on a node chosen on purpose): moved onto the head if the head moved before it starts. */
  followHead?: boolean;
  /**
   * Resume: the run an earlier orchestrator started, to follow to its end (Executor.attach) instead
   * of running again, on the worker whose clone it runs in.
   */
  attach?: { handle: RunHandle; commit: string; runId: string; worker?: number };
}

/** The state.json entry of an experiment waiting for a worker. */
export function readyEntry(item: ReadyItem): InFlight {
  return {
    id: item.key,
    phase: "ready",
    parent: item.base,
    proposal: item.proposal,
    newText: item.newText,
    queuedAt: item.queuedAt,
    startedAt: item.queuedAt,
    ...(item.oomRetryOf !== undefined && { oomRetryOf: item.oomRetryOf }),
    ...(item.rebaseOf !== undefined && { rebaseOf: item.rebaseOf }),
    ...(item.combines !== undefined && { combines: item.combines }),
    ...(item.onCombination && { onCombination: true }),
    ...(item.attach && { commit: item.attach.commit, runId: item.attach.runId, handle: item.attach.handle, ...(item.attach.worker !== undefined && { worker: item.attach.worker }) }),
  };
}
