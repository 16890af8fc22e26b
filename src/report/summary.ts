import { describeKeepRule, keepRuleSettings } from "../config/keep-rules.js";
import { calibrate, describeCalibration } from "../ledger/calibration.js";
import { memoryMarkdown, memoryView } from "../ledger/memory.js";
import { delta, describeDirection, describeThroughput, gain, isWorse, percentChange } from "../metric/index.js";
import { CHART_PNG_FILE, CHART_SVG_FILE, DEFAULT_RESULTS_FILE } from "../file-names.js";
import { CATEGORIES } from "../types.js";
import {
  MISSING,
  escapeMarkdown,
  formatBudget,
  formatDateRange,
  formatDelta,
  formatElapsed,
  formatInteger,
  formatMetric,
  formatPercent,
  markdownTable,
  shortCommit,
} from "./format.js";
import { finalizeHeaderLine, finalizeSection } from "./finalize-view.js";
import { type Analysis, type ReportExperiment, type SessionData, analyze, combinedInto, holderInBest, reRunNote } from "./model.js";
import { type NextStepOptions, recommendNextSteps, sanitizeSteps } from "./next-steps.js";
import { confidenceNote, noiseLine, noiseParagraph } from "./noise.js";
import { workersTable, workersView } from "./workers.js";

/** Spec 3.1 (final summary, autoresearch-summary.md) and 3.2 (merge recommendation). */

export interface SummaryOptions extends NextStepOptions {
  /** Bullets for "Recommended Next Steps" (e.g. from an LLM); default: drawn from the data. */
  nextSteps?: string[];
  /** Chart files to link, relative to the summary; null = no chart section. */
  chart?: { png: string | null; svg: string | null } | null;
  /** Branch to merge into; default: session.json's baseBranch, else main. */
  baseBranch?: string | null;
  /** Rows per list before "…and N more" (default 10 top improvements, 8 failures per category, 50 kept commits). */
  maxTop?: number;
  maxFailuresPerCategory?: number;
  maxKeptListed?: number;
}

export interface BuildSummaryOptions extends SummaryOptions {
  /** Optional writer of the next steps (an LLM proposer); its failure falls back to the data's. */
  writeNextSteps?: (data: SessionData) => Promise<string[]>;
}

const DEFAULT_CHART = { png: CHART_PNG_FILE, svg: CHART_SVG_FILE } as const;

/** The next steps: given, else from the writer (an LLM), else (or when it fails) from the data. */
export async function resolveNextSteps(data: SessionData, options: BuildSummaryOptions = {}): Promise<string[]> {
  const fallback = recommendNextSteps(data, analyze(data), options);
  if (options.nextSteps) return sanitizeSteps(options.nextSteps, fallback);
  if (!options.writeNextSteps) return fallback;
  try {
    return sanitizeSteps(await options.writeNextSteps(data), fallback);
  } catch {
    return fallback;
  }
}

/** renderSummary with the optional async next-steps writer. */
export async function buildSummary(data: SessionData, options: BuildSummaryOptions = {}): Promise<string> {
  return renderSummary(data, { ...options, nextSteps: await resolveNextSteps(data, options) });
}

export function renderSummary(data: SessionData, options: SummaryOptions = {}): string {
  const a = analyze(data);
  const chart = options.chart === undefined ? DEFAULT_CHART : options.chart;
  const steps = options.nextSteps ? sanitizeSteps(options.nextSteps, recommendNextSteps(data, a, options)) : recommendNextSteps(data, a, options);
  const out: string[] = [];
  out.push("# AutoResearch Summary", "");
  for (const line of headerLines(data, a)) out.push(line, "");
  out.push("## Results", "", resultsTable(a), "");
  out.push("## Top Improvements (kept commits)", "", ...topImprovements(data, a, options.maxTop ?? 10), "");
  if (data.finalize) out.push(...finalizeSection(data.finalize, data.session?.tag));
  out.push("## What Didn't Work", "", ...whatDidntWork(data, options.maxFailuresPerCategory ?? 8), "");
  if (data.noise) out.push("## Noise and Confidence", "", ...noiseParagraph(data, a), "");
  const workers = workersView(data.experiments, { startedAt: a.startedAt });
  if (workers) {
    out.push(
      "## Workers",
      "",
      `${workers.workers.length} workers ran experiments at the same time. Per hour: experiments decided per hour of the session's wall time (${formatElapsed(workers.wallSec)}); utilisation: the share of that time the worker had a run going (time waiting in a cluster queue not counted).`,
      "",
      ...workersTable(workers),
      "",
    );
  }
  const research = memoryMarkdown(memoryView(data.memory ?? [], a.lastIteration), (text) => escapeMarkdown(text, 300));
  if (research.length > 0) out.push("## Research Notes", "", ...research);
  out.push("## Recommended Next Steps", "", ...steps.map((s) => `- ${s}`), "");
  if (chart && (chart.png || chart.svg)) {
    out.push("## Progress Chart", "");
    if (chart.png) out.push(`![progress](${chart.png})`, "");
    if (chart.svg) out.push(`Vector version: [${chart.svg}](${chart.svg})`, "");
  }
  out.push(...mergeRecommendation(data, a, options), "");
  const notes = sourceNotes(data);
  if (notes.length > 0) out.push("---", "", ...notes.map((n) => `_${n}_`), "");
  const text = out.join("\n");
  return data.notCurrent && data.session ? namingSession(text, data.session.tag) : text;
}

