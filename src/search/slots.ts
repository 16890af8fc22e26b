/**
 * Worker slots: how many experiments run at once and where, resolved once at session setup from
 * `workers`, `devices`, `executor` and `hosts`, and stored in session.json (resume and status use
 * the same). Worker k runs in its own clone and, when its slot has a device, with
 * CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES set to it.
 */
import type { ResearchConfig } from "../config/options.js";
import type { CheckedConfig } from "../config/resolve.js";
import { UsageError } from "../errors.js";
import type { WorkerSlot } from "../ledger/ledger.js";
import type { PlatformInfo } from "../types.js";
import { WorkerClone } from "../workspace/clone.js";
import type { Git } from "../workspace/git.js";
import { DEFAULT_SHARE, resolveShared } from "../workspace/shared.js";

export interface ResolvedSlots {
  slots: WorkerSlot[];
  /** Said once at the start (runs that will compete for one device). */
  warnings: string[];
}

/**
 * A new session's settings after the one resolve-and-check: the checked config and its worker
 * slots. research() makes it once and hands it to setup, which checks nothing again.
 */
export interface ResolvedSession extends CheckedConfig {
  slots: ResolvedSlots;
}

/** The checked config with its slots; throws UsageError for workers, devices and hosts that cannot work together. */
export function resolveSession(checked: CheckedConfig, platform: Pick<PlatformInfo, "kind" | "gpuCount">): ResolvedSession {
  return { ...checked, slots: resolveSlots(checked.config, platform) };
}

/** `gpu1,gpu2:0+1` (already split on commas): gpu1 one slot with no device, gpu2 slots on devices 0 and 1. */
export function hostSlots(hosts: readonly string[]): WorkerSlot[] {
  const slots: WorkerSlot[] = [];
  for (const item of hosts) {
    const colon = item.lastIndexOf(":");
    const host = colon > 0 ? item.slice(0, colon) : item;
    const devices = colon > 0 ? item.slice(colon + 1).split("+").map((d) => d.trim()).filter(Boolean) : [];
    if (devices.length === 0) slots.push({ worker: slots.length, device: null, host });
    for (const device of devices) slots.push({ worker: slots.length, device, host });
  }
  return slots;
}

function numbered(devices: readonly (string | null)[], host?: string): WorkerSlot[] {
  return devices.map((device, worker) => ({ worker, device, ...(host !== undefined && { host }) }));
}

/** The slots of a new session. Throws UsageError (exit 2, nothing changed) for a combination that cannot work. */
export function resolveSlots(config: Pick<ResearchConfig, "workers" | "devices" | "executor" | "hosts">, platform: Pick<PlatformInfo, "kind" | "gpuCount">): ResolvedSlots {
  const asked = config.workers ?? 1;
  const executor = config.executor ?? "local";
  if (executor === "ssh") {
    if (!config.hosts?.length) throw new UsageError("executor ssh needs --hosts", "Name the hosts, e.g. --hosts gpu1,gpu2:0+1 (devices of a host joined by +).");
    const all = hostSlots(config.hosts);
    const slots = asked === "auto" ? all : all.slice(0, asked);
    if (asked !== "auto" && asked > all.length) {
      throw new UsageError(`--workers ${asked} but --hosts gives ${all.length} slot(s)`, "Give each host its devices (gpu2:0+1 is two slots), or ask for fewer workers.");
    }
    return { slots: slots.map((s, worker) => ({ ...s, worker })), warnings: [] };
  }
  if (executor === "slurm") {
    // SLURM assigns the GPU of each job: the slots carry no device.
    if (asked === "auto") throw new UsageError("--workers auto counts this machine's GPUs, not the cluster's", "Give the number of jobs to keep running at once, e.g. --workers 4.");
    return { slots: numbered(Array.from({ length: asked }, () => null)), warnings: [] };
  }
  const gpus = platform.kind === "cuda" ? (platform.gpuCount ?? 1) : 0;
  if (config.devices?.length) {
    const n = asked === "auto" ? config.devices.length : asked;
    if (n > config.devices.length) {
      throw new UsageError(
        `--workers ${n} but only ${config.devices.length} device(s) given (--devices ${config.devices.join(",")})`,
        `Give one device per worker (e.g. --devices ${Array.from({ length: n }, (_, i) => i).join(",")}) or ask for fewer workers.`,
      );
    }
    return { slots: numbered(config.devices.slice(0, n)), warnings: [] };
  }
  if (asked === "auto") {
    // One per visible GPU; on CPU or MPS one worker (more only when asked for by number).
    return { slots: gpus > 1 ? numbered(Array.from({ length: gpus }, (_, i) => String(i))) : numbered([null]), warnings: [] };
  }
  if (asked === 1) return { slots: numbered([null]), warnings: [] };
  if (gpus >= asked) return { slots: numbered(Array.from({ length: asked }, (_, i) => String(i))), warnings: [] };
  if (gpus > 0) {
    throw new UsageError(
      `--workers ${asked} but ${gpus} GPU(s) are visible`,
      `Ask for at most ${gpus} workers (or --workers auto), or pin them yourself with --devices (one per worker).`,
    );
  }
  const where = platform.kind === "mps" ? "the one Apple GPU" : "the CPU";
  return {
    slots: numbered(Array.from({ length: asked }, () => null)),
    warnings: [`${asked} workers on ${where}: their runs compete for it, so each run gets less of it than one run alone would (metrics measured on a fixed time budget drop)`],
  };
}

/** The environment a worker's runs get on top of the session's. */
export function slotEnv(slot: WorkerSlot): Record<string, string> {
  return {
    AUTORESEARCH_WORKER: String(slot.worker),
    ...(slot.device !== null && { CUDA_VISIBLE_DEVICES: slot.device, HIP_VISIBLE_DEVICES: slot.device }),
  };
}

/** The slots a session records; sessions from before workers have one, without a device. */
export function sessionSlots(info: { slots?: WorkerSlot[] }): WorkerSlot[] {
  return info.slots?.length ? info.slots : [{ worker: 0, device: null }];
}

/** A throwaway clone at `dir` for runs or proposals, with the user's shared paths (data, .venv) made available in it. */
export async function cloneFor(git: Git, root: string, config: ResearchConfig, dir: string): Promise<WorkerClone> {
  const objects = await git.gitPath("objects");
  const shareRoots = config.share === false ? [] : [...DEFAULT_SHARE, ...(config.share ?? [])];
  return new WorkerClone(dir, git, objects, await resolveShared(git, root, shareRoots));
}
