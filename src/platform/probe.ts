/**
 * The Python probe (spec Phase 1.1): a small script run by the experiment's own interpreter
 * that prints ONE JSON line about torch, CUDA and MPS. Parsing is a pure function so recorded
 * outputs from real machines can be replayed in tests.
 */
import { z } from "zod";
import { PROBE_MARKER } from "./probe-script.js";

export { PROBE_MARKER, PROBE_SCRIPT } from "./probe-script.js";

const probeLine = z.object({
  [PROBE_MARKER]: z.literal(1),
  python: z.string().nullish(),
  executable: z.string().nullish(),
  system: z.string().nullish(),
  machine: z.string().nullish(),
  flash_attn: z.boolean().nullish(),
  torch: z.string().nullish(),
  torch_error: z.string().nullish(),
  cuda_version: z.string().nullish(),
  hip: z.string().nullish(),
  cuda: z.boolean().nullish(),
  device_count: z.number().int().nonnegative().nullish(),
  device_name: z.string().nullish(),
  total_memory: z.number().nonnegative().nullish(),
  capability: z.tuple([z.number().int(), z.number().int()]).nullish(),
  bf16: z.boolean().nullish(),
  mps: z.boolean().nullish(),
  mps_built: z.boolean().nullish(),
});

export interface ProbeData {
  python: string | null;
  executable: string | null;
  /** platform.system(): "Linux", "Darwin", "Windows". */
  system: string | null;
  machine: string | null;
  /** torch.__version__, or null when torch cannot be imported. */
  torch: string | null;
  torchError: string | null;
  cudaVersion: string | null;
  /** ROCm builds report CUDA through HIP. */
  hip: string | null;
  cuda: boolean;
  deviceCount: number;
  deviceName: string | null;
  totalMemoryBytes: number | null;
  capability: [number, number] | null;
  mps: boolean;
  mpsBuilt: boolean;
  bf16: boolean | null;
  flashAttn: boolean;
}

export type ProbeOutcome = { ok: true; data: ProbeData } | { ok: false; reason: string };

/** Finds the probe's JSON line in stdout (other lines, e.g. warnings, are ignored). */
export function parseProbeOutput(stdout: string): ProbeOutcome {
  const lines = stdout.split(/\r?\n/).map((line) => line.trim());
  let sawJson = false;
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    if (!line.startsWith("{") || !line.includes(PROBE_MARKER)) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      sawJson = true;
      continue;
    }
    const parsed = probeLine.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, reason: `unexpected probe output: "${issue?.path.join(".")}" ${issue?.message}` };
    }
    const d = parsed.data;
    const cuda = d.cuda === true;
    return {
      ok: true,
      data: {
        python: d.python ?? null,
        executable: d.executable ?? null,
        system: d.system ?? null,
        machine: d.machine ?? null,
        torch: d.torch ?? null,
        torchError: d.torch_error ?? null,
        cudaVersion: d.cuda_version ?? null,
        hip: d.hip ?? null,
        cuda,
        deviceCount: d.device_count ?? (cuda ? 1 : 0),
        deviceName: d.device_name ?? null,
        totalMemoryBytes: d.total_memory ?? null,
        capability: d.capability ?? null,
        mps: d.mps === true,
        mpsBuilt: d.mps_built === true,
        bf16: d.bf16 ?? null,
        flashAttn: d.flash_attn === true,
      },
    };
  }
  const firstLine = lines.find((line) => line.length > 0);
  if (sawJson) return { ok: false, reason: "probe output is not valid JSON" };
  return { ok: false, reason: firstLine ? `no probe result in output (first line: ${JSON.stringify(firstLine.slice(0, 120))})` : "the probe printed nothing" };
}

export interface GpuInfo {
  name: string;
  memoryMiB: number | null;
  /** "9.0" when nvidia-smi reports compute_cap. */
  computeCap: string | null;
}

/** Parses `nvidia-smi --query-gpu=name,memory.total[,compute_cap] --format=csv,noheader`. */
export function parseNvidiaSmi(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || /^(name|no devices|nvidia-smi has failed|failed)/i.test(line)) continue;
    const fields = line.split(",").map((f) => f.trim());
    const name = fields[0];
    if (!name) continue;
    const mem = fields[1]?.match(/([\d.]+)\s*MiB/i);
    const cap = fields[2]?.match(/^\d+\.\d+$/) ? (fields[2] as string) : null;
    gpus.push({ name, memoryMiB: mem ? Number(mem[1]) : null, computeCap: cap });
  }
  return gpus;
}
