/**
 * Phase 1.1: CUDA, MPS (Apple Silicon) or CPU. Asks the experiment's own Python about torch;
 * falls back to nvidia-smi, then to the OS and CPU. A probe that hangs, crashes or prints
 * nonsense is timed out / reported in `notes` and detection falls back instead of failing.
 */
import { cpus, totalmem } from "node:os";
import type { PlatformInfo } from "../types.js";
import { adjustmentsFor, type PlatformKind } from "./adjustments.js";
import { type PythonCommand, pythonForCommand } from "./command.js";
import { type Exec, type ExecResult, execWithTimeout } from "./exec.js";
import { type GpuInfo, type ProbeData, parseNvidiaSmi, parseProbeOutput } from "./probe.js";
import { DEFAULT_PROBE_TIMEOUT_MS, runPythonProbe } from "./probe-script.js";

export interface DetectOptions {
  /** The experiment command; its Python is the one probed for torch. */
  command: string;
  root: string;
  /** Per helper process (probe, nvidia-smi); default 20 s. */
  timeoutMs?: number;
  /** Injectable process runner (tests replay recorded outputs). */
  exec?: Exec;
  /** The Python probe's run when it was started already for this command and root (cli/early-start.ts). */
  probeStarted?: Promise<ExecResult>;
  os?: NodeJS.Platform;
  arch?: string;
  /** Default: os.cpus()[0].model. */
  cpuModel?: string;
  cpuCount?: number;
  totalMemoryBytes?: number;
}

/** PlatformInfo plus how detection went; stored as is in session.json. */
export interface DetectedPlatform extends PlatformInfo {
  /** The interpreter probed ("uv run python"), or null for commands that run no Python. */
  python: string | null;
  pythonVersion: string | null;
  /** torch.__version__ seen by that interpreter, or null. */
  torch: string | null;
  /** What detection tried and why it fell back. */
  notes: string[];
}

export { DEFAULT_PROBE_TIMEOUT_MS };

/**
 * What detection noted that matters to this script: a script that does not import torch is not
 * told that torch is missing (or about MPS, which needs it); the GPU notes stay.
 */
export function notesFor(platform: PlatformInfo | DetectedPlatform | null, scriptUsesTorch: boolean): string[] {
  const notes = platform && "notes" in platform ? platform.notes : [];
  return scriptUsesTorch ? notes : notes.filter((note) => !/\btorch\b|\bMPS\b/.test(note));
}

export const LABELS: Record<PlatformKind, string> = { cuda: "CUDA", mps: "MPS (Apple Silicon)", cpu: "CPU" };

const GIB = 1024 ** 3;
const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? "").slice(0, 200);
}

function describeFailure(what: string, result: ExecResult, timeoutMs: number): string {
  if (result.timedOut) return `${what} timed out after ${timeoutMs / 1000}s and was killed`;
  if (result.error === "ENOENT") return `${what} was not found`;
  if (result.error) return `${what} could not start (${result.error})`;
  const why = lastLine(result.stderr) || lastLine(result.stdout);
  return `${what} failed (${result.signal ? `signal ${result.signal}` : `exit code ${result.code}`})${why ? `: ${why}` : ""}`;
}

async function probePython(py: PythonCommand, options: Required<Pick<DetectOptions, "root" | "exec">> & { timeoutMs: number; started?: Promise<ExecResult> }, notes: string[]): Promise<ProbeData | null> {
  const result = await (options.started ?? runPythonProbe(py, options));
  const what = `the Python probe (${py.display})`;
  if (result.error === "ENOENT") {
    notes.push(`${py.argv[0]} was not found (the probe runs ${py.display})`);
    return null;
  }
  if (result.timedOut || result.error) {
    notes.push(describeFailure(what, result, options.timeoutMs));
    return null;
  }
  const parsed = parseProbeOutput(result.stdout);
  if (!parsed.ok) {
    notes.push(result.code === 0 ? `${what}: ${parsed.reason}` : describeFailure(what, result, options.timeoutMs));
    return null;
  }
  return parsed.data;
}

async function queryNvidiaSmi(exec: Exec, root: string, timeoutMs: number, os: string, notes: string[]): Promise<GpuInfo[]> {
  const candidates = ["nvidia-smi"];
  if (os === "win32") candidates.push("C:\\Program Files\\NVIDIA Corporation\\NVSMI\\nvidia-smi.exe");
  for (const bin of candidates) {
    let result = await exec([bin, "--query-gpu=name,memory.total,compute_cap", "--format=csv,noheader"], { cwd: root, timeoutMs });
    // Drivers before 510 do not know compute_cap.
    if (!result.timedOut && !result.error && result.code !== 0 && /compute_cap|not a valid field/i.test(result.stdout + result.stderr)) {
      result = await exec([bin, "--query-gpu=name,memory.total", "--format=csv,noheader"], { cwd: root, timeoutMs });
    }
    if (result.error === "ENOENT") continue;
    if (result.timedOut || result.error || result.code !== 0) {
      notes.push(describeFailure("nvidia-smi", result, timeoutMs));
      return [];
    }
    const gpus = parseNvidiaSmi(result.stdout);
    if (gpus.length === 0) notes.push("nvidia-smi lists no GPU");
    return gpus;
  }
  notes.push("nvidia-smi was not found");
  return [];
}

