/**
 * What the views say of a session's `autoresearch finalize`: the summary's Finalize section, the
 * line `show` and `status` print, the verdict `show N` gives a kept change, the column of
 * `sessions` and the dashboard's panel. Everything here is read from finalize.jsonl (the records);
 * the table is rendered by finalize-table.ts, never measured or decided here.
 */
import { relative } from "node:path";
import type { ChangeVerdict, FinalizeResult, LossEstimate } from "../ledger/finalize-records.js";
import { type FinalizeProgress, readFinalizeState } from "../ledger/finalize-state.js";
import { writeAtomic } from "../ledger/files.js";
import type { SessionPaths } from "../ledger/paths.js";
import { footer as finalizeFooter, finalizeHeadline, formatConfidence, renderFinalizeTable, withoutDelta } from "./finalize-table.js";
import { escapeMarkdown, escapeProse, formatDelta, formatMetric, formatTimestamp, oneLine } from "./format.js";

/** "+0.148000 ± 0.005100": the metric's change without a change, as the table writes it; "—" when unknown. */
function formatRawLoss(loss: LossEstimate | null, direction: "min" | "max"): string {
  if (!loss) return "—";
  return `${formatDelta(withoutDelta(loss.mean, direction))}${loss.sd === null ? "" : ` ± ${formatMetric(loss.sd)}`}`;
}

export type { FinalizeProgress } from "../ledger/finalize-state.js";

export interface FinalizeView {
  progress: FinalizeProgress;
  attempt: number;
  /** When the attempt first started (ISO). */
  startedAt: string;
  /** When its result was recorded (ISO): when the session was finalized; null until then. */
  finishedAt: string | null;
  runsDone: number;
  runsPlanned: number;
  runsPerVariant: number;
  /** The best it measures (the session's head when it started). */
  best: { id: number; commit: string };
  /** Kept changes on the best's lineage it measures. */
  changes: number;
  /** Their experiment numbers, oldest first. */
  changeIds: number[];
  /**
   * The session's best is no longer the one it measured (the session was resumed and kept more
   * since): its verdicts are of an earlier best. Null when the current best is unknown.
   */
  stale: boolean | null;
  result: FinalizeResult | null;
  /** finalize.md, the table as markdown (in the session's records), absolute and relative to the checkout. */
  tablePath: string;
  tableShown: string;
}

/** The session's head, to tell whether a finalize measured the current best. */
export interface HeadRef {
  id: number;
  commit: string;
}

/** Where the session at `paths` stands with finalize, or null when it was never finalized. */
export function loadFinalizeView(paths: SessionPaths, head: HeadRef | null = null): FinalizeView | null {
  const state = readFinalizeState(paths);
  if (!state) return null;
  const { attempt, progress } = state;
  const planned = Object.values(attempt.batches).reduce((sum, b) => sum + (b?.plannedRuns ?? 0), 0);
  const shown = relative(paths.root, paths.finalizeTable).split("\\").join("/");
  return {
    progress,
    attempt: attempt.attempt,
    startedAt: attempt.startedAt,
    finishedAt: attempt.result?.at ?? null,
    runsDone: attempt.runs.length,
    runsPlanned: Math.max(planned, attempt.header.plannedRuns, attempt.runs.length),
    runsPerVariant: attempt.header.runsPerVariant,
    best: attempt.header.best,
    changes: attempt.header.changes.length,
    changeIds: attempt.header.changes.map((c) => c.id),
    stale: head ? head.commit !== attempt.header.best.commit : null,
    result: attempt.result,
    tablePath: paths.finalizeTable,
    tableShown: shown && !shown.startsWith("..") ? shown : paths.finalizeTable,
  };
}

/** "4 of 14 kept changes matter". */
export function mattersText(result: FinalizeResult): string {
  const matter = result.verdicts.filter((v) => v.verdict === "matters").length;
  return `${matter} of ${result.verdicts.length} kept change${result.verdicts.length === 1 ? "" : "s"} matter${matter === 1 && result.verdicts.length === 1 ? "s" : ""}`;
}

