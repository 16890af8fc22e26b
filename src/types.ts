/**
 * Contracts shared by the parts of autoresearch. Each part (runner, proposers, ledger, loop,
 * report) depends on these types, not on each other.
 */

export type Direction = "min" | "max";
export type Status = "keep" | "discard" | "crash";
export const CATEGORIES = ["architecture", "hyperparameters", "optimizer", "training", "other"] as const;
export type Category = (typeof CATEGORIES)[number];
export const SCOPES = ["architecture", "hyperparameters", "optimizer", "training"] as const;
export type Scope = (typeof SCOPES)[number];

/** One exact search/replace edit of the training script. `search` must occur exactly once. */
export interface Edit {
  search: string;
  replace: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * One numeric constant a proposal changes, as data: the builtin search's memory of what it
 * tried is read back from these (stored in experiments.jsonl and rejected.jsonl), never from
 * the description, which any proposer (or model) may word the same way.
 */
export interface ConstantChange {
  /** The constant's name in the script; a tuple element is `NAME[i]`. */
  key: string;
  from: number;
  to: number;
  /** The literals as written in the script (`2**19`, `1e-3`). */
  fromText: string;
  toText: string;
  /** The move's label (`x2`, `+1`, `1-b x0.5`, `from 0`, `halve after OOM`), if any. */
  tag: string | null;
}

/** What a proposer returns: one focused change to the training script. */
export interface Proposal {
  description: string;
  category: Category;
  /** Either edits (applied in order) or the whole new text of the training script. */
  edits?: Edit[];
  newText?: string;
  rationale?: string;
  /** What the proposer is exploring; shown as "Current direction" in progress reports. */
  direction?: string;
  /** One line: what the last result taught (kept in the session's research notes). */
  learned?: string;
  /** Backlog items for later experiments (kept in the session's research notes). */
  ideas?: string[];
  /** The change in the metric the proposer expects (metric - best; signed like the metric). */
  expectedDelta?: number;
  usage?: TokenUsage;
  costUsd?: number;
  /** Position in a --plan file, when the proposal came from one. */
  planStep?: number;
  /** Files a coding agent touched besides the training script (already restored or removed). */
  violations?: string[];
  /** The constants it changes, when the proposer knows them exactly (the builtin search). */
  changes?: ConstantChange[];
  /** Part of a batch reply that the proposer could not use (e.g. it did not match the schema): refused with this reason, never run. */
  refused?: string;
}

export interface PlatformAdjustments {
  compile: boolean;
  compileMode: string | null;
  /** "manual": PyTorch older than 2.0 has no F.scaled_dot_product_attention. */
  attention: "flash" | "sdpa" | "manual";
  ampDtype: "bf16" | "fp16" | "fp32";
  /** Multiplier for the device batch size (1 = full, 0.25 = reduce 4x). */
  batchScale: number;
  castOptimizerStateFp32: boolean;
  notes: string[];
}

export interface PlatformInfo {
  kind: "cuda" | "mps" | "cpu";
  /** As printed in the config table: "CUDA", "MPS (Apple Silicon)", "CPU". */
  label: string;
  device: "cuda" | "mps" | "cpu";
  os: "linux" | "darwin" | "win32" | string;
  /** e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90" or the CPU model. */
  detail: string;
  /** How it was found: "torch", "nvidia-smi", "os", "recorded". */
  source: string;
  /** torch.__version__ as the run's own Python reports it; null when torch is missing, absent in older sessions. */
  torch?: string | null;
  /** GPUs visible to the run (torch.cuda.device_count, else nvidia-smi's list); absent when none or unknown. */
  gpuCount?: number;
  /** Where it was probed when that is not this machine: the ssh host or the SLURM node the runs run on. */
  host?: string;
  adjustments: PlatformAdjustments;
}


/** One decided experiment, as stored in .autoresearch/experiments.jsonl. Baseline is id 0. */
export interface ExperimentRecord {
  id: number;
  /** Full sha of the experiment commit (the baseline's is the branch start). */
  commit: string;
  /** Full sha of the best commit it was built on. */
  parent: string;
  /** sha256 of the training script this experiment ran; equal hashes = the same configuration. */
  trainHash: string;
  description: string;
  category: Category | "baseline";
  status: Status;
  /** Short machine-readable reason: improved, simpler, regression, no-change, timeout, oom, exit-code, no-metric, nan, violation, invalid-proposal ... */
  reason: string;
  /** Human-readable detail, e.g. "exit code 1: CUDA out of memory". */
  detail?: string;
  metric: number | null;
  memGb: number | null;
  params: number | null;
  /** Best metric before this experiment (null for the baseline). */
  bestBefore: number | null;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  proposer: string;
  direction?: string;
  rationale?: string;
  /** The proposer's prediction of metric - bestBefore, when it gave one. */
  expectedDelta?: number;
  /** Optimizer steps and seconds of training the run reported, when it printed them. */
  steps?: number;
  trainingSec?: number;
  usage?: TokenUsage;
  costUsd?: number;
  /** Non-empty lines of the training script (the simplicity principle compares these). */
  lines: number;
  /** Position in a --plan file, when the proposal came from one. */
  planStep?: number;
  /** The experiment whose out-of-memory crash this one retries (spec 2.4). */
  oomRetryOf?: number;
  /** Files a coding agent changed besides the training script; put back before the run. */
  agentViolations?: string[];
  /** The proposal's constant changes (builtin proposals; absent from records written before this field). */
  changes?: ConstantChange[];
  /** Every run of this code when there was more than one (the metric is then their mean). */
  runs?: RunSample[];
  /**
   * Runs of this code slowed by a busy machine (steps/s far below the same code's other runs)
   * and run again: shown and counted, never part of its metric or the noise floor.
   */
  contendedRuns?: RunSample[];
  /** The machine's load around its first run, where the platform can tell. */
  load?: RunLoad;
  /**
   * Runs of its parent's code made beside its own in a paired decision (--keep-rule confirm), on
   * the same worker, the two orders alternating (A B, B A, ...): pair i is (runs[i], parentRuns[i])
   * when its first run is in the first pair (firstPaired), else (runs[i + 1], parentRuns[i]) (its
   * first run left out: records from before firstPaired, or a first run that may have been slowed).
   * Recorded here because the parent's record is never rewritten; they count as the parent's runs
   * (its measured mean, the noise floor), except a `reused` one, counted where it was first recorded.
   * src/metric/paired.ts pairsOf reads the layout.
   */
  parentRuns?: RunSample[];
  /** Its first run is in its first pair (see parentRuns). */
  firstPaired?: boolean;
  /**
   * Decided against the load tracker (src/metric/load-tracker.ts: it trained at its parent's speed,
   * its runs' steps/s read the load): its metric less its parent's expected metric at the same
   * load. Its measured metric is its parent's plus this (src/metric/noise.ts measuredMeans).
   */
  loadDelta?: number;
  /**
   * loadDelta's standard error when it was decided: a load-adjusted keep stands on its gain in
   * these (src/metric/noise.ts loadAdjustedConfidence), not on the raw noise floor, in every view.
   */
  loadSe?: number;
  /**
   * A tracked decision that ran its parent too (parentRuns, not pairs): the order its runs ("c")
   * and its parent's ("p") ran in, e.g. "ccpc" (src/metric/load-tracker.ts reads the load in order).
   */
  runOrder?: string;
  /** The --check commands that ran on it (a would-be keep) and whether each passed. */
  checks?: { command: string; ok: boolean }[];
  /** Which worker ran it (0-based) and on which device / host, when the session has workers. */
  worker?: number;
  device?: string | null;
  host?: string;
  /** When its proposal was ready (before startedAt when it waited for a free worker). */
  queuedAt?: string;
  /** When its run began on the device (after any time in a scheduler's queue). */
  runStartedAt?: string;
  /** Seconds it waited in a cluster queue before running (never counted against the timeout). */
  pendingSec?: number;
  /** This experiment re-runs experiment n's change on the current best (n's parent stopped being the best while it ran). */
  rebaseOf?: number;
  /** The kept experiments whose changes this node applies onto its parent (a combination of winners). */
  combines?: number[];
  /**
   * With `combines`: a proposal made on that combination while it ran (several workers): its code is
   * the parent with those changes applied plus a change of its own, measured against the parent.
   * Without it, a node with `combines` is a pure combination.
   */
  onCombination?: boolean;
  /**
   * Runs of this node's code made by `autoresearch confirm` (never stored here: joined from the
   * session's measurements.jsonl when the records are read, src/ledger/measurements.ts). They
   * count in its measured metric and the noise floor like its other runs.
   */
  confirmRuns?: RunSample[];
}

/**
 * Runs made outside the loop by `autoresearch confirm`, kept in the session's measurements.jsonl:
 * a record that is never an experiment (no results.tsv row, never moves the branch), read with the
 * records so that later decisions, `status` and the noise floor use its runs.
 */
export interface Measurement {
  kind: "confirm";
  /** When its runs ended. */
  at: string;
  commit: string;
  /** sha256 of the training script it ran (identical code is grouped by it). */
  trainHash: string;
  runs: RunSample[];
  /** `confirm A B`: the other commit, run in turns with this one (pair i is runs[i] and its runs[i]). */
  pairedWith?: string;
}

/**
 * One run of an experiment's code. An experiment runs once, unless it is the baseline of a
 * session with --baseline-runs > 1 or a candidate under --keep-rule confirm: then every run is
 * kept here, and the record's metric is their mean.
 */
export interface RunSample {
  /** Its AUTORESEARCH_SEED. */
  seed: number;
  /** The metric it printed; null when it failed. */
  metric: number | null;
  durationSec: number;
  /** Its optimizer steps and seconds of training, when the script printed them. */
  steps?: number;
  trainingSec?: number;
  /** Slowed by a busy machine and run again (only in a record's contendedRuns). */
  contended?: boolean;
  /**
   * A contended run: how many of the record's runs (its own and its parent's made for it, in the
   * order they ran, src/metric/load-tracker.ts orderOfRecord) ran before it. The load track places
   * it in time by this; absent (records written before it) it is taken to have run first.
   */
  at?: number;
  /**
   * A run recorded already (in an earlier experiment's record), reused here: its parent's run made
   * just before this experiment's first run on the same worker, the partner of that run in its
   * first pair. Never counted twice (noise floor, measured metric).
   */
  reused?: boolean;
  load?: RunLoad;
}

/**
 * What else ran on the machine around a run (src/platform/load.ts): the 1-minute load average
 * at its start and end, and GPU compute processes that were not the run's (nvidia-smi, when
 * there is one).
 */
export interface RunLoad {
  loadStart: number;
  loadEnd: number;
  cores: number;
  otherGpuProcesses?: number;
}

/** A proposal the loop refused (edit not found, out of scope, repeat); kept in rejected.jsonl. */
export interface RejectedProposal {
  iteration: number;
  description: string;
  reason: string;
  planStep?: number;
  at: string;
  /** What the refused proposal cost: it counts towards --max-cost like any other. */
  usage?: TokenUsage;
  costUsd?: number;
  /** The refused proposal's constant changes, so the builtin search does not offer them again. */
  changes?: ConstantChange[];
}

/** One row of results.tsv. */
export interface ResultsRow {
  commit: string;
  metric: number | null;
  memGb: number | null;
  status: Status;
  description: string;
}

export interface MetricSpec {
  name: string;
  /** Regex with one capture group for the number; default `^\s*<name>:\s*(<number>)`. */
  pattern?: string;
}

export interface RunSpec {
  cwd: string;
  /** Shell command line, e.g. "uv run train.py". */
  command: string;
  env: Record<string, string>;
  budgetSec: number;
  hardTimeoutSec: number;
  /** Grace between SIGTERM and SIGKILL. */
  graceMs: number;
  logPath: string;
  metric: MetricSpec;
  /** Cap on the log file; the first and last halves are kept. */
  maxLogBytes?: number;
  /** Called with each output line as it arrives (the live view shows the last metric seen). */
  onLine?: (line: string) => void;
  /** Called once the command has been started (in its own process group). */
  onStart?: () => void;
  /**
   * The run's marker (AUTORESEARCH_RUN_ID); generated when absent. The loop picks it before the
   * run starts and records it in state.json, so a run orphaned by a killed orchestrator can be found.
   */
  runId?: string;
  /** The worker this run belongs to, and the ssh host it runs on (executor ssh). */
  worker?: number;
  host?: string;
  /**
   * Called once the executor knows how to find this run again from another process (a SLURM job
   * id, a remote host and its process group); the loop stores it in state.json for `resume`.
   */
  onHandle?: (handle: RunHandle) => void;
  /** Confine the run (src/sandbox/): absent, it can write wherever the user can. */
  sandbox?: RunSandbox;
}

/**
 * How a run is confined: everything read-only but `writable` (its clone) and `scratch` (its
 * private temp dir and caches), `hidden` folders replaced by an empty one (the session records,
 * the lock, other workers' clones), the devices, the network and every path's content as the user has them.
 */
export interface RunSandbox {
  kind: "bwrap" | "sandbox-exec";
  /** Absolute paths the run may write (its clone); all else is read-only. */
  writable: string[];
  /** Absolute folders the run sees empty (bwrap) or cannot read (sandbox-exec); each bound writable path inside one stays visible. */
  hidden: string[];
  /** The run's private folder: TMPDIR and compiler caches live there. */
  scratch: string;
}

/** One worker: where its runs happen. Worker k works in its own clone `<tag>/w<k>`. */
export interface WorkerSlot {
  worker: number;
  /** CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES for its runs; null = not pinned (CPU, MPS, SLURM assigns). */
  device: string | null;
  /** The ssh host its runs go to (executor ssh). */
  host?: string;
}

/** What `resume` needs to re-attach to a run an earlier process started (see Executor.attach). */
export interface RunHandle {
  /** The executor kind that made it: "local", "slurm", "ssh". */
  kind: string;
  /** The job id (slurm), the remote run's id (ssh). */
  id: string;
  host?: string;
  /**
   * The run may wait in a queue before it starts (a cluster job): shown as pending until then.
   * Said by the executor that made the handle, so what only reads state.json (`status`) needs
   * no registry of executors.
   */
  queues?: boolean;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationSec: number;
  /** Last matched metric value; NaN/Infinity kept as parsed so the decision can call it a crash. */
  metric: number | null;
  memGb: number | null;
  params: number | null;
  /** From the script's own summary lines (`num_steps:`, `training_seconds:`), when printed. */
  steps?: number;
  trainingSec?: number;
  /** The machine's load around the run (added by the loop, not the executor). */
  load?: RunLoad;
  oom: boolean;
  /** Last lines of output, for crash reasons and proposer context. */
  tailLines: string[];
  /** Seconds the run waited in a cluster queue before it started (not part of durationSec). */
  pendingSec?: number;
  /**
   * The executor's own reason the run failed, when it is not the command's doing: the scheduler
   * killed the job (`node-fail`, `preempted`, `time-limit`, `cancelled`, `oom`), the host could not
   * be reached (`host-unreachable`), the job waited longer than --max-pending (`pending-too-long`).
   * The decision records it as a crash with this reason and detail.
   */
  failure?: { reason: string; detail: string };
}

export interface Executor {
  /** "local", "slurm", "ssh". */
  readonly kind?: string;
  /**
   * Its runs outlive the orchestrator and attach() can follow them again (slurm: the job stays in
   * the cluster's queue). A killed orchestrator's watchdog leaves them running, and resume follows
   * them instead of killing them as orphans; the executor's own backstop bounds them (sbatch --time).
   */
  readonly reattachable?: boolean;
  run(spec: RunSpec, signal?: AbortSignal): Promise<RunResult>;
  /**
   * Follows a run an earlier (killed) orchestrator started, to its end, as run() would have; null
   * when the run cannot be found or followed (the loop then runs the experiment again).
   */
  attach?(handle: RunHandle, spec: RunSpec, signal?: AbortSignal): Promise<RunResult | null>;
  /**
   * Once a new session's first clone exists, before its baseline: can runs work from there
   * (executor slurm: do the compute nodes see the clone and the run logs' folder)? Throws a
   * UsageError naming the problem and the fix when they cannot; returns warnings to show otherwise.
   */
  check?(where: { cwd: string; logDir: string }, signal?: AbortSignal): Promise<string[]>;
  /**
   * The id of the next run, recorded before the run starts (the local executor hands out the id of
   * a process it made ready for it: the run then starts sooner). Default: a random UUID.
   */
  newRunId?(): string;
  /**
   * A session starts: the executor may make ready now what its first run needs (the local one: a
   * launcher in that run's cgroup, while the session is set up). `close` ends it if no run comes.
   */
  warmUp?(): void;
  /** The session is over: ends what the executor kept ready for runs that will not come. */
  close?(): Promise<void>;
}

export interface ProposalContext {
  iteration: number;
  trainPath: string;
  trainText: string;
  readonlyFiles: { path: string; text: string }[];
  readme: string | null;
  metric: { name: string; direction: Direction };
  history: ExperimentRecord[];
  /** Proposals refused so far in this session, oldest first. */
  rejected: RejectedProposal[];
  baseline: ExperimentRecord;
  best: ExperimentRecord;
  /** Experiments in a row that were not kept. */
  failureStreak: number;
  platform: PlatformInfo;
  scope: Scope[];
  hypothesis?: string;
  plan?: string;
  /** Why the previous attempt in this iteration was rejected (bad edit, out of scope, repeat). */
  feedback?: string;
  /** Set when retrying after an out-of-memory crash (spec 2.4). */
  oomRetry?: { experiment: ExperimentRecord; logTail: string[] };
  /**
   * A throwaway checkout at the best commit that a proposer which edits files (a coding agent)
   * works in, and a folder for its scratch files. The loop inspects and resets the checkout
   * afterwards, so the proposer need not restore anything there itself.
   */
  workspace?: { dir: string; scratchDir: string };
  /** The run's realities: budget, iterations, time and cost left, the keep rule in force. */
  run?: RunFacts;
  /** The session's research notes (findings, dead ends, ideas backlog), oldest first. */
  memory?: MemoryEntry[];
  /**
   * Experiments proposed already and not decided yet (waiting for a worker or running): not to be
   * proposed again. Empty or absent when nothing is in flight.
   */
  inFlight?: InFlightSummary[];
  /** Set when the proposal builds on a node other than the best (the best stagnating): which, and why. `best` is that node then. */
  buildsOn?: { id: number; why: string };
  /**
   * Set when the proposal builds on a combination in flight: the changes of the kept experiments
   * `ids` applied onto `best` (the training script given is that combination's), running now as
   * experiment `combination`. The experiment is measured against `best`, its parent.
   */
  combining?: { ids: number[]; combination: number };
  /**
   * Says something the user should see while it proposes (a provider's error and the retry that
   * follows): the loop shows it as a warning in the live view and the events. Absent: nobody listens.
   */
  notice?: (message: string) => void;
  /** Workers the session runs side by side (absent: one). */
  workers?: number;
  /**
   * The decided children of the node this proposal builds on (`best`), oldest first: what each
   * sibling of the coming experiment gave, so the proposer does not repeat a change that lost there.
   */
  siblings?: SiblingSummary[];
}

/** A decided child of the node a proposal builds on, as the brief shows it. */
export interface SiblingSummary {
  id: number;
  description: string;
  status: Status;
  /** Its metric minus its parent's (signed like the metric); null for a crash. */
  delta: number | null;
}

/** An experiment in flight, as a proposer is told of it. */
export interface InFlightSummary {
  id: number;
  description: string;
  category: Category;
  /** Its constant changes, when known (the builtin search skips them). */
  changes?: ConstantChange[];
  /** Its position in a --plan file (the plan goes on after it). */
  planStep?: number;
  /** The experiment id of the node it is built on (0 = the baseline), when known. */
  parent?: number;
}

/** What the loop knows about the session's limits, for the brief. */
export interface RunFacts {
  budgetSec: number;
  timeoutSec: number;
  /** Experiments after the baseline; null = unlimited. */
  maxIterations: number | null;
  /** Seconds this invocation may still run (--max-time), when set. */
  timeLeftSec?: number;
  maxTimeSec?: number;
  /** Dollars spent on proposals so far and the cap (--max-cost), when set. */
  spentUsd: number;
  maxCostUsd?: number;
  /** The keep rule in force, in words. */
  keepRule: string;
  /** The measured noise floor (pooled sd of repeated runs of the same code), once known. */
  noiseFloor?: number;
}

/** One line of the session's research notes (memory.jsonl). */
export interface MemoryEntry {
  at: string;
  kind: "finding" | "dead-end" | "idea";
  text: string;
  /** The model (a proposal's learned / ideas) or the user (`autoresearch note`). */
  source: "model" | "user";
  /** For a model's finding or dead end: the experiment it is about; for an idea: the one that proposed it. */
  experiment?: number;
}

/** The coding agent a session uses, as recorded in session.json. */
export interface AgentInfo {
  /** The preset name, or the custom command line. */
  command: string;
  /** `<cli> --version` of a preset at the start; null for custom commands or no answer. */
  version: string | null;
}

/** What a proposer's start-up check found (recorded in session.json). */
export interface ProposerCheck {
  agent?: AgentInfo;
  /** What the check found doubtful but not fatal (shown as warnings before the baseline). */
  warnings?: string[];
}

export interface Proposer {
  readonly name: string;
  /**
   * Runs before a session starts, before anything is changed: throws (RuntimeFailure, exit 1,
   * with the fix) when the proposer cannot work at all, e.g. its CLI is not installed.
   */
  check?(): Promise<ProposerCheck>;
  /** False for proposers that replay fixed steps (a plan): they cannot fix an out-of-memory crash. */
  readonly canRetryOom?: boolean;
  /** True for proposers that edit files (a coding agent): they get the clone in `ctx.workspace`. */
  readonly editsWorkspace?: boolean;
  /**
   * True for proposers that answer in milliseconds from the records alone (the builtin search):
   * with several workers in a tree nothing is proposed ahead of a free worker (see lookaheadOf).
   */
  readonly instant?: boolean;
  /**
   * True for proposers whose proposals are written to apply in turn, each on the code the one
   * before left (a plan): with one worker nothing is proposed ahead, since a step proposed while
   * the step before it runs would be checked against code that step has not changed yet.
   */
  readonly inOrder?: boolean;
  /** One proposal, or null when it has nothing more to propose (the session then ends). */
  propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal | null>;
  /**
   * Up to `k` distinct proposals at once, for proposers that do better than k single calls (the
   * builtin search: k different moves; an LLM: one request for k diverse experiments). Each is
   * validated on its own; one carrying `refused` is recorded as refused with that reason. An empty
   * list means nothing more to propose. Absent: the scheduler calls `propose` once per proposal.
   */
  proposeMany?(ctx: ProposalContext, k: number, signal?: AbortSignal): Promise<Proposal[]>;
}
