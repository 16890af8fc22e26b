/**
 * Executor local: runs on this machine, one worker per visible GPU when asked for `auto`, pinned
 * with CUDA_VISIBLE_DEVICES; nothing to check beyond what every run needs.
 */
import { UsageError } from "../errors.js";
import type { ExecutorDescriptor, ResolvedSlots, SlotsConfig, SlotsPlatform } from "./descriptor.js";
import { LocalExecutor } from "./local.js";
import { numbered } from "./slots.js";

function localSlots(config: SlotsConfig, platform: SlotsPlatform): ResolvedSlots {
  const asked = config.workers ?? 1;
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

export const LOCAL: ExecutorDescriptor = {
  kind: "local",
  create: () => new LocalExecutor(),
  ownOptions: [],
  slots: localSlots,
  reattachable: false,
  // Its platform was probed on this machine already.
  remotePlatform: false,
  queues: false,
  showsHandle: false,
};
