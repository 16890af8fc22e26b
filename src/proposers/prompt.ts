import { calibrate, describeCalibration } from "../ledger/calibration.js";
import { memoryView, noteLine } from "../ledger/memory.js";
import { describeDirection, gain, delta as metricDelta, percentChange } from "../metric/index.js";
import type { Direction, ExperimentRecord, MemoryEntry, PlatformInfo, ProposalContext } from "../types.js";
import { CATEGORIES } from "../types.js";
import { attentionText } from "../platform/index.js";
import { oneLine } from "../text.js";

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
  /** Ask for this many experiments in one reply (a propose_experiments call; "tool" format only). */
  batch?: number;
}

export interface BuiltPrompt {
  system: string;
  user: string;
}

export const DEFAULT_PROMPT_MAX_CHARS = 150_000;
export const PROPOSAL_TOOL_NAME = "propose_experiment";
/** The batch tool: several experiments in one call, when several workers are free. */
export const PROPOSALS_TOOL_NAME = "propose_experiments";
/** Rows always shown in full, however long the history. */
const MIN_RECENT_ROWS = 8;
const MAX_REJECTED_SHOWN = 10;
const MAX_KEPT_LISTED = 30;
/** Children of the node a proposal builds on, shown with what each gave (the most recent). */
const MAX_SIBLINGS_SHOWN = 20;
/** The most rows the history table shows; older experiments are summarised by category. */
export const MAX_TABLE_ROWS = 200;
/** Experiments shown with their rationale and run numbers. */
const DETAILED_ROWS = 5;
/** Recent runs whose step counts show how much the machine's speed varies. */
const SPREAD_RUNS = 20;
/** Failures in a row in one category before the brief asks for another. */
export const CATEGORY_STREAK = 3;
/** Without the loop's facts (a caller building a brief by hand), the keep rule is stated generally. */
const GENERIC_KEEP_RULE = "a change is kept when its metric is better than the best so far; otherwise the branch is reset to the best.";

