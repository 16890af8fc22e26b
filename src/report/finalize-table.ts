/**
 * The contribution table of `autoresearch finalize`, rendered from its result record (never from
 * anything the renderer measures itself): printed by the command, written to the records as
 * finalize.md, and embedded by the summary and the dashboard. Plain text for the terminal,
 * markdown for files.
 */
import type { ChangeVerdict, FinalizeResult, LossEstimate, PairFinding } from "../ledger/finalize-records.js";
import { orient } from "../metric/index.js";
import { fitWidth } from "../text.js";
import { escapeMarkdown, escapeProse, formatDelta, formatMetric, formatTimestamp, markdownTable, oneLine, shortCommit, truncate } from "./format.js";

export interface FinalizeTableOptions {
  format: "text" | "markdown";
  /** The session's tag, for the title. */
  tag?: string;
  /** N runs per variant (from the attempt's header), for the title. */
  runsPerVariant?: number;
  /**
   * Text only: the terminal's columns. Each sentence is broken to it, and a table wider than it
   * becomes one block per change (its name, then its numbers, each named): a table the terminal
   * wraps is unreadable.
   */
  width?: number;
}

/**
 * A loss (oriented: positive = worse without the change) as the raw change of the metric without
 * it, signed like the metric: a loss of 0.3 on val_loss (min) is "+0.300000", on accuracy (max) "-0.300000".
 */
export function withoutDelta(loss: number, direction: "min" | "max"): number {
  return -orient(loss, direction);
}

/** "+0.148000 ± 0.005100": the metric's change without it, ± the spread of one round; "—" when unknown. */
function rawLoss(loss: LossEstimate | null, direction: "min" | "max"): string {
  if (!loss) return "—";
  const spread = loss.sd === null ? "" : ` ± ${formatMetric(loss.sd)}`;
  return `${formatDelta(withoutDelta(loss.mean, direction))}${spread}`;
}

/** The confidence that taking a change out loses something: its loss in standard errors, and as a one-sided probability. */
export function formatConfidence(loss: LossEstimate | null, value: number | null): string {
  if (!loss || value === null || !Number.isFinite(value)) return "—";
  const z = Number.isFinite(loss.z) ? `${loss.z.toFixed(1)} SE` : loss.z > 0 ? "∞ SE" : "-∞ SE";
  const p = value > 0.999 ? ">99.9%" : value < 0.001 ? "<0.1%" : `${(value * 100).toFixed(1)}%`;
  return `${z} (${p})`;
}

function share(v: ChangeVerdict): string {
  return v.share === null || v.verdict !== "matters" ? "" : `${Math.round(v.share * 100)}%`;
}

/** What the verdict column says, with whom it depends on. */
function verdictText(v: ChangeVerdict): string {
  const deps = v.dependsOn?.length ? ` (with ${v.dependsOn.map((d) => `#${d}`).join(", ")})` : "";
  return `${v.verdict}${deps}`;
}

function pairLine(p: PairFinding): string {
  return `#${p.changes[0]} and #${p.changes[1]}: ${p.why}`;
}

/** The lines under the table: dependencies, the smallest set, the branches. */
export function footer(result: FinalizeResult): string[] {
  const lines: string[] = [];
  const dependent = result.pairs.filter((p) => p.dependent);
  for (const p of dependent) lines.push(`Depend on each other: ${pairLine(p)}`);
  for (const v of result.verdicts) if (v.note) lines.push(`#${v.change}: ${v.note}`);
  const s = result.smallestSet;
  const keep = s.kept.map((k) => `#${k}`).join(" ") || "none";
  lines.push(
    s.removed.length === 0
      ? `Smallest set: every kept change (${keep}); ${s.why}`
      : `Smallest set: ${keep} (${s.kept.length} of ${result.verdicts.length} changes, without ${s.removed.map((r) => `#${r}`).join(" ")}): ${s.why}`,
  );
  if (result.branches.final) lines.push(`Final code: ${result.branches.final.branch} (${shortCommit(result.branches.final.commit)}), on the session's base commit; \`autoresearch merge --final\` merges it`);
  for (const b of result.branches.changes) {
    const with_ = b.holds.filter((h) => h !== b.change);
    lines.push(`Change #${b.change}: ${b.branch} (${shortCommit(b.commit)})${with_.length ? `, with ${with_.map((h) => `#${h}`).join(", ")} it cannot exist without` : ""}`);
  }
  for (const s2 of result.branches.skipped) lines.push(`Change #${s2.change}: no branch (${s2.reason})`);
  return lines;
}

