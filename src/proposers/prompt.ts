import { describeDirection, gain, delta as metricDelta, percentChange } from "../metric/index.js";
import type { Direction, ExperimentRecord, PlatformInfo, ProposalContext } from "../types.js";
import { CATEGORIES } from "../types.js";
import { attentionText } from "../platform/index.js";

/**
 * The prompt every model-backed proposer sends: the rules (system) and everything known about
 * the session (user). Pure and deterministic, so it can be snapshot-tested. When it would exceed
 * `maxChars`, the oldest history rows are collapsed into per-category counts, then the README and
 * the read-only files are shortened; the training script is always included in full.
 */
export interface PromptOptions {
  /** Budget for system + user, in characters (about 4 per token). */
  maxChars?: number;
  /** "tool": reply with a propose_experiment call (LLM). "agent": edit the file directly. */
  replyFormat?: "tool" | "agent";
}

export interface BuiltPrompt {
  system: string;
  user: string;
}

export const DEFAULT_PROMPT_MAX_CHARS = 150_000;
export const PROPOSAL_TOOL_NAME = "propose_experiment";
/** Rows always shown in full, however long the history. */
const MIN_RECENT_ROWS = 8;
const MAX_REJECTED_SHOWN = 10;
const MAX_KEPT_LISTED = 30;

export function buildPrompt(ctx: ProposalContext, opts: PromptOptions = {}): BuiltPrompt {
  const maxChars = opts.maxChars ?? DEFAULT_PROMPT_MAX_CHARS;
  const system = systemPrompt(ctx, opts.replyFormat ?? "tool");
  const experiments = ctx.history.filter((r) => r.id !== 0 && r.category !== "baseline");

  const render = (recent: number, readmeMax: number, readonlyMax: number): string =>
    userPrompt(ctx, experiments, recent, readmeMax, readonlyMax);
  const fits = (user: string): boolean => system.length + user.length <= maxChars;

  const all = experiments.length;
  let user = render(all, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY);
  if (fits(user)) return { system, user };

  // 1. Soft caps on the README and the read-only files, so a huge README does not push out the history.
  const files = Math.max(1, ctx.readonlyFiles.length);
  let readmeMax = Math.max(2_000, Math.floor(maxChars * 0.15));
  let readonlyMax = Math.max(4_000, Math.floor((maxChars * 0.35) / files));
  user = render(all, readmeMax, readonlyMax);
  if (fits(user)) return { system, user };

  // 2. Collapse the oldest rows: keep the largest number of recent rows that fits.
  const minRecent = Math.min(MIN_RECENT_ROWS, all);
  let lo = minRecent;
  let hi = all - 1;
  let recent = minRecent;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(render(mid, readmeMax, readonlyMax))) {
      recent = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  user = render(recent, readmeMax, readonlyMax);
  if (fits(user)) return { system, user };

  // 3. Shorten the README, then the read-only files, further (head and tail kept).
  const over = (u: string) => system.length + u.length - maxChars;
  readmeMax = Math.max(1_000, Math.min(readmeMax, ctx.readme?.length ?? 0) - over(user) - 200);
  user = render(recent, readmeMax, readonlyMax);
  if (fits(user)) return { system, user };
  const longest = Math.max(0, ...ctx.readonlyFiles.map((f) => Math.min(f.text.length, readonlyMax)));
  readonlyMax = Math.max(1_000, longest - Math.ceil((over(user) + 200 * files) / files));
  return { system, user: render(recent, readmeMax, readonlyMax) };
}

// ---------------------------------------------------------------------------------------------

