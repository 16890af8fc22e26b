/**
 * autoresearch as a library: the same core the CLI drives. A caller builds a ResearchConfig,
 * a Proposer and LoopDeps (git, executor, clock, event sink, stop control) and calls research(),
 * which checks the config as the CLI does (validateConfig) and refuses what `run` would refuse.
 */
export { AutoresearchError, Interrupted, RuntimeFailure, UsageError } from "./errors.js";
export type * from "./types.js";
export { CATEGORIES, SCOPES } from "./types.js";

export { parseDuration, formatDuration } from "./config/duration.js";
export { applyOverrides, type CheckedConfig, loadConfigFile, resolveConfig, type ResumeOverrides, validateConfig, validateFlags } from "./config/resolve.js";
export { configFileSchema, OPTION_DEFS, type ResearchConfig, researchConfigSchema } from "./config/options.js";
export { parseStopCondition, type StopCondition, stopConditionMet } from "./metric/stop-condition.js";
export { renderConfigTable } from "./config/table.js";

export { detectPlatform, platformEnv } from "./platform/index.js";
export { Git } from "./workspace/git.js";
export { LocalExecutor } from "./executors/index.js";
export { SshExecutor, type SshExecutorOptions } from "./executors/ssh/executor.js";
export { createSshExecutor } from "./executors/ssh/from-config.js";

export { createProposer } from "./proposers/index.js";
export { BuiltinProposer } from "./proposers/builtin/index.js";
export { loadPlan, PlanProposer } from "./proposers/plan.js";
export { createLlmProposer } from "./proposers/llm/index.js";
export { createAgentProposer } from "./proposers/agent/index.js";
export { applyProposal } from "./proposers/apply.js";
export { buildPrompt, type BuiltPrompt, type PromptOptions } from "./proposers/prompt.js";

export { research, type ResearchMode, type ResearchOutcome } from "./loop/research.js";
export type { SessionEvent, EventSink } from "./ledger/events.js";
export type { LoopDeps, SessionState } from "./search/session.js";
export { StopControl } from "./search/stop.js";
export { sanitizeEnv } from "./runner/run-env.js";

export { formatRow, parseResults, resultsHeader } from "./ledger/results-tsv.js";
export { Ledger, type SessionInfo } from "./ledger/ledger.js";
export { sessionPaths } from "./ledger/paths.js";
export { addUserNote, memoryView, readMemory } from "./ledger/memory.js";
export { calibrate, describeCalibration } from "./ledger/calibration.js";
export { type LoopLiveness, loopLiveness } from "./ledger/liveness.js";
export { readInFlightReadOnly, readRecordsReadOnly, readResultsFile, readSessionReadOnly } from "./ledger/read.js";
export * from "./metric/index.js";

export * from "./report/index.js";