/** The title line: what was measured, how often, when. */
function title(result: FinalizeResult, options: FinalizeTableOptions): string {
  const when = formatTimestamp(result.at);
  const n = options.runsPerVariant !== undefined ? `, ${options.runsPerVariant} run${options.runsPerVariant === 1 ? "" : "s"} of each variant` : "";
  return `Finalize${options.tag ? ` of ${options.tag}` : ""}: best #${result.best.id} (${shortCommit(result.best.commit)}), ${result.runs} runs${n}${when ? `, finished ${when}` : ""}`;
}

/** The headline: best vs baseline as measured here, and how much of the gain the changes that matter carry. */
export function finalizeHeadline(result: FinalizeResult): string {
  const matters = result.verdicts.filter((v) => v.verdict === "matters");
  const parts = [`${result.metric}: best ${formatMetric(result.best.mean)} vs baseline ${formatMetric(result.baseline.mean)} re-measured here`];
  const s = result.smallestSet;
  const share = s.loss && result.gain && result.gain.mean > 0 ? `${Math.round((1 - s.loss.mean / result.gain.mean) * 100)}% of the gain` : null;
  // A set refused is not the final code: said, so its share is not read as what the final code keeps.
  const set = `the smallest set (${s.kept.length} of ${result.verdicts.length})`;
  const kept = share === null ? "" : s.accepted ? `; ${set} keeps ${share}` : `; ${set} would keep ${share} but was not shown as good as the best, which stays the final code`;
  parts.push(
    `${matters.length} of ${result.verdicts.length} kept changes matter, ${result.verdicts.filter((v) => v.verdict === "within noise").length} are within noise, ${result.verdicts.filter((v) => v.verdict === "hurts").length} hurt${kept}`,
  );
  return parts.join(". ");
}

/**
 * The contribution table: each kept change, its delta when kept, the metric's change when it is
 * taken out of the best (mean ± the spread of one round), the confidence that it matters, and the
 * verdict; then the dependencies, the smallest set and the branches.
 */
export function renderFinalizeTable(result: FinalizeResult, options: FinalizeTableOptions): string {
  const d = result.direction;
  const header = ["change", "kept Δ", `${result.metric} without it (vs best)`, "confidence it matters", "verdict", "share of gain"];
  const bar = `Confidence: the loss without the change in standard errors (and the one-sided probability that it is real); a change matters above ${result.critical === undefined ? "Z" : result.critical.toFixed(1)} SE, hurts below -${result.critical === undefined ? "Z" : result.critical.toFixed(1)}.`;
  const rows = result.verdicts.map((v) => [`#${v.change} ${oneLine(v.description)}`, formatDelta(v.keptDelta), rawLoss(v.loss, d), formatConfidence(v.loss, v.confidence), verdictText(v), share(v)]);
  if (options.format === "markdown") {
    const md = rows.map((r) => [escapeMarkdown(r[0] as string, 70), ...r.slice(1).map((c) => escapeMarkdown(c, 60))]);
    return [`### ${title(result, options)}`, "", `${finalizeHeadline(result)}.`, "", markdownTable(header, md), "", `${bar}`, "", ...footer(result).map((l) => `- ${escapeProse(l, 400)}`), ""].join("\n");
  }
  const cells = rows.map((r) => [truncate(r[0] as string, 48), ...r.slice(1)]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => (r[c] as string).length)));
  const line = (r: string[]) => `  ${r.map((c, i) => c.padEnd(widths[i] as number)).join("  ")}`.trimEnd();
  const { width } = options;
  const table = [line(header), ...cells.map(line)];
  const body =
    width === undefined || table.every((l) => l.length <= width)
      ? table
      : rows.map((r) =>
          [
            fitWidth(`  ${r[0]}`, width, "  "),
            fitWidth(`      ${r.slice(1).map((cell, i) => `${header[i + 1]} ${cell}`).filter((_, i) => r[i + 1] !== "").join("; ")}`, width, "  "),
          ].join("\n"),
        );
  const sentence = (text: string) => fitWidth(text, width, "  ");
  return [sentence(title(result, options)), sentence(`${finalizeHeadline(result)}.`), "", ...body, "", sentence(bar), ...footer(result).map(sentence), ""].join("\n");
}
