/**
 * The shapes of session.json and state.json, apart from the Ledger that writes them so that the
 * readers (read.ts) and the writer depend on them without depending on each other.
 */
import type { ResearchConfig } from "../config/options.js";
import type { Protection } from "../sandbox/mode.js";
import type { AgentInfo, PlatformInfo, Proposal, RunHandle, WorkerSlot } from "../types.js";

/** session.json: what was confirmed at setup and never changes during the session. */
export interface SessionInfo {
  version: 1;
  tag: string;
  branch: string;
  baseBranch: string | null;
  baseCommit: string;
  startedAt: string;
  config: ResearchConfig;
  platform: PlatformInfo;
  /** sha256 of every guarded file (read-only scripts, dependency files) at setup; null = absent. */
  guardedHashes: Record<string, string | null>;
  /** The coding agent (--proposer agent) and its version at the start. */
  agent?: AgentInfo;
  /**
   * The worker slots resolved at setup from workers / devices / hosts (src/search/slots.ts), so
   * resume and status use the same ones. Absent in sessions from before workers: one slot, no device.
   */
  slots?: WorkerSlot[];
  /**
   * What protects the user's data from the runs (src/sandbox/): a sandbox, or the manifest check
   * after each run. Resolved at setup and again on resume (the machine may have changed).
   */
  protection?: Protection;
}

// Defined below the executors, which resolve the slots; session.json keeps them.
export type { WorkerSlot } from "../types.js";

/**
 * One entry of state.json: an experiment proposed (ready, waiting for a worker) or running, so a
 * killed orchestrator can pick it up again. Written atomically before the commit, again before
 * the run and whenever the executor hands back a handle; removed once the experiment is recorded.
 */
export interface InFlight {
  /**
   * The entry's key: 0 for the baseline; for an experiment, a key given when it was proposed
   * (unique among those in flight), not its number: experiments are numbered when decided.
   */
  id: number;
  /** The number its decision gave it (set from the start of its decision until it is recorded). */
  number?: number;
  /**
   * baseline: the baseline run (id 0); ready: proposed, waiting for a free worker (applied to the
   * best when it starts); proposed: about to commit; running: committed and running.
   */
  phase: "baseline" | "ready" | "proposed" | "running";
  /** The best it was (or is being) built on. */
  parent: string;
  commit?: string;
  /** Absent for the baseline. */
  proposal?: Proposal;
  /** The exact training script the experiment runs (built on `parent`): a resumed session runs the same text again while `parent` is still the best. */
  newText?: string;
  oomRetryOf?: number;
  /** The experiment whose change this one re-runs on the current best. */
  rebaseOf?: number;
  /** A combination: the kept experiments whose changes it applies onto its parent. */
  combines?: number[];
  /** A proposal made on that combination (ExperimentRecord.onCombination). */
  onCombination?: boolean;
  /** The run's AUTORESEARCH_RUN_ID: what is left of a run orphaned by a killed orchestrator is found by it. */
  runId?: string;
  /** Where it runs. */
  worker?: number;
  device?: string | null;
  host?: string;
  /** What the executor gave back to find the run again (a SLURM job id ...): resume attaches to it. */
  handle?: RunHandle;
  /** When the proposal was ready. */
  queuedAt?: string;
  startedAt: string;
  runStartedAt?: string;
}

/** state.json: every experiment proposed or running. */
export interface StateFile {
  runs: InFlight[];
}
