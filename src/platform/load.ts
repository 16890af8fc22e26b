/**
 * What else the machine is doing around a run, read at its start and end: the 1-minute load
 * average (os.loadavg; 0 on Windows, where it is not known) and, where nvidia-smi answers,
 * the GPU compute processes. Recorded per run so a slow run can be told from a slow change
 * (src/metric/throughput.ts decides contention from steps/s; this says why).
 */
import { execFile } from "node:child_process";
import { cpus, loadavg } from "node:os";
import type { RunLoad } from "../types.js";
import { which } from "./which.js";

export interface LoadSample {
  load: number;
  /** GPU compute processes nvidia-smi lists; undefined without nvidia-smi. */
  gpuProcesses?: number;
}

/** Counts the lines of `nvidia-smi --query-compute-apps=pid --format=csv,noheader`. */
export function countGpuProcesses(output: string): number {
  return output.split("\n").filter((l) => /^\s*\d+\s*$/.test(l)).length;
}

const NVIDIA_SMI_TIMEOUT_MS = 3000;

function gpuProcesses(smi: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile(smi, ["--query-compute-apps=pid", "--format=csv,noheader"], { timeout: NVIDIA_SMI_TIMEOUT_MS }, (error, stdout) => {
      resolve(error ? undefined : countGpuProcesses(String(stdout)));
    });
  });
}

export interface LoadReader {
  sample(): Promise<LoadSample>;
}

/** Reads this machine's load; nvidia-smi is looked up once (a run on a GPU-less machine asks nothing). */
export function localLoadReader(env: NodeJS.ProcessEnv = process.env): LoadReader {
  let smi: string | null | undefined;
  return {
    async sample() {
      // Looked up once, found or not (`??=` would look again for every run where it is absent).
      if (smi === undefined) smi = which("nvidia-smi", env);
      const load = Number((loadavg()[0] ?? 0).toFixed(2));
      const gpu = smi ? await gpuProcesses(smi) : undefined;
      return { load, ...(gpu !== undefined && { gpuProcesses: gpu }) };
    },
  };
}

/** The machine's cores, counted once: os.cpus() reads /proc and /sys for every core, each run. */
let cores: number | undefined;

/**
 * The run's load from its two samples. The run's own process is not in either (the start sample
 * is taken before it starts, the end one after it exited), so the GPU processes seen are others'.
 */
export function runLoad(start: LoadSample, end: LoadSample): RunLoad {
  const gpu = [start.gpuProcesses, end.gpuProcesses].filter((n): n is number => n !== undefined);
  cores ??= cpus().length;
  return { loadStart: start.load, loadEnd: end.load, cores, ...(gpu.length > 0 && { otherGpuProcesses: Math.max(...gpu) }) };
}

/** "load 3.2 -> 5.1 on 2 cores; 1 other GPU process". */
export function describeLoad(load: RunLoad): string {
  const gpu = load.otherGpuProcesses === undefined ? "" : `; ${load.otherGpuProcesses} other GPU process${load.otherGpuProcesses === 1 ? "" : "es"}`;
  return `load ${load.loadStart} -> ${load.loadEnd} on ${load.cores} core${load.cores === 1 ? "" : "s"}${gpu}`;
}
