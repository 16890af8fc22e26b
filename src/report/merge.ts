import { delta } from "../metric/index.js";
import { formatDelta, formatMetric, formatPercent, oneLine, shortCommit, truncate } from "./format.js";
import { type SessionData, analyze } from "./model.js";
import type { MergePlan, MergeStrategy } from "../workspace/merge.js";
import type { FinalizeResult } from "../ledger/finalize-records.js";

export { assertCleanTree, conflictHint, executeMerge, type ExecuteOptions, MERGE_STRATEGIES, type MergeOutcome, type MergePlan, type MergeStrategy, planMerge, pushAdvice } from "../workspace/merge.js";

/**
 * Which research branch goes into which base, as `merge --help` says: --branch, else the current
 * autoresearch/* branch, else the recorded session's; --into, else the base recorded for THAT
 * branch's session (never another session's), else main (master when only master exists).
 */
export function mergeTargets(input: {
  branch?: string | undefined;
  into?: string | undefined;
  current: string | null;
  session: { branch: string; baseBranch?: string | null } | null;
  hasMain: boolean;
  hasMaster: boolean;
}): { branch: string | null; base: string } {
  const { session } = input;
  const branch = input.branch ?? (input.current?.startsWith("autoresearch/") ? input.current : (session?.branch ?? null));
  const recorded = session && session.branch === branch ? (session.baseBranch ?? null) : null;
  const base = input.into ?? recorded ?? (input.hasMain || !input.hasMaster ? "main" : "master");
  return { branch, base };
}


/** The commit message: the kept experiments and the metric change. */
export function mergeMessage(plan: MergePlan, strategy: MergeStrategy, data: SessionData | null): string {
  const a = data ? analyze(data) : null;
  let title = `autoresearch: ${strategy === "squash" ? "squash" : "merge"} ${plan.branch} into ${plan.base}`;
  if (a?.best && a.baseline && a.kept.length > 0 && data) {
    title += ` (${data.metricName} ${formatMetric(a.baselineMetric)} -> ${formatMetric(a.bestMetric)}, ${formatPercent(a.improvementPct)})`;
  }
  const lines = [title, ""];
  if (a && data && a.kept.length > 0) {
    lines.push("Kept experiments:");
    for (const e of a.kept) {
      const d = delta(e.metric, e.bestBefore);
      const change = d === null ? "" : ` (${formatDelta(d)})`;
      lines.push(`- #${e.iteration} ${shortCommit(e.commit)} ${data.metricName} ${formatMetric(e.metric)}${change}: ${truncate(oneLine(e.description), 100)}`);
    }
  } else {
    lines.push("Commits:");
    for (const c of plan.commits) lines.push(`- ${shortCommit(c.sha)} ${truncate(oneLine(c.subject), 100)}`);
  }
  lines.push("", `From ${plan.branch} at ${shortCommit(plan.branchTip)} (${plan.commits.length} commit${plan.commits.length === 1 ? "" : "s"}).`);
  return `${lines.join("\n")}\n`;
}


/** The commit message of `merge --final`: the changes the final branch holds, as finalize measured them. */
export function finalMergeMessage(plan: MergePlan, strategy: MergeStrategy, result: FinalizeResult): string {
  const s = result.smallestSet;
  const holds = result.branches.final?.holds ?? s.kept;
  const what = s.accepted && s.removed.length > 0 ? "the smallest set" : "every kept change";
  const lines = [`autoresearch: ${strategy === "squash" ? "squash" : "merge"} ${what} of ${plan.branch} into ${plan.base}`, "", `Kept changes it holds (finalize, ${result.at}):`];
  for (const id of holds) {
    const v = result.verdicts.find((x) => x.change === id);
    lines.push(`- #${id}${v ? ` ${truncate(oneLine(v.description), 100)}: ${v.verdict}` : ""}`);
  }
  if (s.accepted && s.removed.length > 0) lines.push("", `Left out (within noise or hurting): ${s.removed.map((r) => `#${r}`).join(" ")}.`);
  lines.push("", `From ${plan.branch} at ${shortCommit(plan.branchTip)} (${plan.commits.length} commit${plan.commits.length === 1 ? "" : "s"}).`);
  return `${lines.join("\n")}\n`;
}