export function buildPrompt(ctx: ProposalContext, opts: PromptOptions = {}): BuiltPrompt {
  const maxChars = opts.maxChars ?? DEFAULT_PROMPT_MAX_CHARS;
  const batch = opts.replyFormat !== "agent" && (opts.batch ?? 1) > 1 ? (opts.batch as number) : 1;
  const system = systemPrompt(ctx, opts.replyFormat ?? "tool", batch);
  const experiments = ctx.history.filter((r) => r.id !== 0 && r.category !== "baseline");

  const render = (recent: number, readmeMax: number, readonlyMax: number): string =>
    userPrompt(ctx, experiments, recent, readmeMax, readonlyMax, batch);
  const fits = (user: string): boolean => system.length + user.length <= maxChars;

  // Rows beyond the last MAX_TABLE_ROWS go into the per-category summary even when they would fit:
  // hundreds of old failures cost tokens every iteration and say less than the summary does.
  const all = Math.min(experiments.length, MAX_TABLE_ROWS);
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

function systemPrompt(ctx: ProposalContext, replyFormat: "tool" | "agent", batch: number): string {
  const train = ctx.trainPath;
  const metric = ctx.metric.name;
  const readonly = ctx.readonlyFiles.map((f) => `\`${f.path}\``).join(", ") || "(none)";
  const scope = ctx.scope.join(", ");
  const keepRule = ctx.run?.keepRule ?? GENERIC_KEEP_RULE;
  const lines = [
    "You are an autonomous ML researcher running a fixed-budget experiment loop (autoresearch).",
    `Each iteration you propose ONE focused modification to the training script \`${train}\`. The loop applies it, commits it, trains for a fixed time budget, measures \`${metric}\` (${describeDirection(ctx.metric.direction)}) and decides whether to keep it.`,
    "",
    "How the loop decides (these are the rules it applies, not suggestions):",
    `- Keep rule: ${keepRule}`,
    "- Simplicity: only an exactly equal metric is decided by size: the change is then kept if the script has fewer non-empty lines. A gain of any size is kept however many lines it adds, so do not buy a tiny gain with a lot of code; a deletion that keeps the metric is worth proposing.",
    ctx.run?.noiseFloor === 0
      ? "- Noise: repeated runs of the same code printed the same metric (a noise floor of 0), so a measured gain is what it is. Never change a random seed: each run's seed is set by the loop (AUTORESEARCH_SEED); it is not a hyperparameter."
      : `- Noise: one run is one sample. Gains about as small as the run-to-run spread${ctx.run?.noiseFloor !== undefined ? ` (measured: ${ctx.run.noiseFloor.toPrecision(3)}, the standard deviation of repeated runs of the same code)` : ""} can be luck; weigh them accordingly before building on them. Never change a random seed: each run's seed is set by the loop (AUTORESEARCH_SEED), and a different seed only moves the noise, it is not a hyperparameter.`,
    "- Repeats: a proposal whose resulting training script is identical to one already run is refused. Re-testing a near-miss on top of the new best, or fixing a trivial crash (a typo, a shape error) of a promising idea, gives a different script and is allowed and encouraged.",
    "",
    "Rules:",
    "1. One change at a time. Never bundle several independent modifications into one proposal.",
    `2. Only the training script \`${train}\` may change. The read-only files (${readonly}), the evaluation harness, tokenizer or vocabulary files and dependency files must never change.`,
    `3. Stay inside the allowed scope: ${scope}. The category of your change must be one of these.`,
    "4. Never install packages or add dependencies: use only what the script already imports and the standard library.",
    `5. Keep the script printing its metric line \`${metric}: <number>\` (and the summary lines it already prints). Never change how the metric is computed, nor how the time budget is read or enforced.`,
    "6. Use the history and the research notes: build on what worked, do not walk back into dead ends, and when several experiments in a row failed, change direction. If a change improved the metric, explore nearby variations before moving to another dimension.",
    "7. Fit the run's facts below: the time budget per run, the platform, and what the script really runs with (batch scale).",
    "8. Keep the research notes going: say in `learned` what the last result taught (one line), add `ideas` worth trying later, and predict the change in the metric as `expected_delta` (new metric minus best so far; negative means lower).",
    "",
  ];
  if (replyFormat === "tool" && batch > 1) {
    lines.push(
      `This time several workers are free: propose ${batch} experiments at once, in one reply. They run side by side, each applied on its own to the current training script (never on top of each other), so each must make sense alone.`,
      "Make them diverse, so the batch teaches more than one guess repeated: spread them over different categories and ideas, or lay out a small factorial (two or three settings, each at a level or two), not the same change at several nearby values. No two may give the same script, and none may repeat an experiment in flight. Each still holds one focused change, with its own rationale and expected_delta.",
      "",
      "Reply format:",
      `Call the tool \`${PROPOSALS_TOOL_NAME}\` exactly once with {"experiments": [...]}, ${batch} objects of this shape:`,
      "{",
      '  "description": "one line, under 100 characters, e.g. ReLU² activation instead of GELU",',
      `  "category": one of ${CATEGORIES.map((c) => `"${c}"`).join(" | ")},`,
      '  "rationale": "why you expect this to improve the metric",',
      '  "direction": "what you are exploring over the next iterations",',
      '  "learned": "one line: what the last experiment\'s result taught (empty before the first)",',
      '  "ideas": ["backlog items worth trying later (may be empty)"],',
      '  "expected_delta": the change in the metric you expect versus the best so far, a number (or null),',
      `  "edits": [{"search": "exact text from the current ${train}", "replace": "its replacement"}]`,
      "}",
      `Each \`search\` must be copied verbatim (whitespace and indentation included) from the current training script and must occur exactly once in it. Each experiment is checked on its own: one that does not apply is refused and the others still run.`,
      `If you cannot call tools, reply with only {"experiments": [...]} inside one \`\`\`json fenced block.`,
    );
  } else if (replyFormat === "tool") {
    lines.push(
      "Reply format:",
      `Call the tool \`${PROPOSAL_TOOL_NAME}\` exactly once with this JSON object:`,
      "{",
      '  "description": "one line, under 100 characters, e.g. ReLU² activation instead of GELU",',
      `  "category": one of ${CATEGORIES.map((c) => `"${c}"`).join(" | ")},`,
      '  "rationale": "why you expect this to improve the metric",',
      '  "direction": "what you are exploring over the next iterations, e.g. activation functions",',
      '  "learned": "one line: what the last experiment\'s result taught (empty before the first)",',
      '  "ideas": ["backlog items worth trying later (may be empty)"],',
      '  "expected_delta": the change in the metric you expect versus the best so far, a number (or null),',
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
      `{"description": "one line, under 100 characters", "category": one of ${CATEGORIES.map((c) => `"${c}"`).join(" | ")}, "direction": "what you are exploring", "rationale": "why you expect it to help", "learned": "one line: what the last result taught", "ideas": ["backlog items for later"], "expected_delta": <number: expected metric change vs the best so far>}`,
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
  batch: number,
): string {
  const out: string[] = [];
  const dir = ctx.metric.direction;
  const { baseline, best } = ctx;

  out.push("## Session");
  out.push(`Metric: ${ctx.metric.name} (${describeDirection(dir)})`);
  out.push(...realityLines(ctx));
  out.push(`Baseline: ${fmt(baseline.metric)} (experiment ${baseline.id}, commit ${short(baseline.commit)})`);
  if (best.id === baseline.id) {
    out.push("Best so far: the baseline (nothing has beaten it yet)");
  } else {
    out.push(
      `Best so far: ${fmt(best.metric)} (experiment ${best.id}, commit ${short(best.commit)}, ${delta(best.metric, baseline.metric)}${pct(best.metric, baseline.metric)} vs baseline): ${oneLine(best.description, 160)}`,
    );
  }
  out.push(`Training script: ${ctx.trainPath}, ${nonEmptyLines(ctx.trainText)} non-empty lines`);
  if ((ctx.workers ?? 1) > 1) {
    const running = ctx.inFlight?.length ?? 0;
    out.push(`Workers: ${ctx.workers} run experiments side by side; ${running === 0 ? "none is" : `${running} ${running === 1 ? "is" : "are"}`} in flight now (listed below), their results not in yet.`);
  }
  const last = experiments[experiments.length - 1];
  if (ctx.failureStreak > 0) {
    const advice = ctx.failureStreak >= 3 ? " Try a significantly different direction." : "";
    out.push(`Failure streak: the last ${ctx.failureStreak} experiment(s) were not kept.${advice}`);
  } else if (last && last.status === "keep") {
    out.push(`The last experiment (#${last.id}) improved the metric: consider nearby variations of it.`);
  }
  const spread = stepSpread(experiments);
  if (spread) {
    out.push(
      `Run-to-run speed: the last ${spread.runs} runs that printed a step count did ${spread.min} to ${spread.max} steps in the same budget, so part of any small delta is the machine's speed, not the change.`,
    );
  }
  const calibration = calibrate(experiments, dir);
  if (calibration) out.push(`Your predictions so far: ${describeCalibration(calibration)}`);
  const stuck = categoryStreak(experiments);
  if (stuck && stuck.count >= CATEGORY_STREAK) {
    const others = ctx.scope.filter((c) => c !== stuck.category);
    out.push(
      `Diversity: the last ${stuck.count} experiments were all \`${stuck.category}\` changes and none was kept.${others.length > 0 ? ` Propose a change in another category (${others.join(", ")}) this time.` : " Try a quite different kind of change within it."}`,
    );
  }

  out.push("", "## Platform");
  out.push(...platformLines(ctx));

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

  if (ctx.buildsOn) {
    out.push("", "## The node this experiment builds on");
    out.push(
      `It builds on experiment #${ctx.buildsOn.id}, not on the best: ${oneLine(ctx.buildsOn.why, 300)}. The training script below is #${ctx.buildsOn.id}'s; a result that beats the best makes it the new best.`,
    );
  }
  if (ctx.combining) {
    const ids = ctx.combining.ids.map((id) => `#${id}`).join(", ");
    out.push("", "## The combination this experiment builds on");
    out.push(
      `The training script below is the best #${best.id} with the changes of ${ids} applied on top (each beat the code it changed); that combination runs now as #${ctx.combining.combination}. Propose a change on top of it: your experiment is measured against #${best.id}, so it wins only if the combination and your change together beat #${best.id}.`,
    );
  }
  if (ctx.siblings?.length) {
    const on = ctx.buildsOn?.id ?? best.id;
    out.push("", `## Earlier experiments built on #${on} (the same code as yours): what each gave`);
    out.push(`delta = its metric - #${on}'s (${describeDirection(dir)}).`);
    for (const s of ctx.siblings.slice(-MAX_SIBLINGS_SHOWN)) out.push(`- #${s.id} ${s.status} ${s.delta === null ? "—" : signed(s.delta)}: ${oneLine(s.description, 120)}`);
  }

  out.push("", ...notesLines(ctx));
  const detail = recentDetailLines(experiments, dir);
  if (detail.length > 0) out.push("", ...detail);
  out.push("", ...historyLines(experiments, recent, dir));

  if (ctx.rejected.length > 0) {
    const shown = ctx.rejected.slice(-MAX_REJECTED_SHOWN);
    out.push("", `## Rejected proposals (${shown.length === ctx.rejected.length ? "all" : `last ${shown.length} of ${ctx.rejected.length}`})`);
    for (const r of shown) out.push(`- iteration ${r.iteration}: ${oneLine(r.description, 100)} — ${oneLine(r.reason, 160)}`);
  }

  if (ctx.inFlight?.length) {
    out.push("", "## Experiments in flight (proposed already, results not in yet): do not propose these again");
    for (const e of ctx.inFlight) out.push(`- #${e.id} [${e.category}] ${oneLine(e.description, 160)}${e.parent === undefined ? "" : ` (on #${e.parent})`}`);
  }

  if (ctx.readme !== null) {
    out.push("", "## README (the project's own text: where it disagrees with the run's facts above, the facts hold)");
    out.push(fence(clip(ctx.readme, readmeMax), "markdown"));
  }
  for (const file of ctx.readonlyFiles) {
    out.push("", `## Read-only file: ${file.path} (never modify)`);
    out.push(fence(clip(file.text, readonlyMax), langOf(file.path)));
  }
  out.push("", `## Training script: ${ctx.trainPath} (the only file you may change; current version, in full)`);
  out.push(fence(ctx.trainText, langOf(ctx.trainPath)));
  out.push("", batch > 1 ? `Propose the next ${batch} experiments.` : "Propose the next experiment.");
  return out.join("\n");
}

/** Iteration k of N, the time budget, time and money left: what the model must plan within. */
function realityLines(ctx: ProposalContext): string[] {
  const run = ctx.run;
  const out: string[] = [];
  if (!run) {
    out.push(`Iteration: ${ctx.iteration}`);
    return out;
  }
  const left = run.maxIterations === null ? null : Math.max(0, run.maxIterations - ctx.iteration);
  out.push(
    run.maxIterations === null
      ? `Iteration: ${ctx.iteration} (no iteration limit)`
      : `Iteration: ${ctx.iteration} of ${run.maxIterations} (${left === 0 ? "this is the last one" : `${left} more after this one`})`,
  );
  out.push(
    `Time budget: each run trains for ${seconds(run.budgetSec)} (the script reads AUTORESEARCH_TIME_BUDGET=${run.budgetSec}); a run still going after ${seconds(run.timeoutSec)} is killed and counts as a crash. Changes must pay off within that budget.`,
  );
  if (run.maxTimeSec !== undefined && run.timeLeftSec !== undefined) {
    out.push(`Session time left: ${seconds(Math.max(0, run.timeLeftSec))} of ${seconds(run.maxTimeSec)}.`);
  }
  if (run.maxCostUsd !== undefined) {
    out.push(`Proposal cost so far: $${run.spentUsd.toFixed(2)} of $${run.maxCostUsd.toFixed(2)}.`);
  } else if (run.spentUsd > 0) {
    out.push(`Proposal cost so far: $${run.spentUsd.toFixed(2)}.`);
  }
  return out;
}

/** The research notes: findings, dead ends and a rotating window of the ideas backlog. */
function notesLines(ctx: ProposalContext): string[] {
  const view = memoryView(ctx.memory ?? [], ctx.iteration);
  const out = ["## Research notes (findings, dead ends, ideas backlog; [user] = added by the user, who steers the session)"];
  if (view.findings.length + view.deadEnds.length + view.ideas.length === 0) {
    out.push("None yet: your `learned` lines and `ideas` start them.");
    return out;
  }
  const item = (e: MemoryEntry) => `- ${noteLine(e, (text) => oneLine(text, 300))}`;
  if (view.findings.length > 0) out.push(`Findings (last ${view.findings.length}):`, ...view.findings.map(item));
  if (view.deadEnds.length > 0) out.push(`Dead ends (last ${view.deadEnds.length}):`, ...view.deadEnds.map(item));
  if (view.ideas.length > 0) {
    const window = view.backlog > view.ideas.length ? ` (${view.ideas.length} of ${view.backlog}; the window moves on each iteration)` : "";
    out.push(`Ideas backlog${window}:`, ...view.ideas.map(item));
  }
  return out;
}

/** The last few experiments with their rationale, the run's own numbers and the prediction. */
function recentDetailLines(experiments: ExperimentRecord[], dir: Direction): string[] {
  const shown = experiments.slice(-DETAILED_ROWS);
  if (shown.length === 0) return [];
  const out = [`## Recent experiments in detail (last ${shown.length})`];
  for (const r of shown) {
    const outcome = r.status === "keep" ? `kept (${r.reason})` : r.status === "crash" ? `crashed (${r.detail ? oneLine(r.detail, 160) : r.reason})` : `discarded (${r.reason})`;
    out.push(`#${r.id} [${r.category}] ${oneLine(r.description, 120)} — ${outcome}`);
    const parts = [`metric ${fmt(r.metric)}`, `delta ${delta(r.metric, r.bestBefore)} (${describeDirection(dir)})`];
    if (r.expectedDelta !== undefined) parts.push(`you predicted ${signed(r.expectedDelta)}`);
    const numbers = runNumbers(r);
    if (numbers) parts.push(`run: ${numbers}`);
    out.push(`  ${parts.join("; ")}`);
    if (r.rationale) out.push(`  why: ${oneLine(r.rationale, 300)}`);
  }
  return out;
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
  out.push(`delta = metric - best before it (${describeDirection(dir)}); predicted = your expected_delta; run = what the run printed (steps, training seconds, memory, parameters).`);
  out.push("id | status | metric | delta | predicted | category | description | reason | run");
  for (const r of shown) {
    // A kept row's detail repeats its delta, a regression's its reason: only a crash's says more.
    const reason = r.detail && r.status === "crash" && r.detail !== r.reason ? `${r.reason}: ${oneLine(r.detail, 80)}` : r.reason;
    out.push(
      [
        r.id,
        r.status,
        fmt(r.metric),
        delta(r.metric, r.bestBefore),
        r.expectedDelta === undefined ? "—" : signed(r.expectedDelta),
        r.category,
        oneLine(r.description, 100),
        reason,
        runNumbers(r) || "—",
      ].join(" | "),
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

/**
 * The platform as facts of this run: what the run's environment says, what the script really
 * runs with (its batch constants after AUTORESEARCH_BATCH_SCALE), and PyTorch settings only for
 * a script that uses PyTorch.
 */
function platformLines(ctx: ProposalContext): string[] {
  const p = ctx.platform;
  const a = p.adjustments;
  const out = [
    `${p.label} (device ${p.device}, OS ${p.os}): ${p.detail}${p.torch ? `; PyTorch ${p.torch}` : ""}`,
    `Each run's environment: AUTORESEARCH_DEVICE=${p.device}, AUTORESEARCH_COMPILE=${a.compile ? 1 : 0}, AUTORESEARCH_AMP_DTYPE=${a.ampDtype}, AUTORESEARCH_BATCH_SCALE=${a.batchScale}.`,
  ];
  const readsScale = ctx.trainText.includes("AUTORESEARCH_BATCH_SCALE");
  if (readsScale) {
    const constants = batchConstants(ctx.trainText);
    const examples = constants.map(([name, value]) => `${name} = ${value} runs as ${Math.max(1, Math.round(value * a.batchScale))}`);
    out.push(
      a.batchScale === 1
        ? "The script reads AUTORESEARCH_BATCH_SCALE, which is 1 here: its batch constants run as written."
        : `The script reads AUTORESEARCH_BATCH_SCALE: on this platform its batch size is multiplied by ${a.batchScale}${examples.length > 0 ? ` (${examples.join("; ")})` : ""}. The constants you see are before that scaling; the loop has already made the batch smaller for this platform, so do not shrink it again for the platform's sake.`,
    );
  } else if (a.batchScale !== 1) {
    out.push(`The script does not read AUTORESEARCH_BATCH_SCALE, so its batch constants run as written (the platform's suggested scale ${a.batchScale} is not applied).`);
  }
  if (usesPyTorch(ctx.trainText)) {
    const compile = a.compile ? `on${a.compileMode ? ` (mode ${a.compileMode})` : ""}` : "off";
    out.push(
      `PyTorch settings for this platform: torch.compile ${compile}; attention ${attentionText(a.attention)}; mixed precision ${a.ampDtype}; optimizer state fp32 cast ${a.castOptimizerStateFp32 ? "yes" : "no"}.`,
    );
    for (const note of a.notes) out.push(`- ${oneLine(note, 300)}`);
  } else {
    out.push(`The script does not use PyTorch, so no PyTorch settings apply to it.${p.kind === "cpu" ? " It runs on the CPU." : ""}`);
  }
  return out;
}

/** True when the script imports PyTorch (Python `import torch` / `from torch ...`). */
export function usesPyTorch(text: string): boolean {
  return /^\s*(?:import\s+torch\b|from\s+torch\b)/m.test(text);
}

/** `BATCH_SIZE = 32` style constants (any *BATCH* name but the scale itself), first few. */
function batchConstants(text: string): [string, number][] {
  const out: [string, number][] = [];
  const re = /^\s*(?:(?:export\s+)?(?:const|let|var)\s+)?([A-Za-z_]*BATCH[A-Za-z_]*)\s*(?::[^=\n]*)?=\s*(\d+)\s*;?\s*(?:(?:#|\/\/).*)?$/gim;
  for (const m of text.matchAll(re)) {
    const name = m[1] as string;
    if (/scale/i.test(name)) continue;
    out.push([name, Number(m[2])]);
    if (out.length >= 3) break;
  }
  return out;
}

function oomAdvice(p: PlatformInfo): string {
  if (p.kind === "mps") return "halve the device batch size (keep the effective batch with gradient accumulation).";
  if (p.kind === "cuda") return "reduce the device batch size (keeping the effective batch with gradient accumulation) or enable gradient checkpointing.";
  return "reduce the batch size (keeping the effective batch with gradient accumulation).";
}

// --- formatting helpers ------------------------------------------------------------------------

/** Min and max steps over recent runs, when they differ enough to matter (over 20%). */
function stepSpread(experiments: ExperimentRecord[]): { runs: number; min: number; max: number } | null {
  const steps = experiments
    .filter((r) => r.steps !== undefined && r.steps > 0)
    .slice(-SPREAD_RUNS)
    .map((r) => r.steps as number);
  if (steps.length < 3) return null;
  const min = Math.min(...steps);
  const max = Math.max(...steps);
  return max > min * 1.2 ? { runs: steps.length, min, max } : null;
}

/** The current category streak: the same category, none kept, most recent first. */
function categoryStreak(experiments: ExperimentRecord[]): { category: string; count: number } | null {
  const last = experiments[experiments.length - 1];
  if (!last || last.status === "keep") return null;
  let count = 0;
  for (let i = experiments.length - 1; i >= 0; i--) {
    const r = experiments[i] as ExperimentRecord;
    if (r.status === "keep" || r.category !== last.category) break;
    count++;
  }
  return { category: last.category, count };
}

/** "5120 steps, 3.0 s training, 0.1 GB, 12.3k params": what the run printed, when it did. */
function runNumbers(r: ExperimentRecord): string {
  const parts: string[] = [];
  if (r.steps !== undefined) parts.push(`${r.steps} steps`);
  if (r.trainingSec !== undefined) parts.push(`${Number(r.trainingSec.toFixed(1))} s training`);
  if (r.memGb !== null && r.memGb !== undefined) parts.push(`${Number(r.memGb.toFixed(2))} GB`);
  if (r.params !== null && r.params !== undefined) parts.push(`${compact(r.params)} params`);
  return parts.join(", ");
}

function compact(n: number): string {
  if (n >= 1e9) return `${Number((n / 1e9).toPrecision(3))}B`;
  if (n >= 1e6) return `${Number((n / 1e6).toPrecision(3))}M`;
  if (n >= 1e3) return `${Number((n / 1e3).toPrecision(3))}k`;
  return String(n);
}

function signed(n: number): string {
  const d = Number(n.toPrecision(4));
  return d > 0 ? `+${d}` : String(d);
}

function seconds(sec: number): string {
  if (sec < 120) return `${Number(sec.toFixed(1))} s`;
  const m = Math.floor(sec / 60);
  const rest = Math.round(sec % 60);
  if (m < 120) return rest ? `${m} min ${rest} s` : `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}


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
