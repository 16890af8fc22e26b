/**
 * The leftovers (src/ledger/leftovers.ts) in words, for `sessions` (its section) and `clean`
 * (its plan): what each one is, its size and its age.
 */
import type { Leftover } from "../ledger/leftovers.js";
import { fitWidth } from "../text.js";

/** 512 -> "512 B", 1536 -> "1.5 KiB", ... */
export function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** How long ago `then` was: "40 s", "12 min", "5 h", "3 days". */
export function formatAge(then: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 90) return `${min} min`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} days`;
}

const KIND = { demo: "demo repo", "failed-start": "failed start" } as const;

/** "demo repo  /tmp/autoresearch-demo-Ab12Cd  1.2 MiB, 3 days old"; a failed start also says where it is. */
export function leftoverText(leftover: Leftover, now: Date): string {
  const where = leftover.kind === "demo" ? "" : ` in ${leftover.path}`;
  return `${KIND[leftover.kind]} ${leftover.id} (${formatSize(leftover.bytes)}, ${formatAge(leftover.modifiedAt, now)} old)${where}`;
}

/**
 * The section `sessions` prints under its table; empty when there is nothing left over. Each line
 * is broken to `width` columns (undefined: whole lines), the rest of an entry indented under it.
 */
export function renderLeftovers(leftovers: readonly Leftover[], now: Date, width?: number): string {
  if (leftovers.length === 0) return "";
  const lines = leftovers.map((l) => fitWidth(`  ${leftoverText(l, now)}${l.inUse ? ` — in use: ${l.inUse}` : ""}`, width, "  "));
  return `\n${fitWidth("Leftovers (`autoresearch clean --leftovers` removes them; it asks first):", width, "  ")}\n${lines.join("\n")}\n`;
}