function smiDetail(gpus: GpuInfo[]): string {
  const gpu = gpus[0] as GpuInfo;
  const parts = [gpus.length > 1 ? `${gpus.length}× ${gpu.name}` : gpu.name];
  if (gpu.memoryMiB !== null) parts.push(gib(gpu.memoryMiB * 1024 * 1024));
  if (gpu.computeCap) parts.push(`sm_${gpu.computeCap.replace(".", "")}`);
  return parts.join(", ");
}

export async function detectPlatform(options: DetectOptions): Promise<DetectedPlatform> {
  const os = options.os ?? process.platform;
  const arch = options.arch ?? process.arch;
  const exec = options.exec ?? execWithTimeout;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const notes: string[] = [];
  const cpuList = options.cpuModel === undefined ? cpus() : [];
  const cpuModel = (options.cpuModel ?? cpuList[0]?.model ?? "unknown CPU").trim().replace(/\s+/g, " ");
  const cpuCount = options.cpuCount ?? (cpuList.length || 1);
  const memory = options.totalMemoryBytes ?? totalmem();

  const py = pythonForCommand(options.command, os);
  let probe: ProbeData | null = null;
  if (py === null) notes.push(`"${options.command}" runs no Python: torch not probed`);
  else probe = await probePython(py, { root: options.root, exec, timeoutMs, ...(options.probeStarted && { started: options.probeStarted }) }, notes);

  const result = (kind: PlatformKind, source: string, detail: string, facts: Parameters<typeof adjustmentsFor>[1], gpuCount?: number): DetectedPlatform => ({
    kind,
    label: LABELS[kind],
    device: kind,
    os,
    detail,
    source,
    adjustments: adjustmentsFor(kind, facts),
    python: py?.display ?? null,
    pythonVersion: probe?.python ?? null,
    torch: probe?.torch ?? null,
    ...(gpuCount !== undefined && gpuCount > 0 && { gpuCount }),
    notes,
  });

  if (probe?.torch) {
    const facts = { torchVersion: probe.torch, bf16: probe.bf16, flashAttn: probe.flashAttn };
    if (probe.cuda) {
      const parts = [probe.deviceCount > 1 ? `${probe.deviceCount}× ${probe.deviceName ?? "GPU"}` : (probe.deviceName ?? "GPU")];
      if (probe.totalMemoryBytes) parts.push(gib(probe.totalMemoryBytes));
      if (probe.capability) parts.push(`sm_${probe.capability[0]}${probe.capability[1]}`);
      if (probe.hip) notes.push(`ROCm build (HIP ${probe.hip}): torch reports the GPU through the CUDA API`);
      return result("cuda", "torch", parts.join(", "), facts, probe.deviceCount);
    }
    if (probe.mps) {
      const chip = probe.deviceName ?? "Apple Silicon";
      // The spec allows bf16 on M2 and newer only.
      const bf16 = probe.bf16 === true && !/\bM1\b/.test(chip);
      return result("mps", "torch", probe.totalMemoryBytes ? `${chip}, ${gib(probe.totalMemoryBytes)} unified memory` : chip, { ...facts, bf16 });
    }
    const gpus = await queryNvidiaSmi(exec, options.root, timeoutMs, os, []);
    if (gpus.length > 0) notes.push(`nvidia-smi sees ${smiDetail(gpus)}, but torch ${probe.torch} cannot use CUDA (a CPU-only build?)`);
    if (os === "darwin" && arch === "arm64" && probe.mpsBuilt) notes.push("torch has MPS support but MPS is not available (macOS 12.3+ needed)");
    return result("cpu", "torch", `${cpuModel}, ${cpuCount} cores`, facts);
  }

  if (probe && py) notes.push(`torch is not installed in ${py.display}${probe.torchError ? ` (${probe.torchError})` : ""}`);
  const gpus = await queryNvidiaSmi(exec, options.root, timeoutMs, os, notes);
  if (gpus.length > 0) {
    const cap = gpus[0]?.computeCap ? Number(gpus[0].computeCap) : null;
    return result("cuda", "nvidia-smi", smiDetail(gpus), { torchVersion: null, bf16: cap === null ? null : cap >= 8 }, gpus.length);
  }
  if (os === "darwin" && arch === "arm64") {
    notes.push(py ? `Apple Silicon: MPS is possible, but torch is missing in ${py.display}` : "Apple Silicon: MPS is possible for a PyTorch command");
  }
  return result("cpu", "os", `${cpuModel}, ${cpuCount} cores, ${gib(memory)} RAM`, { torchVersion: null });
}
