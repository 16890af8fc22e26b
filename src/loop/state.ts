import type { Ledger, SessionInfo } from "../ledger/ledger.js";
import type { StopCondition } from "../metric/stop-condition.js";
import type { SessionPaths } from "../ledger/paths.js";
import type { Executor, ExperimentRecord, Proposer } from "../types.js";
import type { Git } from "../workspace/git.js";
import type { EventSink } from "./events.js";
import type { StopControl } from "./stop.js";
import type { RunWatch } from "./watchdog.js";

/** What the loop is given: every outside effect comes in through here, so tests can swap it. */
export interface LoopDeps {
  git: Git;
  executor: Executor;
  proposer: Proposer;
  emit: EventSink;
  now: () => Date;
  stop: StopControl;
  /** The environment runs start from (already stripped of secrets). */
  baseEnv: Record<string, string>;
  /**
   * The orchestrator's own environment. When given, each run's environment is made from it by
   * `sanitizeEnv` with the session's `passEnv` allowed and its `apiKeyEnv` denied (instead of baseEnv).
   */
  sourceEnv?: NodeJS.ProcessEnv;
  /** Told which run is in flight, so a run orphaned by a killed orchestrator is killed (set by research()). */
  runWatch?: RunWatch;
  /** Grace between SIGTERM and SIGKILL when a run is killed. */
  graceMs?: number;
  /** Writes the summary and chart at the end of a session. */
  writeReports?: (session: SessionState) => Promise<string[]>;
  /** Renders the progress report (spec 2.6). */
  renderProgress?: (session: SessionState) => string;
}

export interface SessionState {
  root: string;
  paths: SessionPaths;
  info: SessionInfo;
  ledger: Ledger;
  history: ExperimentRecord[];
  /** The session's --stop-when, parsed when its config was checked. */
  stopCondition: StopCondition | null;
  /** When this process started working on the session (for --max-time). */
  invocationStartedAt: Date;
  /** An OOM crash whose retry the proposer declined; not offered again. */
  oomRetryDeclined?: number;
}

export function bestOf(history: ExperimentRecord[]): ExperimentRecord {
  const kept = history.filter((e) => e.status === "keep");
  const best = kept[kept.length - 1];
  if (!best) throw new Error("session has no baseline");
  return best;
}

export function baselineOf(history: ExperimentRecord[]): ExperimentRecord {
  const baseline = history[0];
  if (!baseline) throw new Error("session has no baseline");
  return baseline;
}

/** Experiments in a row, most recent first, that were not kept. */
export function failureStreak(history: ExperimentRecord[]): number {
  let streak = 0;
  for (let i = history.length - 1; i > 0 && history[i]?.status !== "keep"; i--) streak++;
  return streak;
}
