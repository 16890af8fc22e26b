/**
 * Durations as people type them: "90s", "5m", "1h30m", "2h", "1.5m" or plain seconds "300".
 * Returns seconds, or null when the text is not a positive duration.
 */
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

export function parseDuration(text: string | number): number | null {
  if (typeof text === "number") return Number.isFinite(text) && text > 0 ? text : null;
  const trimmed = text.trim().toLowerCase().replace(/\s+/g, "");
  if (trimmed === "") return null;
  if (/^\d+(\.\d+)?$/.test(trimmed)) {
    const value = Number(trimmed);
    return value > 0 ? value : null;
  }
  const full = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s))+$/;
  if (!full.test(trimmed)) return null;
  let total = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) {
    total += Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
  }
  return total > 0 ? total : null;
}

/** 300 -> "5m", 5400 -> "1h30m", 3 -> "3s", 2.5 -> "2.5s". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Number((seconds % 60).toFixed(3));
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}

export const DURATION_HELP = "a positive duration like 90s, 5m, 1h30m or a number of seconds";
