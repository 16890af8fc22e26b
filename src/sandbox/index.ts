export { bwrapArgs, bwrapArgv, bwrapCommand } from "./bwrap.js";
export { READ_ONLY_REASON, readOnlyFailure, readOnlyPath } from "./failure.js";
export { type Protection, protectionFor, protectionText, resolveProtection, SANDBOX_MODES, type SandboxAvailability, type SandboxMode } from "./mode.js";
export { bwrapPath, probeBwrap, probeBwrapAsync, sandboxAvailability } from "./probe.js";
export { type ConfinedRun, confine } from "./run.js";
export { sandboxExecCommand, sandboxProfile } from "./sandbox-exec.js";