function systemPrompt(ctx: ProposalContext, replyFormat: "tool" | "agent"): string {
  const train = ctx.trainPath;
  const metric = ctx.metric.name;
  const readonly = ctx.readonlyFiles.map((f) => `\`${f.path}\``).join(", ") || "(none)";
  const scope = ctx.scope.join(", ");
  const lines = [
    "You are an autonomous ML researcher running a fixed-budget experiment loop (autoresearch).",
    `Each iteration you propose ONE focused modification to the training script \`${train}\`. The loop applies it, commits it, trains for a fixed time budget, measures \`${metric}\` (${describeDirection(ctx.metric.direction)}), keeps the change if the metric improved and discards it otherwise.`,
    "",
    "Rules:",
    "1. One change at a time. Never bundle several independent modifications into one proposal.",
    `2. Only the training script \`${train}\` may change. The read-only files (${readonly}), the evaluation harness, tokenizer or vocabulary files and dependency files must never change.`,
    `3. Stay inside the allowed scope: ${scope}. The category of your change must be one of these.`,
    "4. Never install packages or add dependencies: use only what the script already imports and the standard library.",
    `5. Keep the script printing its metric line \`${metric}: <number>\` (and the summary lines it already prints). Never change how the metric is computed, nor how the time budget is read or enforced.`,
    "6. Do not repeat a change that was already tried (see the history), and never retry a change that crashed.",
    "7. If the last several experiments all failed, try a significantly different direction. If a change improved the metric, explore nearby variations before moving to another dimension.",
    "8. Simplicity principle: if two configurations achieve the same metric, the one with fewer lines of code wins. A deletion that keeps performance is better than an addition. Prefer simple, interpretable changes over complex ones with equal effect.",
    "9. Respect the platform notes (device, precision, batch size, compilation) given below.",
    "",
  ];
  if (replyFormat === "tool") {
    lines.push(
      "Reply format:",
      `Call the tool \`${PROPOSAL_TOOL_NAME}\` exactly once with this JSON object:`,
      "{",
      '  "description": "one line, under 100 characters, e.g. ReLU² activation instead of GELU",',
      `  "category": one of ${CATEGORIES.map((c) => `"${c}"`).join(" | ")},`,
      '  "rationale": "why you expect this to improve the metric",',
      '  "direction": "what you are exploring over the next iterations, e.g. activation functions",',
      `  "edits": [{"search": "exact text from the current ${train}", "replace": "its replacement"}]`,
      "}",
      `Each \`search\` must be copied verbatim (whitespace and indentation included) from the current training script and must occur exactly once in it: include enough surrounding lines to make it unique. Edits are applied in order. Keep them minimal.`,
      "If you cannot call tools, reply with only that JSON object inside one ```json fenced block.",
    );
  } else {
    lines.push(
      "How to make the change:",
      `Edit \`${train}\` directly in the working directory. Do not modify, create or delete any other file: other changes are reverted and recorded as violations. Do not run the training, install packages, or commit: the loop does that.`,
      "When you are done, write this JSON object to the file named by the environment variable AUTORESEARCH_PROPOSAL_FILE:",
      `{"description": "one line, under 100 characters", "category": one of ${CATEGORIES.map((c) => `"${c}"`).join(" | ")}, "direction": "what you are exploring", "rationale": "why you expect it to help"}`,
    );
  }
  return lines.join("\n");
}