/**
 * The commands the summary suggests act on the repository's current session; in the summary of
 * another one (`report --tag`) each names it: `autoresearch resume --max-iterations 14` had
 * resumed the current session, not the one the summary was about.
 */
function namingSession(text: string, tag: string): string {
  return text.replace(/(^|`)autoresearch (resume|confirm|merge|show|finalize|note|status|compare|export)\b(?! --tag)/gm, `$1autoresearch $2 --tag ${tag}`);
}

function headerLines(data: SessionData, a: Analysis): string[] {
  const session = data.session;
  const platform = session?.platform
    ? `${escapeMarkdown(session.platform.label, 60)}${session.platform.detail ? ` — ${escapeMarkdown(session.platform.detail, 100)}` : ""}${session.platform.torch ? `, torch ${escapeMarkdown(session.platform.torch, 40)}` : ""}`
    : "unknown";
  const { keep, discard, crash } = a.counts;
  const lines = [
    `**Research session:** ${data.branch ? escapeMarkdown(data.branch, 100) : "unknown"}`,
    `**Platform:** ${platform}`,
    `**Date:** ${formatDateRange(a.startedAt, a.finishedAt)}`,
    `**Total iterations:** ${a.iterations} (${keep} kept, ${discard} discarded, ${crash} crashed)`,
    `**Time budget / run:** ${formatBudget(session?.config?.budgetSec)}`,
    `**Metric:** ${escapeMarkdown(data.metricName, 60)} (${describeDirection(data.direction)}${data.directionSource === "inferred" || data.directionSource === "default" ? `, ${data.directionSource === "inferred" ? "inferred from the results" : "assumed"}; override with --direction` : ""})`,
  ];
  // The rule the decisions were made under, in the words the proposers were given.
  if (session?.config) lines.push(`**Keep rule:** ${escapeMarkdown(describeKeepRule(keepRuleSettings(session.config)), 2000)}`);
  if (a.tokens || a.costUsd !== null) {
    const tokens = a.tokens
      ? `${formatInteger(a.tokens.input + a.tokens.output)} tokens (${formatInteger(a.tokens.input)} in, ${formatInteger(a.tokens.output)} out)`
      : "";
    const cost = a.costUsd !== null ? `$${a.costUsd.toFixed(2)}` : "";
    lines.push(`**Proposer usage:** ${[tokens, cost].filter(Boolean).join(", ")}`);
  }
  if (data.finalize) lines.push(finalizeHeaderLine(data.finalize));
  const noise = noiseLine(data);
  if (noise) lines.push(noise);
  if (data.contention) lines.push(`**Contention:** ${data.contention}`);
  const throughput = throughputLine(a);
  if (throughput) lines.push(throughput);
  const calibration = calibrate(data.experiments.slice(1), data.direction);
  if (calibration) lines.push(`**Prediction calibration:** ${escapeMarkdown(describeCalibration(calibration), 300)}`);
  return lines;
}

/**
 * Steps/s of the baseline and the best, so a reader sees whether the best trains faster (more
 * steps in the same budget) or learns more per step. Null when the script printed no steps.
 */
function throughputLine(a: Analysis): string | null {
  const { baseline, best } = a;
  const text = (e: ReportExperiment | null): string | null => (e ? describeThroughput(e) : null);
  const parts = [text(baseline) && `baseline ${text(baseline)}`, best && best !== baseline && text(best) && `best (iteration ${best.iteration}) ${text(best)}`].filter((p): p is string => typeof p === "string");
  return parts.length > 0 ? `**Throughput:** ${parts.join("; ")}` : null;
}

function resultsTable(a: Analysis): string {
  const improvement = a.improvement === null ? MISSING : `${formatDelta(a.improvement)} (${formatPercent(a.improvementPct)})`;
  return markdownTable(
    ["Baseline metric", "Best metric", "Improvement", "Best commit"],
    [[formatMetric(a.baselineMetric), formatMetric(a.bestMetric), improvement, a.best ? escapeMarkdown(shortCommit(a.best.commit), 40) : MISSING]],
    "|-----------------|-------------|-------------|-------------|",
  );
}

/** A lineage step's change against its parent, the lineage node before it. */
interface Step {
  e: ReportExperiment;
  parentMetric: number | null;
  gain: number;
}

function lineageSteps(data: SessionData, a: Analysis): Step[] {
  return a.lineage.slice(1).map((e, i) => {
    const parentMetric = (a.lineage[i] as ReportExperiment).metric;
    return { e, parentMetric, gain: gain(e.metric, parentMetric, data.direction) ?? Number.NEGATIVE_INFINITY };
  });
}

/**
 * The best node's lineage (the research branch's commits), each step with its delta against its
 * parent, ranked by that gain; then the kept nodes off the lineage, which the branch does not hold.
 */
function topImprovements(data: SessionData, a: Analysis, max: number): string[] {
  const ranked = lineageSteps(data, a).sort((x, y) => y.gain - x.gain || x.e.iteration - y.e.iteration);
  const rows = ranked.slice(0, max).map(({ e, parentMetric }, i) => {
    const d = delta(e.metric, parentMetric);
    const sure = confidenceNote(e, data);
    // A load-adjusted or paired metric is its parent's plus its difference (at the same load, or of its pairs), not the mean of its runs.
    const runs = e.runs && !e.loadAdjusted && !e.pairs ? `, mean of ${e.runs} runs` : "";
    // Runs made since its decision (as a parent in pairs, `confirm`'s) moved its measured metric: the one Results shows for the best.
    const since = e.measured !== undefined ? `, ${formatMetric(e.measured)} measured since` : "";
    const change = d === null ? "" : ` (${formatDelta(d)}, ${formatPercent(percentChange(e.metric, parentMetric))}, iteration ${e.iteration}${runs}${since}${sure ? `, ${sure}` : ""})`;
    return [String(i + 1), escapeMarkdown(shortCommit(e.commit), 40), formatMetric(e.metric), `${escapeMarkdown(e.description, 100) || MISSING}${reRunNote(e)}${combinesNote(e)}${change}`];
  });
  const table = markdownTable(
    ["Rank", "Commit", "Metric", "Description"],
    rows.length > 0 ? rows : [[MISSING, MISSING, MISSING, "no experiment beat the baseline"]],
    "|------|--------|--------|-------------|",
  );
  const lines = [table];
  if (ranked.length > max) lines.push("", `_…and ${ranked.length - max} more steps of the best's lineage; all are listed under Merge Recommendation._`);
  if (rows.length > 0) lines.push("", "_The steps from the baseline to the best node (the research branch's commits), each against the node it was built on._");
  lines.push(...offLineage(data, a));
  return lines;
}

function combinesNote(e: ReportExperiment): string {
  return e.combines && e.combines.length > 0 ? ` (combines ${e.combines.map((c) => `#${c}`).join(", ")})` : "";
}

/** Kept nodes the research branch does not hold: each beat its own parent, in another branch of the tree. */
function offLineage(data: SessionData, a: Analysis): string[] {
  if (a.offLineage.length === 0) return [];
  const byCommit = new Map(data.experiments.map((e) => [e.commit, e]));
  const rows = a.offLineage.map((e) => {
    const parent = e.parent ? byCommit.get(e.parent) : undefined;
    const d = parent ? delta(e.metric, parent.metric) : null;
    const against = parent ? ` (${formatDelta(d)} vs its parent #${parent.iteration})` : "";
    const into = combinedInto(a, e);
    // A combination's change is another experiment's: in the best's code when that one is (on the lineage, or combined into it).
    const carried = (e.combines ?? []).map((c) => holderInBest(a, c));
    const sources = (e.combines ?? []).map((c) => `#${c}`).join(", ");
    const fate = into
      ? `combined into the best's lineage as #${into.iteration}`
      : carried.length > 0 && carried.every((n) => n !== null)
        ? `its change (${sources}'s) is in the best's code, as #${[...new Set(carried.map((n) => n?.iteration))].join(", #")}`
        : "not in the best's code";
    return [String(e.iteration), escapeMarkdown(shortCommit(e.commit), 40), formatMetric(e.metric), `${escapeMarkdown(e.description, 100) || MISSING}${against}`, fate];
  });
  return [
    "",
    `**Kept off the best's lineage (${rows.length}):** experiments that beat the node they were built on, in another branch of the research tree.`,
    "",
    markdownTable(["Iter", "Commit", "Metric", "Description", "In the best?"], rows, "|------|--------|--------|-------------|--------------|"),
  ];
}

/** Why an experiment was not kept, in words. */
export function outcome(e: ReportExperiment, data: SessionData): string {
  if (e.status === "crash") {
    const why = e.detail ?? e.reason ?? guessCrashReason(e.description);
    return `crash: ${escapeMarkdown(why, 100)}`;
  }
  const d = delta(e.metric, e.bestBefore);
  if (d === null) return e.reason ? `discarded: ${escapeMarkdown(e.reason, 60)}` : "discarded";
  if (d === 0) return `no change (${formatMetric(e.metric)}, equal to its parent's)`;
  const pct = formatPercent(percentChange(e.metric, e.bestBefore));
  if (isWorse(e.metric as number, e.bestBefore as number, data.direction)) return `regression: ${formatDelta(d)} (${pct}) vs its parent ${formatMetric(e.bestBefore)}`;
  const why = e.reason ? (KEEP_RULE_WORDS[e.reason] ?? e.reason) : null;
  const detail = e.reason === "check-failed" && e.detail ? `: ${e.detail.replace(/^check failed: /, "")}` : "";
  return `not kept: ${formatDelta(d)} (${pct})${why ? `, ${escapeMarkdown(`${why}${detail}`, 160)}` : ""}`;
}

/** Why a better run was not kept, by the keep rule's reasons (src/search/apply-keep-rule.ts, src/search/keep-rule.ts). */
const KEEP_RULE_WORDS: Record<string, string> = {
  "within-noise": "within noise on one run (not worth confirming)",
  "not-confirmed": "not confirmed: the mean of its re-runs was within noise",
  "below-threshold": "gain below --min-delta",
  "check-failed": "a check failed",
};

function guessCrashReason(description: string): string {
  if (/\boom\b|out of memory/i.test(description)) return "out of memory";
  if (/timeout|timed out/i.test(description)) return "timeout";
  if (/\bnan\b|\binf\b/i.test(description)) return "metric was NaN/inf";
  return "no metric (reason not recorded in the results file)";
}

function whatDidntWork(data: SessionData, maxPerCategory: number): string[] {
  const groups = new Map<string, ReportExperiment[]>();
  for (let i = 1; i < data.experiments.length; i++) {
    const e = data.experiments[i] as ReportExperiment;
    if (e.status === "keep") continue;
    const key = e.category === "baseline" ? "other" : e.category;
    let list = groups.get(key);
    if (!list) {
      list = [];
      groups.set(key, list);
    }
    list.push(e);
  }
  const order = (c: string) => {
    const i = (CATEGORIES as readonly string[]).indexOf(c);
    return i < 0 ? CATEGORIES.length : i;
  };
  const rows: string[][] = [];
  for (const [category, list] of [...groups.entries()].sort((x, y) => order(x[0]) - order(y[0]))) {
    for (const e of list.slice(0, maxPerCategory)) {
      rows.push([category, `${escapeMarkdown(e.description, 100) || MISSING} (iteration ${e.iteration}, ${escapeMarkdown(shortCommit(e.commit), 40)})${reRunNote(e)}`, outcome(e, data)]);
    }
    if (list.length > maxPerCategory) {
      const rest = list.slice(maxPerCategory);
      const crashed = rest.filter((e) => e.status === "crash").length;
      rows.push([category, `…and ${rest.length} more`, `${rest.length - crashed} discarded, ${crashed} crashed`]);
    }
  }
  const table = markdownTable(
    ["Category", "Description", "Outcome"],
    rows.length > 0 ? rows : [[MISSING, "every experiment was kept", MISSING]],
    "|----------|-------------|---------|",
  );
  const lines = [table];
  if (data.experiments.some((e) => e.categoryGuessed)) {
    lines.push("", "_Categories were guessed from the descriptions (the results file has no category column)._");
  }
  return lines;
}

function mergeRecommendation(data: SessionData, a: Analysis, options: SummaryOptions): string[] {
  const base = options.baseBranch ?? data.session?.baseBranch ?? "main";
  const branch = data.branch;
  const lines = ["## Merge Recommendation", ""];
  const onBranch = a.lineage.slice(1);
  if (onBranch.length === 0 || !a.best) {
    lines.push(
      `**Final metric:** ${formatMetric(a.bestMetric ?? a.baselineMetric)} (the baseline)`,
      "",
      `Nothing to merge: no experiment beat the baseline${branch ? `, so ${escapeMarkdown(branch, 100)} holds no kept commits` : ""}.`,
    );
    return lines;
  }
  lines.push(
    `**Final metric:** ${formatMetric(a.bestMetric)} (iteration ${a.best.iteration}, commit ${escapeMarkdown(shortCommit(a.best.commit), 40)}; ${formatDelta(a.improvement)} / ${formatPercent(a.improvementPct)} vs baseline)`,
    "",
    `**Kept commits (${onBranch.length}):** the best's lineage, the commits ${branch ? escapeMarkdown(branch, 100) : "the research branch"} holds`,
    "",
  );
  const max = options.maxKeptListed ?? 50;
  const rows = onBranch
    .slice(0, max)
    .map((e) => [String(e.iteration), escapeMarkdown(shortCommit(e.commit), 40), formatMetric(e.metric), `${escapeMarkdown(e.description, 100) || MISSING}${reRunNote(e)}${combinesNote(e)}`]);
  lines.push(markdownTable(["Iter", "Commit", "Metric", "Description"], rows, "|------|--------|--------|-------------|"));
  if (onBranch.length > max) lines.push("", `_…and ${onBranch.length - max} more (see results.tsv)._`);
  const into = escapeShell(base);
  lines.push(
    "",
    `To merge into \`${base.replace(/`/g, "")}\` (local only: nothing is pushed, and ${branch ? `\`${branch.replace(/`/g, "")}\`` : "the research branch"} is left as it is):`,
    "",
    "```sh",
    `autoresearch merge --squash --into ${into}   # one commit listing the kept ones`,
    `autoresearch merge --rebase --into ${into}   # the kept commits replayed onto ${into}`,
    `autoresearch merge --merge --into ${into}    # a merge commit, history kept`,
    ...finalMerge(data, into),
    "```",
    "",
    "Or keep the branch as it is and decide later.",
  );
  return lines;
}

