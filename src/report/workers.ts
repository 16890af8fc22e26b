import { escapeMarkdown, formatElapsed } from "./format.js";
import type { ReportExperiment } from "./model.js";

/**
 * Per-worker throughput and device utilisation of a session with several workers (issue 13):
 * pure functions of the records, shared by the progress report, the summary, the chart and
 * `status`. A device is busy while one of its experiments runs: from `runStartedAt` (after any
 * wait in a cluster queue; the record's `startedAt` when the run start was not recorded) to
 * `finishedAt`. Overlapping runs on one device count once.
 */

export interface WorkerStats {
  worker: number;
  /** The device it was pinned to ("0", "cuda:1"), null when it had none. */
  device: string | null;
  host: string | null;
  /** Experiments it ran that were decided (the baseline not counted). */
  decided: number;
  /** `decided` per hour of the session's wall time. */
  perHour: number;
  /** Seconds it had an experiment running (the baseline included). */
  busySec: number;
  /** busySec ÷ the session's wall time, 0..1. */
  utilisation: number;
}

export interface DeviceStats {
  /** `host:device`, the device alone, or `w<k>` for a worker with no device. */
  device: string;
  workers: number[];
  busySec: number;
  utilisation: number;
}

export interface WorkersView {
  /** The session's wall time the shares are of, in seconds. */
  wallSec: number;
  workers: WorkerStats[];
  devices: DeviceStats[];
}

type Timed = Pick<ReportExperiment, "iteration" | "startedAt" | "finishedAt" | "worker" | "device" | "host" | "runStartedAt" | "pendingSec">;

/** [start, end) in ms of an experiment's run on its device, or null when its times are unknown. */
export function runInterval(e: Timed): [number, number] | null {
  const end = e.finishedAt ? Date.parse(e.finishedAt) : Number.NaN;
  let start = e.runStartedAt ? Date.parse(e.runStartedAt) : Number.NaN;
  // Without a recorded run start, the time it waited in a queue is still not device time.
  if (Number.isNaN(start) && e.startedAt) start = Date.parse(e.startedAt) + (e.pendingSec ?? 0) * 1000;
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return null;
  return [start, end];
}

/** Total length of the union of intervals, each clipped to [lo, hi]. */
export function unionSec(intervals: readonly [number, number][], lo: number, hi: number): number {
  const clipped = intervals
    .map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const [a, b] of clipped) {
    if (Number.isNaN(curEnd) || a > curEnd) {
      if (!Number.isNaN(curEnd)) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (!Number.isNaN(curEnd)) total += curEnd - curStart;
  return total / 1000;
}

function deviceKey(e: Timed): string {
  const device = e.device ?? null;
  if (device === null) return `w${e.worker}`;
  return e.host ? `${e.host}:${device}` : device;
}

/**
 * The view, or null when the session ran on fewer than two workers (nothing to compare) or its
 * wall time is unknown. `session`: its start (default: the first experiment's) and end (default:
 * the last finish; `now` while it runs).
 */
export function workersView(experiments: readonly Timed[], session: { startedAt?: string | null; endMs?: number } = {}): WorkersView | null {
  const withWorker = experiments.filter((e): e is Timed & { worker: number } => typeof e.worker === "number");
  const ids = [...new Set(withWorker.map((e) => e.worker))].sort((a, b) => a - b);
  if (ids.length < 2) return null;
  const times = (pick: (e: Timed) => string | null) => experiments.map((e) => Date.parse(pick(e) ?? "")).filter((t) => !Number.isNaN(t));
  const lo = session.startedAt ? Date.parse(session.startedAt) : Math.min(...times((e) => e.startedAt));
  const hi = session.endMs ?? Math.max(...times((e) => e.finishedAt));
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return null;
  const wallSec = (hi - lo) / 1000;
  const workers: WorkerStats[] = ids.map((worker) => {
    const mine = withWorker.filter((e) => e.worker === worker);
    const last = mine.at(-1) as Timed;
    const busySec = unionSec(mine.map(runInterval).filter((i) => i !== null), lo, hi);
    const decided = mine.filter((e) => e.iteration > 0).length;
    return { worker, device: last.device ?? null, host: last.host ?? null, decided, perHour: decided / (wallSec / 3600), busySec, utilisation: Math.min(1, busySec / wallSec) };
  });
  const byDevice = new Map<string, (Timed & { worker: number })[]>();
  for (const e of withWorker) byDevice.set(deviceKey(e), [...(byDevice.get(deviceKey(e)) ?? []), e]);
  const devices: DeviceStats[] = [...byDevice.entries()].map(([device, list]) => {
    const busySec = unionSec(list.map(runInterval).filter((i) => i !== null), lo, hi);
    return { device, workers: [...new Set(list.map((e) => e.worker))].sort((a, b) => a - b), busySec, utilisation: Math.min(1, busySec / wallSec) };
  });
  return { wallSec, workers, devices };
}

/** "87%". */
export function formatShare(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** "4.2". */
export function formatRate(perHour: number): string {
  return perHour >= 10 ? perHour.toFixed(0) : perHour.toFixed(1);
}

/** Where a worker ran, in words: `gpu1:0`, `0`, or `—`. */
export function workerPlace(w: Pick<WorkerStats, "device" | "host">): string {
  if (w.device === null) return w.host ?? "—";
  return w.host ? `${w.host}:${w.device}` : w.device;
}

/** The markdown table the progress report and the summary show. */
export function workersTable(view: WorkersView): string[] {
  const cell = (text: string) => escapeMarkdown(text, 60);
  const rows = view.workers.map((w) => `| w${w.worker} | ${cell(workerPlace(w))} | ${w.decided} | ${formatRate(w.perHour)} | ${formatElapsed(w.busySec)} | ${formatShare(w.utilisation)} |`);
  const lines = ["| Worker | Device | Decided | Per hour | Busy | Utilisation |", "|--------|--------|---------|----------|------|-------------|", ...rows];
  // Devices shared by several workers (or a worker that moved) are worth their own line.
  const shared = view.devices.filter((d) => d.workers.length > 1);
  if (shared.length > 0) {
    lines.push("", `Devices shared by several workers: ${shared.map((d) => `${cell(d.device)} ${formatShare(d.utilisation)} busy (w${d.workers.join(", w")})`).join("; ")}.`);
  }
  return lines;
}
