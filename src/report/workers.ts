import { escapeMarkdown, formatElapsed } from "./format.js";
import type { ReportExperiment } from "./model.js";

/**
 * Per-worker throughput and device utilisation of a session with several workers (idle devices are wasted budget):
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
  // Most sessions have one worker (or none recorded): nothing to parse.
  const firstWorker = experiments.find((e) => typeof e.worker === "number")?.worker;
  if (firstWorker === undefined || !experiments.some((e) => typeof e.worker === "number" && e.worker !== firstWorker)) return null;
  // One pass: each worker's and each device's run intervals (parsed once), and the session's span.
  const workers = new Map<number, { device: string | null; host: string | null; decided: number; intervals: [number, number][] }>();
  const devices = new Map<string, { workers: Set<number>; intervals: [number, number][] }>();
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const e of experiments) {
    const s = e.startedAt ? Date.parse(e.startedAt) : Number.NaN;
    const f = e.finishedAt ? Date.parse(e.finishedAt) : Number.NaN;
    if (s < first) first = s;
    if (f > last) last = f;
    if (typeof e.worker !== "number") continue;
    let w = workers.get(e.worker);
    if (!w) {
      w = { device: null, host: null, decided: 0, intervals: [] };
      workers.set(e.worker, w);
    }
    w.device = e.device ?? null;
    w.host = e.host ?? null;
    if (e.iteration > 0) w.decided++;
    const key = deviceKey(e);
    let d = devices.get(key);
    if (!d) {
      d = { workers: new Set(), intervals: [] };
      devices.set(key, d);
    }
    d.workers.add(e.worker);
    const interval = runInterval(e);
    if (interval) {
      w.intervals.push(interval);
      d.intervals.push(interval);
    }
  }
  if (workers.size < 2) return null;
  const lo = session.startedAt ? Date.parse(session.startedAt) : first;
  const hi = session.endMs ?? last;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) return null;
  const wallSec = (hi - lo) / 1000;
  const share = (busySec: number) => Math.min(1, busySec / wallSec);
  return {
    wallSec,
    workers: [...workers.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([worker, w]) => {
        const busySec = unionSec(w.intervals, lo, hi);
        return { worker, device: w.device, host: w.host, decided: w.decided, perHour: w.decided / (wallSec / 3600), busySec, utilisation: share(busySec) };
      }),
    devices: [...devices.entries()].map(([device, d]) => {
      const busySec = unionSec(d.intervals, lo, hi);
      return { device, workers: [...d.workers].sort((a, b) => a - b), busySec, utilisation: share(busySec) };
    }),
  };
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