/** `merge --final`, once finalize left the smallest set (or the best) on autoresearch/<tag>-final. */
function finalMerge(data: SessionData, into: string): string[] {
  const view = data.finalize;
  const final = view?.progress === "finished" && !view.stale ? view.result?.branches.final : null;
  if (!final || !view?.result) return [];
  const what = view.result.smallestSet.accepted && view.result.smallestSet.removed.length > 0 ? "the smallest set finalize found" : "the best, as finalize left it";
  return [`autoresearch merge --final --into ${into}    # ${what} (${final.branch.replace(/[`\n]/g, "")})`];
}

function escapeShell(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

function sourceNotes(data: SessionData): string[] {
  const notes: string[] = [];
  if (data.source === "results") {
    const file = data.resultsPath ? data.resultsPath.split(/[\\/]/).pop() : DEFAULT_RESULTS_FILE;
    notes.push(
      `Built from ${escapeMarkdown(file ?? DEFAULT_RESULTS_FILE, 80)} only${data.format === "karpathy" ? " (Karpathy's format)" : ""}: iteration = row number (baseline 0); dates, categories and crash reasons were not recorded.`,
    );
  }
  if (data.skippedLines > 0) notes.push(`${data.skippedLines} unreadable line${data.skippedLines === 1 ? " was" : "s were"} skipped.`);
  return notes;
}