function userPrompt(
  ctx: ProposalContext,
  experiments: ExperimentRecord[],
  recent: number,
  readmeMax: number,
  readonlyMax: number,
): string {
  const out: string[] = [];
  const dir = ctx.metric.direction;
  const { baseline, best } = ctx;

  out.push("## Session");
  out.push(`Metric: ${ctx.metric.name} (${describeDirection(dir)})`);
  out.push(`Iteration: ${ctx.iteration}`);
  out.push(`Baseline: ${fmt(baseline.metric)} (experiment ${baseline.id}, commit ${short(baseline.commit)})`);
  if (best.id === baseline.id) {
    out.push("Best so far: the baseline (nothing has beaten it yet)");
  } else {
    out.push(
      `Best so far: ${fmt(best.metric)} (experiment ${best.id}, commit ${short(best.commit)}, ${delta(best.metric, baseline.metric)}${pct(best.metric, baseline.metric)} vs baseline): ${oneLine(best.description, 160)}`,
    );
  }
  out.push(`Training script: ${ctx.trainPath}, ${nonEmptyLines(ctx.trainText)} non-empty lines`);
  const last = experiments[experiments.length - 1];
  if (ctx.failureStreak > 0) {
    const advice = ctx.failureStreak >= 3 ? " Try a significantly different direction." : "";
    out.push(`Failure streak: the last ${ctx.failureStreak} experiment(s) were not kept.${advice}`);
  } else if (last && last.status === "keep") {
    out.push(`The last experiment (#${last.id}) improved the metric: consider nearby variations of it.`);
  }

  out.push("", "## Platform");
  out.push(...platformLines(ctx.platform));

  out.push("", "## Allowed scope");
  out.push(`${ctx.scope.join(", ")} (your category must be one of these)`);

  const early = experiments.length < 3;
  if (ctx.hypothesis) {
    out.push("", "## The user's hypothesis");
    out.push(
      early
        ? "Test this first: your first experiments should examine it."
        : "The session started from this hypothesis; keep it in mind.",
    );
    out.push(ctx.hypothesis.trim());
  }
  if (ctx.plan) {
    out.push("", "## The user's plan");
    out.push(early ? "Follow this plan for the first iterations." : "The session started from this plan.");
    out.push(ctx.plan.trim());
  }

  if (ctx.oomRetry) {
    const e = ctx.oomRetry.experiment;
    out.push("", "## Out-of-memory retry");
    out.push(
      `Experiment #${e.id} ("${oneLine(e.description, 160)}") ran out of memory on ${ctx.platform.label}. Propose the same change again with lower memory use: ${oomAdvice(ctx.platform)} This is the one retry; if it runs out of memory again it is discarded.`,
    );
    if (ctx.oomRetry.logTail.length > 0) {
      out.push("Last lines of its output:");
      out.push(fence(ctx.oomRetry.logTail.slice(-30).join("\n"), ""));
    }
  }

  if (ctx.feedback) {
    out.push("", "## Your previous proposal was rejected");
    out.push(oneLine(ctx.feedback, 1_000));
    out.push("Propose a corrected or different change.");
  }

  out.push("", ...historyLines(experiments, recent, dir));

  if (ctx.rejected.length > 0) {
    const shown = ctx.rejected.slice(-MAX_REJECTED_SHOWN);
    out.push("", `## Rejected proposals (${shown.length === ctx.rejected.length ? "all" : `last ${shown.length} of ${ctx.rejected.length}`})`);
    for (const r of shown) out.push(`- iteration ${r.iteration}: ${oneLine(r.description, 100)} — ${oneLine(r.reason, 160)}`);
  }

  if (ctx.readme !== null) {
    out.push("", "## README");
    out.push(fence(clip(ctx.readme, readmeMax), "markdown"));
  }
  for (const file of ctx.readonlyFiles) {
    out.push("", `## Read-only file: ${file.path} (never modify)`);
    out.push(fence(clip(file.text, readonlyMax), langOf(file.path)));
  }
  out.push("", `## Training script: ${ctx.trainPath} (the only file you may change; current version, in full)`);
  out.push(fence(ctx.trainText, langOf(ctx.trainPath)));
  out.push("", "Propose the next experiment.");
  return out.join("\n");
}

function historyLines(experiments: ExperimentRecord[], recent: number, dir: Direction): string[] {
  const out = [`## Experiment history (${experiments.length} experiment${experiments.length === 1 ? "" : "s"} after the baseline)`];
  if (experiments.length === 0) {
    out.push("None yet: this is the first experiment.");
    return out;
  }
  const older = experiments.slice(0, experiments.length - recent);
  const shown = experiments.slice(experiments.length - recent);
  if (older.length > 0) out.push(...summaryLines(older, dir), "");
  out.push(`delta = metric - best before it (${describeDirection(dir)}).`);
  out.push("id | status | metric | delta | category | description | reason");
  for (const r of shown) {
    const reason = r.detail ? `${r.reason}: ${oneLine(r.detail, 80)}` : r.reason;
    out.push(
      [r.id, r.status, fmt(r.metric), delta(r.metric, r.bestBefore), r.category, oneLine(r.description, 100), reason].join(" | "),
    );
  }
  return out;
}

