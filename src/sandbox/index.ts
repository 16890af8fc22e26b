export { bwrapArgs, bwrapArgv, bwrapCommand, shellQuote } from "./bwrap.js";
export { READ_ONLY_REASON, readOnlyFailure, readOnlyPath } from "./failure.js";
export { type Protection, protectionFor, protectionText, resolveProtection, SANDBOX_MODES, type SandboxAvailability, type SandboxMode } from "./mode.js";
export { bwrapPath, probeBwrap, probeBwrapAsync, sandboxAvailability } from "./probe.js";
export { type ConfinedRun, confine } from "./run.js";
export { sandboxExecCommand, sandboxProfile } from "./sandbox-exec.js";

/**
 * Where Python writes the bytecode of every module a run imports (PYTHONPYCACHEPREFIX), inside the
 * run's clone: importing a module of a shared environment for the first time writes nothing there.
 * It is an output of the run, removed with the others (a cache a run could plant would be code the
 * next run executes).
 */
export const PYCACHE_DIR = ".autoresearch-pycache";
