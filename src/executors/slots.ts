import type { WorkerSlot } from "../types.js";

/** Slots 0..n-1 on these devices (null: not pinned), all on one host when given. */
export function numbered(devices: readonly (string | null)[], host?: string): WorkerSlot[] {
  return devices.map((device, worker) => ({ worker, device, ...(host !== undefined && { host }) }));
}