/** Per-category counts and best deltas for the collapsed oldest rows. */
function summaryLines(older: ExperimentRecord[], dir: Direction): string[] {
  const first = older[0]?.id;
  const last = older[older.length - 1]?.id;
  const out = [`Experiments #${first}–#${last} (${older.length}), summarised by category:`];
  out.push("category | tried | keep | discard | crash | best delta");
  const cats = [...new Set(older.map((r) => r.category))].sort();
  for (const cat of cats) {
    const rows = older.filter((r) => r.category === cat);
    let bestRow: ExperimentRecord | undefined;
    for (const r of rows) {
      if (r.metric === null || r.bestBefore === null || !Number.isFinite(r.metric)) continue;
      if (!bestRow || (gain(r.metric, r.bestBefore, dir) ?? 0) > (gain(bestRow.metric, bestRow.bestBefore, dir) ?? 0)) bestRow = r;
    }
    const count = (s: string) => rows.filter((r) => r.status === s).length;
    const bestText = bestRow ? `${delta(bestRow.metric, bestRow.bestBefore)} (#${bestRow.id} ${oneLine(bestRow.description, 60)})` : "—";
    out.push([cat, rows.length, count("keep"), count("discard"), count("crash"), bestText].join(" | "));
  }
  const kept = older.filter((r) => r.status === "keep");
  if (kept.length > 0) {
    const listed = kept.slice(-MAX_KEPT_LISTED);
    const more = kept.length > listed.length ? ` (last ${listed.length} of ${kept.length})` : "";
    out.push(`Kept among them${more}: ${listed.map((r) => `#${r.id} ${oneLine(r.description, 60)} (${delta(r.metric, r.bestBefore)})`).join("; ")}`);
  }
  const crashes = new Map<string, number>();
  for (const r of older) if (r.status === "crash") crashes.set(r.reason, (crashes.get(r.reason) ?? 0) + 1);
  if (crashes.size > 0) {
    const parts = [...crashes.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    out.push(`Crash reasons: ${parts.map(([reason, n]) => `${reason} ×${n}`).join(", ")}`);
  }
  return out;
}

function platformLines(p: PlatformInfo): string[] {
  const a = p.adjustments;
  const compile = a.compile ? `on${a.compileMode ? ` (mode ${a.compileMode})` : ""}` : "off";
  const out = [
    `${p.label} (device ${p.device}, OS ${p.os}): ${p.detail}${p.torch ? `; PyTorch ${p.torch}` : ""}`,
    `Adjustments: torch.compile ${compile}; attention ${attentionText(a.attention)}; mixed precision ${a.ampDtype}; device batch size x${a.batchScale}; optimizer state fp32 cast ${a.castOptimizerStateFp32 ? "yes" : "no"}.`,
    "The training process reads these from AUTORESEARCH_DEVICE, AUTORESEARCH_COMPILE, AUTORESEARCH_AMP_DTYPE and AUTORESEARCH_BATCH_SCALE.",
  ];
  for (const note of a.notes) out.push(`- ${oneLine(note, 300)}`);
  return out;
}

function oomAdvice(p: PlatformInfo): string {
  if (p.kind === "mps") return "halve the device batch size (keep the effective batch with gradient accumulation).";
  if (p.kind === "cuda") return "reduce the device batch size (keeping the effective batch with gradient accumulation) or enable gradient checkpointing.";
  return "reduce the batch size (keeping the effective batch with gradient accumulation).";
}

// --- formatting helpers ------------------------------------------------------------------------


export function fmt(n: number | null): string {
  if (n === null) return "—";
  if (!Number.isFinite(n)) return String(n);
  return String(Number(n.toPrecision(6)));
}

/** A model reads short numbers better than results.tsv's 6 fixed decimals. */
function delta(metric: number | null, before: number | null): string {
  const raw = metricDelta(metric, before);
  if (raw === null) return "—";
  const d = Number(raw.toPrecision(4));
  return d > 0 ? `+${d}` : String(d);
}

function pct(metric: number | null, base: number | null): string {
  const p = percentChange(metric, base);
  return p === null ? "" : ` = ${p > 0 ? "+" : ""}${p.toFixed(2)}%`;
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function nonEmptyLines(text: string): number {
  return text.split("\n").filter((l) => l.trim().length > 0).length;
}

/** Keeps the head and tail of a long text with a marker in between. */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6);
  const tail = max - head;
  const omitted = text.length - head - tail;
  return `${text.slice(0, head)}\n[… ${omitted} characters omitted to fit the prompt …]\n${text.slice(text.length - tail)}`;
}

/** A fence longer than any run of backticks inside the text. */
function fence(text: string, lang: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${lang}\n${text}${text.endsWith("\n") ? "" : "\n"}${ticks}`;
}

function langOf(path: string): string {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  const map: Record<string, string> = { py: "python", md: "markdown", sh: "bash", js: "javascript", ts: "typescript", jl: "julia", r: "r" };
  return map[ext] ?? "";
}
