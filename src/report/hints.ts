/**
 * Hints for a failed baseline that point to the fix: for a run with no metric line, the lines of
 * its log that look like metrics and the exact flags that would read each; for a run killed at
 * its hard timeout, how long it ran against its budget and timeout and the flags to change. Pure:
 * the caller reads the log and passes its text.
 */
import { formatDuration } from "../config/duration.js";
import { matchMetric, metricRegExp, NUMBER_SOURCE, parseNumber } from "../runner/metrics.js";
import type { Direction, MetricSpec } from "../types.js";
import { guessDirection } from "../metric/direction.js";

/** One name/number pair seen in the log, and the flags that make the runner read it. */
export interface MetricCandidate {
  /** 1-based line number in the log. */
  lineNo: number;
  line: string;
  name: string;
  value: number;
  /** Flags as the user would type them, e.g. `["--metric", "val_loss"]`. */
  flags: string[];
}

/**
 * `name: 1.2`, `name=1.2`, `name 1.2` anywhere in a line (also `| loss 1.23 | lr 3e-4 |`). The
 * name must not be glued to a preceding word, and the number must end the token.
 */
const PAIR = new RegExp(`(?<![\\w.\\-/])([A-Za-z_][\\w.\\-/]*?)(\\s*[:=]\\s*|\\s+)(${NUMBER_SOURCE})(?![\\w.])`, "g");

/** Counters, clocks and sizes a script prints that are never what the search should optimize. */
const NOT_A_METRIC =
  /^(?:step|steps|num_steps|total_steps|epoch|epochs|iter|iters|iteration|batch|it|time|elapsed|seconds|sec|ms|dt|eta|lr|learning_rate|seed|rank|gpu|pid|tokens|tok|num_params.*|params|peak_vram_.*|training_seconds|total_seconds|mfu)$/i;

/** Names that usually are metrics, shown first. */
const METRIC_LIKE = /loss|acc|bpb|bpc|ppl|perplex|score|f1|auc|err|bleu|rouge|reward|mse|mae|rmse|top1|top5|metric|nll/i;

/** A plain number as most scripts print it, in a form that is easy to read and to quote in a shell. */
const SIMPLE_NUMBER = "[-+]?\\d*\\.?\\d+(?:[eE][-+]?\\d+)?";

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The value the runner reads from `lines` with `spec`: the last matching line wins, as in
 * OutputScanner. Undefined when no line matches.
 */
function readMetric(lines: readonly string[], spec: MetricSpec): number | null | undefined {
  const re = metricRegExp(spec);
  let value: number | null | undefined;
  for (const line of lines) {
    const v = matchMetric(line, re);
    if (v !== undefined) value = v;
  }
  return value;
}

/** The flags that read `name` as the last value in `lines`, checked with the runner's own parser. */
function flagsFor(lines: readonly string[], name: string, value: number): string[] | null {
  const candidates: MetricSpec[] = [{ name }];
  // The pattern matches the name only as a whole word, followed by `:`, `=` or spaces and the number.
  candidates.push({ name, pattern: `(?<![\\w./-])${escapeRegExp(name)}[\\s:=]+(${SIMPLE_NUMBER})` });
  for (const spec of candidates) {
    const read = readMetric(lines, spec);
    if (read === value || (Number.isNaN(value) && read !== undefined && read !== null && Number.isNaN(read))) {
      return spec.pattern === undefined ? ["--metric", name] : ["--metric", name, "--metric-pattern", spec.pattern];
    }
  }
  return null;
}

/**
 * The name/number pairs in `log` that look like metrics, the last occurrence of each name, most
 * metric-like names first then the latest, at most `limit`. Each comes with flags that the
 * runner's parser has been checked to read back to the same value from the same log.
 */
