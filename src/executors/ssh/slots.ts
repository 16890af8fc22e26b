import { UsageError } from "../../errors.js";
import type { WorkerSlot } from "../../types.js";
import type { ResolvedSlots, SlotsConfig } from "../descriptor.js";

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

/** Each slot a host (and a device there), in the order given; `--workers n` takes the first n. */
export function sshSlots(config: SlotsConfig): ResolvedSlots {
  const asked = config.workers ?? 1;
  if (!config.hosts?.length) throw new UsageError("executor ssh needs --hosts", "Name the hosts, e.g. --hosts gpu1,gpu2:0+1 (devices of a host joined by +).");
  const all = hostSlots(config.hosts);
  const slots = asked === "auto" ? all : all.slice(0, asked);
  if (asked !== "auto" && asked > all.length) {
    throw new UsageError(`--workers ${asked} but --hosts gives ${all.length} slot(s)`, "Give each host its devices (gpu2:0+1 is two slots), or ask for fewer workers.");
  }
  return { slots: slots.map((s, worker) => ({ ...s, worker })), warnings: [] };
}
