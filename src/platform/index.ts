import type { PlatformInfo } from "../types.js";

export interface DetectOptions {
  /** The experiment command; its Python is the one probed for torch. */
  command: string;
  root: string;
  timeoutMs?: number;
}

/** Placeholder until platform detection lands: CPU with the spec's CPU adjustments. */
export async function detectPlatform(_options: DetectOptions): Promise<PlatformInfo> {
  return {
    kind: "cpu",
    label: "CPU",
    device: "cpu",
    os: process.platform,
    detail: "cpu",
    source: "os",
    adjustments: {
      compile: false,
      compileMode: null,
      attention: "sdpa",
      ampDtype: "fp32",
      batchScale: 0.25,
      castOptimizerStateFp32: false,
      notes: ["Disable torch.compile", "Use smaller batch sizes", "Use gradient accumulation to keep the effective batch"],
    },
  };
}

/** The variables DESIGN.md promises to the training command. */
export function platformEnv(platform: PlatformInfo): Record<string, string> {
  return {
    AUTORESEARCH_DEVICE: platform.device,
    AUTORESEARCH_PLATFORM: platform.label,
    AUTORESEARCH_COMPILE: platform.adjustments.compile ? "1" : "0",
    AUTORESEARCH_AMP_DTYPE: platform.adjustments.ampDtype,
    AUTORESEARCH_BATCH_SCALE: String(platform.adjustments.batchScale),
  };
}