export function findMetricCandidates(log: string, limit = 5): MetricCandidate[] {
  const lines = log.split(/\r?\n/);
  const last = new Map<string, { lineNo: number; line: string; value: number }>();
  lines.forEach((line, index) => {
    for (const m of line.matchAll(PAIR)) {
      const name = m[1] as string;
      const value = parseNumber(m[3] as string);
      if (value === null || NOT_A_METRIC.test(name)) continue;
      // `name 1.2` without `:` or `=` is common prose too (`using 4 workers`): only for metric-like names.
      if (!/[:=]/.test(m[2] as string) && !METRIC_LIKE.test(name)) continue;
      last.delete(name);
      last.set(name, { lineNo: index + 1, line: line.trim(), value });
    }
  });
  const ranked = [...last.entries()].reverse().sort(([a], [b]) => Number(METRIC_LIKE.test(b)) - Number(METRIC_LIKE.test(a)));
  const out: MetricCandidate[] = [];
  for (const [name, seen] of ranked) {
    if (out.length >= limit) break;
    const flags = flagsFor(lines, name, seen.value);
    if (flags) out.push({ name, ...seen, flags });
  }
  return out;
}

/** Flags as a shell line: values that need it in single quotes. */
export function shellFlags(flags: readonly string[]): string {
  return flags.map((f) => (/^[\w.\-/=:]+$/.test(f) ? f : `'${f.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The hint for a baseline with no metric line. `direction`: the session's; a candidate whose name
 * says the other way (a loss for a session set to maximise) gets its --direction too, else the
 * flags that read it would keep every worse value.
 */
export function noMetricHint(log: string, metric: MetricSpec, logPath: string, direction?: Direction): string {
  const expected = metric.pattern ? `No line of its log matches --metric-pattern ${shellFlags([metric.pattern])}` : `No line of its log reads \`${metric.name}: <number>\``;
  const found = findMetricCandidates(log);
  if (found.length === 0) {
    return `${expected}, and none looks like a metric. Make the script print \`${metric.name}: <number>\` at the end (log: ${logPath}).`;
  }
  const flagsOf = (c: MetricCandidate) => {
    const guess = guessDirection(c.name);
    return direction && guess && guess !== direction ? [...c.flags, "--direction", guess] : c.flags;
  };
  const rows = found.map((c) => `  line ${c.lineNo}: ${clip(c.line)}\n      read it with: ${shellFlags(flagsOf(c))}`);
  return [`${expected}. Lines that look like metrics (log: ${logPath}):`, ...rows, "Run again with the flags for the metric you mean, or make the script print it as `<name>: <number>`."].join("\n");
}

/** A timeout that leaves room for a script that trains for the budget and then evaluates. */
export function suggestedTimeoutSec(budgetSec: number, timeoutSec: number): number {
  return Math.ceil(Math.max(budgetSec * 3, timeoutSec * 1.5));
}

/** The hint for a baseline killed at the hard timeout. */
export function timeoutHint(durationSec: number, budgetSec: number, timeoutSec: number, logPath: string): string {
  const ran = formatDuration(Math.round(durationSec));
  const ratio = Number((timeoutSec / budgetSec).toFixed(2));
  return [
    `It ran ${ran} and was killed at the hard timeout of ${formatDuration(timeoutSec)} (${ratio}x the budget of ${formatDuration(budgetSec)}).`,
    `A script that trains for the budget and then evaluates needs a timeout above 2x the budget: run again with --timeout ${formatDuration(suggestedTimeoutSec(budgetSec, timeoutSec))}.`,
    `If it trains longer than the budget, make it stop at AUTORESEARCH_TIME_BUDGET seconds, or give a --budget it keeps to (log: ${logPath}).`,
  ].join("\n");
}

export interface BaselineFailure {
  /** The decision's reason: no-metric, timeout, exit-code, ... */
  reason: string;
  durationSec: number;
  budgetSec: number;
  timeoutSec: number;
  metric: MetricSpec;
  /** The session's direction: a metric the hint offers that goes the other way gets its --direction. */
  direction?: Direction;
  /** The run's log text ("" when unreadable). */
  log: string;
  /** Where the log is, as the user should read it. */
  logPath: string;
}

/** A hint that points to the fix for the failures it knows; null for the others. */
export function baselineFailureHint(failure: BaselineFailure): string | null {
  if (failure.reason === "no-metric") return noMetricHint(failure.log, failure.metric, failure.logPath, failure.direction);
  if (failure.reason === "timeout") return timeoutHint(failure.durationSec, failure.budgetSec, failure.timeoutSec, failure.logPath);
  return null;
}
