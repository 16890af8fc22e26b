import type { Ledger, SessionInfo, WorkerSlot } from "../ledger/ledger.js";
import { headOf, measuredOf } from "../ledger/tree.js";
import type { ResearchConfig } from "../config/options.js";
import type { StopCondition } from "../metric/stop-condition.js";
import type { SessionPaths } from "../ledger/paths.js";
import type { Executor, ExperimentRecord, Proposer, RunSample } from "../types.js";
import type { WorkerClone } from "../workspace/clone.js";
import type { Git } from "../workspace/git.js";
import type { ResearchRepo } from "../workspace/research-repo.js";
import type { EventSink } from "../ledger/events.js";
import type { ReadyItem } from "./ready.js";
import type { KeepRule } from "./keep-rule.js";
import type { StopControl } from "./stop.js";
import type { RunWatch } from "../runner/watchdog.js";

/** What the loop is given: every outside effect comes in through here, so tests can swap it. */
export interface LoopDeps {
  /** The user's repository (commits and refs are made here; its checkout is never touched). */
  git: Git;
  executor: Executor;
  proposer: Proposer;
  emit: EventSink;
  /**
   * Builds the session's executor from its config once that is known (the CLI passes
   * createExecutor); when absent, `executor` is used as given (tests inject theirs).
   */
  executorFor?: (config: ResearchConfig) => Executor;
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
  /** After each decision: the summary and chart in the checkout made again, without holding up the loop. */
  projectReports?: (session: SessionState) => void;
  /** Renders the progress report (spec 2.6). */
  renderProgress?: (session: SessionState) => string;
}

export interface SessionState {
  /** The user's checkout. */
  root: string;
  paths: SessionPaths;
  info: SessionInfo;
  ledger: Ledger;
  history: ExperimentRecord[];
  /** The research branch and experiment refs in the user's repository. */
  repo: ResearchRepo;
  /** Worker 0's experiment clone (the baseline runs there). */
  clone: WorkerClone;
  /** Every worker: its slot and its own clone (worker 0's is `clone`). */
  workers: Worker[];
  /** Where a proposer that edits files (a coding agent) works: never a clone a run is using. Made when first needed. */
  proposalClone?: WorkerClone;
  /** Mode of the training script in git ("100644" / "100755"): experiment commits keep it. */
  trainMode: string;
  /** Training script text per commit, as read from git (the best's is read every iteration). */
  trainTexts: Map<string, string>;
  /** The keep rule in force, built once from the config when the session was set up or resumed. */
  keepRule: KeepRule;
  /** The session's --stop-when, parsed when its config was checked. */
  stopCondition: StopCondition | null;
  /** When this process started working on the session (for --max-time). */
  invocationStartedAt: Date;
  /** OOM crashes whose retry the proposer declined; not offered again. */
  oomRetryDeclined?: Set<number>;
  /** Set by resume: the experiments a killed orchestrator had in flight, run first. */
  resumeQueue?: ReadyItem[];
  /** OOM crashes whose retry was proposed already (it may still be waiting or running). */
  oomRetried?: Set<number>;
  /**
   * The last training run of each worker (by worker number) in this process: its commit and its
   * sample. A paired decision's first pair reuses the parent's run made just before the
   * candidate's first run. Forgotten across a check (other work ran between) and a resume.
   */
  lastRuns?: Map<number, { commit: string; sample: RunSample }>;
}

/** One worker: its slot (device, host) and its own clone, where its runs (and only its runs) happen. */
export interface Worker {
  slot: WorkerSlot;
  clone: WorkerClone;
}

/** The head of the session's tree: its best kept node (see ledger/tree.ts). */
/**
 * The head (the best kept node), its metric the measured one (the mean of its runs, re-runs as a
 * parent included): what every "vs best" compares with. A copy when that differs from its record's.
 */
export function bestOf(session: Pick<SessionState, "history" | "info">): ExperimentRecord {
  const head = headOf(session.history, session.info.config.direction);
  return measuredNode(session.history, head);
}

/** `node` with its measured metric (see ledger/tree.ts measuredOf). */
export function measuredNode(history: readonly ExperimentRecord[], node: ExperimentRecord): ExperimentRecord {
  const measured = measuredOf(history, node);
  return measured === null || measured === node.metric ? node : { ...node, metric: measured };
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

/** The training script at `commit` (cached: commits never change). */
export async function trainTextAt(session: SessionState, git: Git, commit: string): Promise<string> {
  const cached = session.trainTexts.get(commit);
  if (cached !== undefined) return cached;
  const text = (await git.showFile(commit, session.info.config.train)) ?? "";
  session.trainTexts.set(commit, text);
  return text;
}