/** What to do about an earlier best's finalize. */
function staleText(view: FinalizeView): string {
  return `it measured the best of then (#${view.best.id}); the session kept more since: \`autoresearch finalize\` measures the best of now`;
}

/**
 * One line for `show`, `status` and the dashboard: "finalized 2025-03-09 07:12 UTC: 4 of 14 kept
 * changes matter, table in <path>", or how far a running or stopped finalize is.
 */
export function finalizeLine(view: FinalizeView): string {
  if (view.progress === "finished" && view.result) {
    const when = formatTimestamp(view.finishedAt) ?? view.finishedAt;
    const line = `finalized ${when}: ${mattersText(view.result)}, table in ${view.tableShown}`;
    return view.stale ? `${line} (${staleText(view)})` : line;
  }
  const runs = `${view.runsDone} of ${view.runsPlanned} runs`;
  if (view.progress === "running") return `finalize running: ${runs}`;
  return `finalize stopped: ${runs}; \`autoresearch finalize\` continues it (runs recorded are not run again)`;
}

/** The verdict finalize gave kept change `id`, when its latest attempt is finished and measured it. */
export function verdictOf(view: FinalizeView | null | undefined, id: number): ChangeVerdict | null {
  return view?.result?.verdicts.find((v) => v.change === id) ?? null;
}

/**
 * What `show N` says of a kept change finalize measured: "matters: without it val_bpb
 * +0.012000 ± 0.003000 vs the best, >99.9% confident it matters, 38% of the gain".
 */
export function describeVerdict(v: ChangeVerdict, result: FinalizeResult): string {
  const parts = [`${v.verdict}${v.dependsOn?.length ? ` (depends on ${v.dependsOn.map((d) => `#${d}`).join(", ")})` : ""}`];
  const detail: string[] = [];
  if (v.loss) {
    const against = v.removedWith?.length ? `the best without ${v.removedWith.map((d) => `#${d}`).join(", ")}` : "the best";
    detail.push(`without it ${result.metric} ${formatRawLoss(v.loss, result.direction)} vs ${against} (${v.loss.rounds} round${v.loss.rounds === 1 ? "" : "s"})`);
  }
  if (v.confidence !== null) detail.push(`confidence it matters ${formatConfidence(v.loss, v.confidence)}`);
  if (v.share !== null && v.verdict === "matters") detail.push(`${Math.round(v.share * 100)}% of the gain`);
  if (v.keptDelta !== null) detail.push(`${formatDelta(v.keptDelta)} when it was kept`);
  if (v.note) detail.push(oneLine(v.note));
  return detail.length > 0 ? `${parts[0]}: ${detail.join(", ")}` : (parts[0] as string);
}

/** The table as markdown, from the records (finalize.md's content). */
export function finalizeMarkdown(view: FinalizeView, tag?: string): string | null {
  if (!view.result) return null;
  return renderFinalizeTable(view.result, { format: "markdown", runsPerVariant: view.runsPerVariant, ...(tag !== undefined && { tag }) });
}

/**
 * Writes finalize.md again from finalize.jsonl (what `report` does: the table is a projection of
 * the records, like the summary). Returns its path, or null when there is no finished finalize.
 */
export function writeFinalizeTable(view: FinalizeView, tag?: string): string | null {
  const markdown = finalizeMarkdown(view, tag);
  if (markdown === null) return null;
  writeAtomic(view.tablePath, markdown, { durable: false });
  return view.tablePath;
}

