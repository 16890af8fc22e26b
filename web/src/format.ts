import type { ExperimentSummary } from "../../src/dashboard/model.js";

// The page judges a change with the comparison the loop decides with (src/metric/compare.ts):
// a delta d is shown as better when isBetter(d, 0, direction), better than no change at all.
export type { Direction } from "../../src/types.js";

export function fmtMetric(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : value.toFixed(6);
}

export function fmtDelta(value: number | null): string {
  if (value === null) return "";
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value).toFixed(6)}`;
}

export function delta(e: ExperimentSummary): number | null {
  return e.metric === null || e.bestBefore === null ? null : e.metric - e.bestBefore;
}

export function fmtDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return "—";
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 1 : 0)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(Math.round(sec % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function fmtCost(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
