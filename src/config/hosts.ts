/**
 * `--hosts` entries: `gpu1` (one slot, the host's default device) or `gpu2:0+1` (one slot per
 * listed device, exported as CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES there). The host part is
 * passed to the system ssh as a destination, so it must be a name ssh reads as one: an alias
 * from the user's ssh config, `user@host` or an address, never something starting with `-`.
 */
import { UsageError } from "../errors.js";

export interface HostEntry {
  host: string;
  /** Device ids on that host; empty = one slot, no device pinned. */
  devices: string[];
}

const HOST = /^[A-Za-z0-9_][A-Za-z0-9_.@%-]*$/;
/** A device index or an NVIDIA GPU/MIG uuid (what CUDA_VISIBLE_DEVICES accepts). */
const DEVICE = /^(\d+|(GPU|MIG)-[0-9A-Fa-f][0-9A-Fa-f/-]*)$/;

const FIX = "Write each host as a name from your ssh config, optionally with its devices joined by +, e.g. --hosts gpu1,gpu2:0+1.";

export function parseHostEntry(entry: string): HostEntry {
  const colon = entry.indexOf(":");
  const host = colon < 0 ? entry : entry.slice(0, colon);
  if (!HOST.test(host)) throw new UsageError(`--hosts entry ${JSON.stringify(entry)}: ${JSON.stringify(host)} is not an ssh host name`, FIX);
  if (colon < 0) return { host, devices: [] };
  const devices = entry.slice(colon + 1).split("+");
  const bad = devices.find((d) => !DEVICE.test(d));
  if (bad !== undefined) {
    throw new UsageError(`--hosts entry ${JSON.stringify(entry)}: ${bad === "" ? "an empty device" : `device ${JSON.stringify(bad)} is not a GPU index or uuid`}`, FIX);
  }
  if (new Set(devices).size !== devices.length) throw new UsageError(`--hosts entry ${JSON.stringify(entry)} lists a device twice`, FIX);
  return { host, devices };
}

/** What is wrong with a --devices list (each a GPU index or uuid, none twice: two workers on one GPU share it), or null. */
export function devicesProblem(devices: readonly string[]): string | null {
  if (devices.length === 0) return "no device listed";
  const bad = devices.find((d) => !DEVICE.test(d));
  if (bad !== undefined) return `device ${JSON.stringify(bad)} is not a GPU index or uuid (e.g. 0,1 or GPU-5f3c...)`;
  const twice = devices.find((d, i) => devices.indexOf(d) !== i);
  return twice === undefined ? null : `device ${twice} is listed twice (one worker a device)`;
}

/** Every entry checked; a host listed twice is refused (its devices belong in one entry). */
export function parseHosts(entries: readonly string[]): HostEntry[] {
  const parsed = entries.map(parseHostEntry);
  const seen = new Set<string>();
  for (const { host } of parsed) {
    if (seen.has(host)) throw new UsageError(`--hosts lists ${host} twice`, `List each host once and join its devices with +, e.g. ${host}:0+1.`);
    seen.add(host);
  }
  return parsed;
}

/** `--hosts` as given (a string or a list, each item comma-separated) to one list of host entries' text. */
export function hostList(value: unknown): string[] {
  return ([] as string[])
    .concat(value as string | string[])
    .flatMap((item) => item.split(","))
    .map((item) => item.trim())
    .filter(Boolean);
}
