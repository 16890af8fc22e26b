import { UsageError } from "../errors.js";
import type { SessionInfo } from "../ledger/ledger.js";
import { readSessionReadOnly } from "../ledger/read.js";
import { locateAnySession, unknownSessionError } from "../ledger/sessions.js";
import type { ExperimentRecord } from "../types.js";
import { formatMetric } from "./format.js";
import { loadExperiment } from "./show.js";

/** One side of `compare`: `N` (the current session) or `tag:N`. */
export interface ExperimentRef {
  tag?: string;
  id: number;
}

export function parseExperimentRef(text: string): ExperimentRef {
  const match = /^(?:(.+):)?(\d+)$/.exec(text);
  if (!match) throw new UsageError(`${JSON.stringify(text)} is not an experiment`, "Name it by number (3) or session and number (mar5:3); `autoresearch sessions` lists the tags.");
  return { ...(match[1] !== undefined && { tag: match[1] }), id: Number(match[2]) };
}

export interface ComparedSide {
  tag: string;
  record: ExperimentRecord;
  metricName: string;
}

export interface Comparison {
  a: ComparedSide;
  b: ComparedSide;
  /** b - a when both have a metric of the same name. */
  delta: number | null;
  /** `git diff a b -- <training script>` (both sessions' scripts when they differ). */
  diff: string;
  /** Session settings that differ: [key, a's value, b's value] (only when the two are from different sessions). */
  configDiff: [string, unknown, unknown][];
}

function side(root: string, ref: ExperimentRef): { side: ComparedSide; info: SessionInfo } {
  const paths = locateAnySession(root, ref.tag);
  const info = paths ? readSessionReadOnly(paths) : null;
  if (!paths || !info) {
    throw ref.tag ? unknownSessionError(root, ref.tag) : new UsageError(`no autoresearch session in ${root}`, "`autoresearch sessions` lists the sessions of this repo and their tags.");
  }
  const { record } = loadExperiment(paths, ref.id, 0);
  return { side: { tag: info.tag, record, metricName: info.config.metric }, info };
}

/** Settings that may differ between sessions without saying anything about the experiments. */
const IGNORED_KEYS = new Set(["tag"]);

function configDiff(a: SessionInfo, b: SessionInfo): [string, unknown, unknown][] {
  const left = a.config as unknown as Record<string, unknown>;
  const right = b.config as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])].filter((k) => !IGNORED_KEYS.has(k)).sort();
  return keys.filter((k) => JSON.stringify(left[k]) !== JSON.stringify(right[k])).map((k) => [k, left[k] ?? null, right[k] ?? null]);
}

/**
 * The diff of two commits limited to `paths`, or why it cannot be made. Given by the caller (the
 * `compare` command passes git's, from src/workspace/): a report reads records, it runs no git.
 */
export type DiffCommits = (a: string, b: string, paths: readonly string[]) => Promise<{ diff: string } | { error: string }>;

/** Two experiments side by side: what changed in the script (and the session settings) and what it did to the metric. */
export async function compareExperiments(root: string, a: ExperimentRef, b: ExperimentRef, diffCommits: DiffCommits): Promise<Comparison> {
  const left = side(root, a);
  const right = side(root, b);
  const paths = [...new Set([left.info.config.train, right.info.config.train])];
  // Every experiment commit stays resolvable (kept on the branch or under refs/autoresearch/<tag>/<n>).
  const result = await diffCommits(left.side.record.commit, right.side.record.commit, paths);
  if ("error" in result) {
    throw new UsageError(`cannot diff ${left.side.record.commit.slice(0, 7)} and ${right.side.record.commit.slice(0, 7)}: ${result.error}`, "Their commits are gone from this repository (deleted by `autoresearch clean` or by hand).");
  }
  const ma = left.side.record.metric;
  const mb = right.side.record.metric;
  const sameMetric = left.side.metricName === right.side.metricName;
  return {
    a: left.side,
    b: right.side,
    delta: sameMetric && ma !== null && mb !== null ? mb - ma : null,
    diff: result.diff,
    configDiff: left.info.tag === right.info.tag ? [] : configDiff(left.info, right.info),
  };
}

function label(s: ComparedSide): string {
  return `${s.tag}:${s.record.id}`;
}

/** The text `autoresearch compare` prints. */
export function renderComparison(c: Comparison): string {
  const line = (s: ComparedSide) =>
    `${label(s).padEnd(Math.max(label(c.a).length, label(c.b).length))}  ${s.record.commit.slice(0, 7)}  ${s.metricName} ${s.record.status === "crash" ? "—" : formatMetric(s.record.metric)}  ${s.record.status}  ${s.record.description}`;
  const out = [line(c.a), line(c.b)];
  if (c.delta !== null) out.push(`delta (B - A): ${c.delta >= 0 ? "+" : ""}${c.delta.toFixed(6)}`);
  else if (c.a.metricName !== c.b.metricName) out.push(`no delta: the sessions optimise different metrics (${c.a.metricName}, ${c.b.metricName})`);
  else out.push("no delta: one of them has no metric (it crashed)");
  if (c.configDiff.length > 0) {
    out.push("", "Session settings that differ:");
    for (const [key, va, vb] of c.configDiff) out.push(`  ${key}: ${JSON.stringify(va)} -> ${JSON.stringify(vb)}`);
  }
  out.push("", c.diff.trim() === "" ? "The training scripts are identical." : c.diff.trimEnd());
  return `${out.join("\n")}\n`;
}
