import { writeAtomic } from "../ledger/files.js";
import type { SessionPaths } from "../ledger/paths.js";
import { type MemoryView, memoryMarkdown, memoryView } from "../ledger/memory.js";
import type { Status } from "../types.js";
import {
  MISSING,
  escapeMarkdown,
  formatDelta,
  formatElapsed,
  formatMetric,
  formatPercent,
  markdownTable,
  shortCommit,
} from "./format.js";
import { analyze, reRunNote, type SessionData } from "./model.js";
import { bestStanding, keepsWithinNoise, noiseLine } from "./noise.js";
import { type WorkersView, workersTable, workersView } from "./workers.js";

/** Spec 2.6: the progress report, every N iterations and on demand (`autoresearch status`). */

export interface ProgressOptions {
  /** Clock for "Time elapsed"; default: now. */
  now?: Date | number;
  /** Experiments after the baseline; null = unlimited. Default: the session's config. */
  maxIterations?: number | null;
  /** What the agent is exploring next; default: the latest experiment's `direction`. */
  currentDirection?: string | null;
  /** Start of the session; default: session.json's startedAt, else the first experiment's. */
  startedAt?: string | null;
}

export interface ProgressSnapshot {
  metricName: string;
  metricDirection: "min" | "max";
  /**
   * The iterations completed (experiments decided after the baseline; 0 = only the baseline so
   * far): the spec's header. The same as the latest experiment's number in a session numbered
   * without gaps; an older session's records may have gaps, and its header still counts.
   */
  iteration: number;
  /** `measured`: the metric is the mean of its runs (re-runs included), not its first recorded one. */
  best: { metric: number | null; iteration: number; commit: string; measured?: boolean } | null;
  baseline: { metric: number | null; commit: string } | null;
  delta: number | null;
  deltaPct: number | null;
  completed: number;
  maxIterations: number | null;
  elapsedSec: number | null;
  recent: { iteration: number; commit: string; metric: number | null; status: Status; description: string }[];
  currentDirection: string | null;
  counts: Record<Status, number>;
  /** The research notes shown now (findings, dead ends, a window of the ideas backlog). */
  notes: MemoryView;
  /** The noise floor line and the kept changes within noise (absent when the data has no noise info). */
  noise?: { line: string; withinNoise: number[] };
  /** "7 of 40 runs were re-run for contention (...)", when any was. */
  contention?: string;
  /** How the best stands above the baseline when that could be luck (within noise, or never re-measured): said on the noise line. */
  bestStanding?: string;
  /** Per-worker throughput and device utilisation, when more than one worker ran experiments. */
  workers?: WorkersView;
}

export function progressSnapshot(data: SessionData, options: ProgressOptions = {}): ProgressSnapshot {
  const a = analyze(data);
  const now = options.now === undefined ? Date.now() : typeof options.now === "number" ? options.now : options.now.getTime();
  const started = options.startedAt !== undefined ? options.startedAt : a.startedAt;
  const startMs = started ? Date.parse(started) : Number.NaN;
  const maxIterations =
    options.maxIterations !== undefined ? options.maxIterations : (data.session?.config?.maxIterations ?? null);
  let latestDirection: string | null = null;
  for (let i = data.experiments.length - 1; i >= 0 && latestDirection === null; i--) latestDirection = data.experiments[i]?.direction ?? null;
  // Shares of the time from the session's start to its latest decision: runs still going are not in the records yet.
  const workers = workersView(data.experiments, { startedAt: started });
  const standing = bestStanding(data, a);
  return {
    metricName: data.metricName,
    metricDirection: data.direction,
    iteration: a.iterations,
    // The head's measured metric (metric/noise.ts measuredMeans: re-runs and `confirm`'s included): what decisions compare with.
    best: a.best ? { metric: a.bestMetric, iteration: a.best.iteration, commit: a.best.commit, ...(a.best.measured !== undefined && { measured: true }) } : null,
    baseline: a.baseline ? { metric: a.baselineMetric, commit: a.baseline.commit } : null,
    // From the same measured metrics the best line shows (it once put the mean beside a first run's delta).
    delta: a.improvement,
    deltaPct: a.improvementPct,
    completed: a.iterations,
    maxIterations,
    elapsedSec: Number.isFinite(startMs) ? Math.max(0, (now - startMs) / 1000) : null,
    recent: data.experiments
      .slice(-5)
      .reverse()
      .map((e) => ({ iteration: e.iteration, commit: e.commit, metric: e.metric, status: e.status, description: `${e.description}${reRunNote(e)}` })),
    currentDirection: options.currentDirection !== undefined ? options.currentDirection : latestDirection,
    counts: a.counts,
    notes: memoryView(data.memory ?? [], a.lastIteration),
    ...(data.noise && { noise: { line: noiseLine(data) as string, withinNoise: keepsWithinNoise(data, a).map((e) => e.iteration) } }),
    ...(data.contention && { contention: data.contention }),
    ...(workers && { workers }),
    ...(standing?.within && { bestStanding: standing.text }),
  };
}

