/**
 * Platform detection (spec Phase 1.1) and adjustments (Phase 1.2, compatibility matrix).
 * `detectPlatform` probes the experiment's Python; `platformEnv` is what the run gets;
 * proposers get the PlatformInfo itself (its adjustments and notes) in their context.
 */
export { adjustmentsFor, attentionText, describeAdjustments, platformEnv, torchMajorMinor, usesTorch, type AdjustmentFacts, type PlatformKind } from "./adjustments.js";
export { defaultPython, type PythonCommand, pythonForCommand, splitCommand } from "./command.js";
export { DEFAULT_PROBE_TIMEOUT_MS, type DetectedPlatform, type DetectOptions, detectPlatform, LABELS, notesFor } from "./detect.js";
export { type Exec, type ExecOptions, type ExecResult, execWithTimeout } from "./exec.js";
export { type GpuInfo, parseNvidiaSmi, parseProbeOutput, PROBE_SCRIPT, type ProbeData, type ProbeOutcome } from "./probe.js";
export { which } from "./which.js";
