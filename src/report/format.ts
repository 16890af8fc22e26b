import { MISSING } from "../ledger/results-tsv.js";

/**
 * Number and text formatting shared by every report. Metrics use 6 decimals everywhere (as
 * results.tsv stores them), deltas are signed, percentages have 2 decimals, commits 7 chars.
 */

export { MISSING };

/** 0.9821 -> "0.982100"; tiny non-zero values switch to exponent form so they stay visible. */
export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  const abs = Math.abs(value);
  if (abs !== 0 && abs < 5e-7) return value.toExponential(5);
  return value.toFixed(6);
}

/** Signed: "+0.002000", "-0.015800", "+0.000000". */
export function formatDelta(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING;
  const abs = Math.abs(value);
  const body = abs !== 0 && abs < 5e-7 ? abs.toExponential(5) : abs.toFixed(6);
  return `${value < 0 ? "-" : "+"}${body}`;
}

/** Signed percent with 2 decimals: "-1.58%". Null when the reference is 0 or unknown. */
export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "n/a";
  const rounded = Math.abs(value) < 0.005 ? 0 : value;
  return `${rounded < 0 ? "-" : "+"}${Math.abs(rounded).toFixed(2)}%`;
}

/** Git shas become 7 chars; anything else ("baseline") is kept as written. */
export function shortCommit(commit: string | null | undefined): string {
  if (!commit) return MISSING;
  return /^[0-9a-f]{7,64}$/i.test(commit) ? commit.slice(0, 7) : commit;
}

/** Elapsed time as HH:MM:SS (hours may exceed 99). */
export function formatElapsed(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "unknown";
  const whole = Math.floor(seconds);
  const two = (n: number) => String(n).padStart(2, "0");
  // The spec's HH:MM, with the seconds: a short session (and `status` a minute in) still moves.
  return `${two(Math.floor(whole / 3600))}:${two(Math.floor(whole / 60) % 60)}:${two(whole % 60)}`;
}

/** 300 -> "5 minutes", 90 -> "1 minute 30 seconds", 45 -> "45 seconds". */
export function formatBudget(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return "unknown";
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds < 60) return plural(Number(seconds.toFixed(3)), "second");
  const minutes = Math.floor(seconds / 60);
  const rest = Number((seconds - minutes * 60).toFixed(3));
  return rest === 0 ? plural(minutes, "minute") : `${plural(minutes, "minute")} ${plural(rest, "second")}`;
}

/** "2025-03-08 22:14 UTC". */
export function formatTimestamp(iso: string | null | undefined): string | null {
  if (!iso) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
}

export function formatDateRange(start: string | null, end: string | null): string {
  const a = formatTimestamp(start);
  const b = formatTimestamp(end);
  if (!a && !b) return "unknown";
  if (!a || !b) return (a ?? b) as string;
  return `${a.replace(/ UTC$/, "")} → ${b}`;
}

export function formatInteger(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Cuts at `max` characters (by code point) with an ellipsis. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join("").trimEnd()}…`;
}

export { oneLine } from "../text.js";

import { oneLine } from "../text.js";

/**
 * Text from a model or a results file made safe for a markdown table cell or inline text:
 * one line, and nothing that could close a cell, open code, emphasis or a link, or open an HTML
 * tag (`<` becomes `&lt;`; `>` and `&` are harmless mid-line and stay readable in the raw file).
 */
export function escapeMarkdown(text: string, max = 120): string {
  return escapeChars(truncate(oneLine(text), max));
}

/** Markdown's special characters escaped, and `<` (no HTML from a description). */
function escapeChars(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/</g, "&lt;")
    .replace(/([|`*[\]~])/g, "\\$1")
    .replace(/_/g, (_m, at: number, all: string) => (isWordChar(all[at - 1]) && isWordChar(all[at + 1]) ? "_" : "\\_"));
}

/**
 * Our own prose for markdown (a footer line, a note): escaped as escapeMarkdown does, but its code
 * spans (`autoresearch finalize`) stay code, where escaping showed their backticks with a backslash.
 */
export function escapeProse(text: string, max = 400): string {
  return truncate(oneLine(text), max)
    .split(/(`[^`]+`)/)
    .map((part, i) => (i % 2 === 1 ? part : escapeChars(part)))
    .join("");
}

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

/** A markdown table from already-escaped cells. */
export function markdownTable(header: string[], rows: string[][], separator?: string): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const sep = separator ?? `|${header.map((h) => "-".repeat(h.length + 2)).join("|")}|`;
  return [line(header), sep, ...rows.map(line)].join("\n");
}

/** Where a run runs, as `host:device`, `host`, `device` or "" (local, no device). */
export function formatPlace(host: string | null | undefined, device: string | null | undefined): string {
  return [host, device].filter((p) => p !== undefined && p !== null && p !== "").join(":");
}

/** A run's progress through its budget: `███░░░ 12s/5m`, the bar `width` cells wide. */
export function budgetProgress(elapsedSec: number, budgetSec: number, width: number, formatBudget: (sec: number) => string): string {
  const filled = budgetSec > 0 ? Math.min(width, Math.round((elapsedSec / budgetSec) * width)) : 0;
  return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${elapsedSec.toFixed(0)}s/${formatBudget(budgetSec)}`;
}
