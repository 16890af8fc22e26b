import { oneLine } from "../text.js";
import type { ResultsRow, Status } from "../types.js";

/**
 * results.tsv as the spec shows it: tab-separated, 7-char commit, metric with 6 decimals,
 * memory in GB with one decimal, status, one-line description; crashes show "—".
 * The reader also accepts Karpathy's original format (`memory_gb` header, 0.000000 on crash).
 */

export const MISSING = "—";
const STATUSES: readonly Status[] = ["keep", "discard", "crash"];

export function resultsHeader(metricName: string): string {
  return `commit\t${cleanField(metricName)}\tmem_gb\tstatus\tdescription\n`;
}

/** Tabs and newlines would break the table; control characters would break terminals. */
export function cleanField(text: string): string {
  return oneLine(text);
}

export function formatRow(row: ResultsRow): string {
  const metric = row.metric === null || !Number.isFinite(row.metric) ? MISSING : row.metric.toFixed(6);
  const mem = row.memGb === null || !Number.isFinite(row.memGb) ? MISSING : row.memGb.toFixed(1);
  return `${row.commit.slice(0, 7)}\t${metric}\t${mem}\t${row.status}\t${cleanField(row.description)}\n`;
}

export interface ParsedResults {
  metricName: string;
  /** "autoresearch" for this tool's files, "karpathy" for `memory_gb` files. */
  format: "autoresearch" | "karpathy";
  rows: ResultsRow[];
  /** Lines that could not be read, with their 1-based line numbers. */
  skipped: { line: number; text: string }[];
}

function parseNumber(text: string): number | null {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === MISSING || trimmed === "-" || trimmed === "--") return null;
  const value = Number(trimmed);
  return Number.isNaN(value) && !/^nan$/i.test(trimmed) ? null : value;
}

export function parseResults(text: string): ParsedResults {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").split("\t");
  if (header.length < 5 || header[0]?.trim() !== "commit") {
    throw new Error("not a results file: the first line must be `commit<TAB><metric><TAB>mem_gb<TAB>status<TAB>description`");
  }
  const format = header[2]?.trim() === "memory_gb" ? "karpathy" : "autoresearch";
  const rows: ResultsRow[] = [];
  const skipped: ParsedResults["skipped"] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === "") continue;
    const cells = line.split("\t");
    const status = cells[3]?.trim() as Status;
    if (cells.length < 4 || !STATUSES.includes(status)) {
      skipped.push({ line: i + 1, text: line });
      continue;
    }
    let metric = parseNumber(cells[1] ?? "");
    let memGb = parseNumber(cells[2] ?? "");
    // Karpathy's format writes zeros for a crash's metric and memory.
    if (status === "crash" && format === "karpathy") {
      if (metric === 0) metric = null;
      if (memGb === 0) memGb = null;
    }
    rows.push({ commit: (cells[0] ?? "").trim(), metric, memGb, status, description: cells.slice(4).join(" ").trim() });
  }
  return { metricName: (header[1] ?? "metric").trim(), format, rows, skipped };
}
