/**
 * Phase 1.2 and the Cross-Platform Compatibility Matrix as data: what to set for CUDA, MPS and
 * CPU. The run gets these as AUTORESEARCH_* variables; proposers get them as notes.
 */
import type { PlatformAdjustments, PlatformInfo } from "../types.js";

export type PlatformKind = PlatformInfo["kind"];

export interface AdjustmentFacts {
  /** torch.__version__, or null when torch was not found. */
  torchVersion?: string | null;
  /** Whether the device supports bf16 (CUDA: compute capability >= 8.0; MPS: M2 or newer). */
  bf16?: boolean | null;
  /** Whether flash_attn is importable by the run's Python. */
  flashAttn?: boolean;
}

/** "2.5.1+cu121" -> [2, 5]; null when it is not a version. */
export function torchMajorMinor(version: string | null | undefined): [number, number] | null {
  const match = version?.match(/^(\d+)\.(\d+)/);
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** PyTorch 2.0 added F.scaled_dot_product_attention; an unknown version is assumed recent. */
function hasSdpa(version: [number, number] | null): boolean {
  return version === null || version[0] >= 2;
}

const MANUAL_ATTENTION = (torch: string | null | undefined): string =>
  `PyTorch ${torch} has no F.scaled_dot_product_attention (added in 2.0): compute causal attention by hand (softmax of masked QK^T/sqrt(d)); do not upgrade packages`;

export function adjustmentsFor(kind: PlatformKind, facts: AdjustmentFacts = {}): PlatformAdjustments {
  const version = torchMajorMinor(facts.torchVersion);
  const sdpa = hasSdpa(version);
  if (kind === "cuda") {
    // Unknown torch (found by nvidia-smi only): the spec's rule applies once PyTorch >= 2.0 is there.
    const compile = version === null || version[0] >= 2;
    const flash = facts.flashAttn === true;
    const bf16 = facts.bf16 !== false;
    return {
      compile,
      compileMode: compile ? "reduce-overhead" : null,
      attention: flash ? "flash" : sdpa ? "sdpa" : "manual",
      ampDtype: bf16 ? "bf16" : "fp16",
      batchScale: 1,
      castOptimizerStateFp32: false,
      notes: [
        compile
          ? `Enable torch.compile (mode "reduce-overhead")${version === null ? " if PyTorch >= 2.0" : ""}`
          : `Keep torch.compile off: PyTorch ${facts.torchVersion} is older than 2.0`,
        flash
          ? "FlashAttention is installed and may be used; sliding-window attention via FlashAttention or SDPA"
          : sdpa
            ? "FlashAttention is not installed: use PyTorch SDPA (F.scaled_dot_product_attention); do not install packages"
            : MANUAL_ATTENTION(facts.torchVersion),
        bf16 ? "Mixed precision: bf16 autocast" : "This GPU has no bf16: use fp16 autocast with a GradScaler",
        "Standard batch sizes apply",
      ],
    };
  }
  if (kind === "mps") {
    const bf16 = facts.bf16 === true;
    return {
      compile: false,
      compileMode: null,
      attention: sdpa ? "sdpa" : "manual",
      ampDtype: bf16 ? "bf16" : "fp32",
      batchScale: 0.5,
      castOptimizerStateFp32: true,
      notes: [
        "Disable torch.compile (unsupported paths on MPS)",
        sdpa ? "Replace FlashAttention with PyTorch native SDPA plus a manual sliding-window causal mask" : MANUAL_ATTENTION(facts.torchVersion),
        "MPS wants a 2-4x lower device batch size: the loop sets batch scale 0.5, which scripts that read AUTORESEARCH_BATCH_SCALE apply; use gradient accumulation to keep the effective batch",
        "Cast optimizer states to float32 explicitly if Metal errors appear",
        bf16 ? "Mixed precision: bf16 (Apple M2 or newer)" : "No bf16 on this chip (M1 or older macOS): train in fp32",
      ],
    };
  }
  return {
    compile: false,
    compileMode: null,
    attention: sdpa ? "sdpa" : "manual",
    ampDtype: "fp32",
    batchScale: 0.25,
    castOptimizerStateFp32: false,
    notes: [
      "torch.compile is off (optional on CPU, mode reduce-overhead, so it may be tried)",
      sdpa ? "Use SDPA with a manual sliding-window causal mask; no FlashAttention" : MANUAL_ATTENTION(facts.torchVersion),
      "No mixed precision on CPU: train in fp32",
      "CPU wants 4-8x smaller batches: the loop sets batch scale 0.25, which scripts that read AUTORESEARCH_BATCH_SCALE apply to their batch size; use gradient accumulation to keep the effective batch",
      "Expect runs 5-10x slower than on a GPU: prefer short time budgets and small models",
    ],
  };
}

/**
 * Whether a training script uses PyTorch (`import torch`, `from torch.nn import ...`,
 * `import numpy as np, torch`): the adjustments are torch settings, meaningless for any other script.
 */
export function usesTorch(scriptText: string): boolean {
  return /^[ \t]*(?:from[ \t]+torch\b|import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*torch\b)/m.test(scriptText);
}

const ATTENTION_TEXT: Record<PlatformAdjustments["attention"], string> = { flash: "FlashAttention", sdpa: "SDPA", manual: "manual attention (no SDPA)" };

export function attentionText(attention: PlatformAdjustments["attention"]): string {
  return ATTENTION_TEXT[attention];
}

/** One line for the config table: "torch.compile off; SDPA; fp32; batch ×0.25". */
export function describeAdjustments(a: PlatformAdjustments): string {
  return [
    a.compile ? `torch.compile on (${a.compileMode ?? "default"})` : "torch.compile off",
    attentionText(a.attention),
    a.ampDtype,
    `batch ×${a.batchScale}`,
    ...(a.castOptimizerStateFp32 ? ["optimizer states fp32"] : []),
  ].join("; ");
}

/** The variables that carry the adjustments (the rest of platformEnv describes the platform). */
export const ADJUSTMENT_VARIABLES = [
  "AUTORESEARCH_COMPILE",
  "AUTORESEARCH_COMPILE_MODE",
  "AUTORESEARCH_ATTENTION",
  "AUTORESEARCH_AMP_DTYPE",
  "AUTORESEARCH_BATCH_SCALE",
  "AUTORESEARCH_CAST_OPTIMIZER_FP32",
] as const;

/** The adjustment variables a script names (`os.environ["AUTORESEARCH_BATCH_SCALE"]`), in table order. */
export function adjustmentVariablesRead(scriptText: string): string[] {
  return ADJUSTMENT_VARIABLES.filter((name) => new RegExp(`\\b${name}\\b`).test(scriptText));
}

/**
 * The loop applies none of the adjustments itself: they are variables offered to the script
 * (and notes for proposers). The table says so, and which of them this script reads, so
 * "batch ×0.25" is not taken for a change the runs got when the script ignores it.
 */
export function offeredText(a: PlatformAdjustments, scriptText?: string): string {
  const base = `${describeAdjustments(a)} (offered to the script as AUTORESEARCH_* variables`;
  if (scriptText === undefined) return `${base})`;
  const read = adjustmentVariablesRead(scriptText);
  return `${base}; ${read.length === 0 ? "it reads none of them" : `it reads ${read.join(", ")}`})`;
}

/** The variables DESIGN.md promises to the training command, plus the attention/compile details. */
export function platformEnv(platform: PlatformInfo): Record<string, string> {
  const a = platform.adjustments;
  return {
    AUTORESEARCH_DEVICE: platform.device,
    AUTORESEARCH_PLATFORM: platform.label,
    AUTORESEARCH_COMPILE: a.compile ? "1" : "0",
    AUTORESEARCH_COMPILE_MODE: a.compile ? (a.compileMode ?? "default") : "none",
    AUTORESEARCH_ATTENTION: a.attention,
    AUTORESEARCH_AMP_DTYPE: a.ampDtype,
    AUTORESEARCH_BATCH_SCALE: String(a.batchScale),
    AUTORESEARCH_CAST_OPTIMIZER_FP32: a.castOptimizerStateFp32 ? "1" : "0",
  };
}