/** The summary's header line: "**Finalized:** …". */
export function finalizeHeaderLine(view: FinalizeView): string {
  if (view.progress === "finished" && view.result) {
    return `**Finalized:** ${formatTimestamp(view.finishedAt) ?? escapeMarkdown(view.finishedAt ?? "", 40)}: ${mattersText(view.result)} (see Finalize below)${view.stale ? `; ${escapeProse(staleText(view), 300)}` : ""}`;
  }
  return `**Finalize:** ${view.progress}, ${view.runsDone} of ${view.runsPlanned} runs (see Finalize below)`;
}

/** The summary's Finalize section: the contribution table and its headline, or how far finalize is. */
export function finalizeSection(view: FinalizeView, tag?: string): string[] {
  const lines = ["## Finalize", ""];
  if (view.progress === "finished" && view.result) {
    lines.push(
      `Each kept change on the way to the best was taken out of the best and the result run ${view.runsPerVariant} time${view.runsPerVariant === 1 ? "" : "s"}, beside the best and the baseline, round by round with the same seed: the metric's change without it says whether it matters.${view.stale ? ` _Note: ${escapeProse(staleText(view), 300)}._` : ""}`,
      "",
      (finalizeMarkdown(view, tag) as string).trimEnd(),
      "",
      `_The table is also in \`${view.tableShown.replace(/`/g, "")}\`; \`autoresearch report\` renders it again from finalize.jsonl._`,
      "",
    );
    return lines;
  }
  const how =
    view.progress === "running"
      ? "the table comes once every run is in."
      : "it was stopped before every run was in; `autoresearch finalize` continues it (the runs recorded are not run again) and then writes the table.";
  lines.push(`Finalize ${view.progress}: ${view.runsDone} of ${view.runsPlanned} runs (${view.changes} kept changes, ${view.runsPerVariant} runs of each variant); ${how}`, "");
  return lines;
}

/** One row of the contribution table, as the dashboard's panel shows it (cells already formatted). */
export interface FinalizeRow {
  change: number;
  description: string;
  keptDelta: string;
  without: string;
  confidence: string;
  verdict: ChangeVerdict["verdict"];
  dependsOn: number[];
  share: string;
}

/** What the dashboard shows of a session's finalize. */
export interface FinalizePanel {
  progress: FinalizeProgress;
  line: string;
  startedAt: string;
  finishedAt: string | null;
  runsDone: number;
  runsPlanned: number;
  stale: boolean | null;
  metric: string | null;
  headline: string | null;
  rows: FinalizeRow[];
  /** Dependencies, the smallest set, the branches. */
  notes: string[];
  /** Each measured change's verdict, by experiment number (the experiment table marks them). */
  verdicts: Record<number, ChangeVerdict["verdict"]>;
  /** finalize.md's content. */
  markdown: string | null;
}

export function finalizePanel(view: FinalizeView, tag?: string): FinalizePanel {
  const result = view.progress === "finished" ? view.result : null;
  const verdicts: Record<number, ChangeVerdict["verdict"]> = {};
  for (const v of result?.verdicts ?? []) verdicts[v.change] = v.verdict;
  return {
    progress: view.progress,
    line: finalizeLine(view),
    startedAt: view.startedAt,
    finishedAt: view.finishedAt,
    runsDone: view.runsDone,
    runsPlanned: view.runsPlanned,
    stale: view.stale,
    metric: result?.metric ?? null,
    headline: result ? finalizeHeadline(result) : null,
    rows: (result?.verdicts ?? []).map((v) => ({
      change: v.change,
      description: oneLine(v.description),
      keptDelta: formatDelta(v.keptDelta),
      without: formatRawLoss(v.loss, (result as FinalizeResult).direction),
      confidence: formatConfidence(v.loss, v.confidence),
      verdict: v.verdict,
      dependsOn: v.dependsOn ?? [],
      share: v.share === null || v.verdict !== "matters" ? "" : `${Math.round(v.share * 100)}%`,
    })),
    notes: result ? finalizeFooter(result) : [],
    verdicts,
    markdown: result ? finalizeMarkdown(view, tag) : null,
  };
}