/** Exactly the spec's block (headings and bold labels as in 2.6), one blank line between parts. */
export function renderProgressReport(data: SessionData, options: ProgressOptions = {}): string {
  return renderProgressSnapshot(progressSnapshot(data, options));
}

export function renderProgressSnapshot(s: ProgressSnapshot): string {
  const best = s.best
    ? `${formatMetric(s.best.metric)} (iteration ${s.best.iteration}, commit ${escapeMarkdown(shortCommit(s.best.commit), 40)}${s.best.measured ? ", its measured metric" : ""})`
    : MISSING;
  const vsBaseline = s.delta === null ? MISSING : `${formatDelta(s.delta)} (${formatPercent(s.deltaPct)})`;
  const rows = s.recent.map((r) => [
    String(r.iteration),
    escapeMarkdown(shortCommit(r.commit), 40),
    formatMetric(r.metric),
    r.status,
    escapeMarkdown(r.description, 80) || MISSING,
  ]);
  const table = markdownTable(
    ["Iter", "Commit", "Metric", "Status", "Change"],
    rows.length > 0 ? rows : [[MISSING, MISSING, MISSING, MISSING, "no experiments yet"]],
    "|------|--------|--------|--------|--------|",
  );
  return [
    `## AutoResearch Progress — Iteration ${s.iteration}`,
    "",
    `**Best so far:** ${best}`,
    "",
    `**vs. Baseline:** ${vsBaseline}`,
    "",
    ...noiseMarkdown(s.noise, s.bestStanding),
    ...(s.contention ? [`**Contention:** ${s.contention}`, ""] : []),
    `**Iterations:** ${s.completed} / ${s.maxIterations === null ? "unlimited" : s.maxIterations}`,
    "",
    `**Time elapsed:** ${formatElapsed(s.elapsedSec)}`,
    "",
    "**Recent results (last 5):**",
    "",
    table,
    "",
    `**Current direction:** ${s.currentDirection ? escapeMarkdown(s.currentDirection, 200) : MISSING}`,
    "",
    ...(s.workers ? ["**Workers** (experiments decided per hour, share of the session's wall time each had a run going):", "", ...workersTable(s.workers), ""] : []),
    ...notesMarkdown(s.notes),
  ].join("\n");
}

/**
 * The noise floor, the keeps that could be luck and the best when it could be (the spec's lines
 * above stay as the spec has them); nothing when unknown to the caller.
 */
function noiseMarkdown(noise: ProgressSnapshot["noise"], best: string | undefined): string[] {
  if (!noise) return [];
  const weak = noise.withinNoise.length > 0 ? ` Kept changes within noise (could be luck): iteration${noise.withinNoise.length > 1 ? "s" : ""} ${noise.withinNoise.join(", ")}.` : "";
  const luck = best ? ` ⚠ The best against the baseline: ${best}.` : "";
  return [`${noise.line}${weak}${luck}`, ""];
}

/** The research notes under the spec's block; nothing when there are none. */
function notesMarkdown(view: MemoryView | undefined): string[] {
  if (!view) return [];
  const lines = memoryMarkdown(view, (text) => escapeMarkdown(text, 300));
  return lines.length > 0 ? ["### Research notes", "", ...lines] : [];
}

/** The records' `progress.md`, replaced atomically so `status` never reads half a report. */
export function writeProgressReport(paths: SessionPaths, markdown: string): string {
  // A projection of the records, rewritten after every decision: atomic, not fsynced.
  writeAtomic(paths.progress, markdown.endsWith("\n") ? markdown : `${markdown}\n`, { durable: false });
  return paths.progress;
}
