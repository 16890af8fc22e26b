/**
 * Worker slots: how many experiments run at once and where, resolved once at session setup from
 * `workers`, `devices`, `executor` and `hosts`, and stored in session.json (resume and status use
 * the same). Worker k runs in its own clone and, when its slot has a device, with
 * CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES set to it.
 */
import type { ResearchConfig } from "../config/options.js";
import type { CheckedConfig } from "../config/resolve.js";
import type { ResolvedSlots, SlotsConfig, SlotsPlatform } from "../executors/descriptor.js";
import { executorSlots } from "../executors/registry.js";
import type { WorkerSlot } from "../types.js";
import { WorkerClone } from "../workspace/clone.js";
import type { Git } from "../workspace/git.js";
import { DEFAULT_SHARE, resolveShared } from "../workspace/shared.js";

export type { ResolvedSlots } from "../executors/descriptor.js";
export { hostSlots } from "../executors/ssh/slots.js";

/**
 * A new session's settings after the one resolve-and-check: the checked config and its worker
 * slots. research() makes it once and hands it to setup, which checks nothing again.
 */
export interface ResolvedSession extends CheckedConfig {
  slots: ResolvedSlots;
}

/** The checked config with its slots; throws UsageError for workers, devices and hosts that cannot work together. */
export function resolveSession(checked: CheckedConfig, platform: SlotsPlatform): ResolvedSession {
  return { ...checked, slots: resolveSlots(checked.config, platform) };
}

/** The slots of a new session, as its executor lays them out. Throws UsageError (exit 2, nothing changed) for a combination that cannot work. */
export function resolveSlots(config: SlotsConfig, platform: SlotsPlatform): ResolvedSlots {
  return executorSlots(config, platform);
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
