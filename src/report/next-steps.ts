import { proposalSpend, spentLimit } from "../config/session-limits.js";
import { delta, orient } from "../metric/index.js";
import { CATEGORIES, type Category } from "../types.js";
import { oneLine } from "../text.js";
import { escapeMarkdown, formatDelta, formatMetric, formatPercent, shortCommit } from "./format.js";
import type { Analysis, ReportExperiment, SessionData } from "./model.js";
import { bestStanding, keepsWithinNoise } from "./noise.js";

/**
 * "Recommended Next Steps" drawn from the data: which directions kept paying off, which never
 * did, near-misses within noise worth re-testing, crashes to fix, whether to continue.
 * Always 3 to 5 bullets.
 */

export interface NextStepOptions {
  /** A discard within this fraction of the best before it is a near-miss (default 0.002 = 0.2%). */
  noiseRel?: number;
}

export const DEFAULT_NOISE_REL = 0.002;

function quote(e: ReportExperiment): string {
  return `"${escapeMarkdown(e.description, 60)}" (${escapeMarkdown(shortCommit(e.commit), 20)})`;
}

export function isNearMiss(e: ReportExperiment, noiseRel = DEFAULT_NOISE_REL): boolean {
  const d = delta(e.metric, e.bestBefore);
  if (e.status !== "discard" || d === null) return false;
  return Math.abs(d) <= Math.abs(e.bestBefore as number) * noiseRel;
}

export function recommendNextSteps(data: SessionData, a: Analysis, options: NextStepOptions = {}): string[] {
  const noiseRel = options.noiseRel ?? DEFAULT_NOISE_REL;
  const steps: string[] = [];
  const after = data.experiments.slice(1);

  // 1. The direction that paid off most.
  const paying = a.categories.filter((c) => c.kept > 0).sort((x, y) => y.totalGain - x.totalGain);
  const top = paying[0];
  if (top?.bestKept) {
    steps.push(
      `Keep exploring **${top.category}** changes: ${top.kept} of ${top.tries} kept, worth ${formatDelta(orient(top.totalGain, data.direction))} in total; ` +
        `variations of ${quote(top.bestKept)} are the most promising next tries.`,
    );
  }

  // 2. Directions that never paid off.
  const barren = a.categories.filter((c) => c.kept === 0 && c.tries >= 3).sort((x, y) => y.tries - x.tries);
  if (barren.length > 0) {
    const parts = barren
      .slice(0, 3)
      .map((c) => `**${c.category}** (0 of ${c.tries} kept: ${c.discarded} discarded, ${c.crashed} crashed)`);
    steps.push(`Deprioritise ${parts.join(", ")}: these never beat the best so far; try them only combined with a different setup.`);
  }

  // 3. Near-misses within noise (none where runs of the same code agree exactly: a repeat changes nothing).
  const near: ReportExperiment[] = [];
  if (data.noise?.sd !== 0) for (const e of after) if (isNearMiss(e, noiseRel)) near.push(e);
  if (near.length > 0) {
    near.sort((x, y) => Math.abs(delta(x.metric, x.bestBefore) ?? 0) - Math.abs(delta(y.metric, y.bestBefore) ?? 0));
    const listed = near
      .slice(0, 3)
      .map((e) => `${quote(e)}, ${formatDelta(delta(e.metric, e.bestBefore))}`)
      .join("; ");
    steps.push(
      `Re-test ${near.length === 1 ? "the near-miss" : `${near.length} near-misses`} within noise (within ${(noiseRel * 100).toFixed(1)}% of the best): ${listed} — a repeat run or another seed may flip ${near.length === 1 ? "it" : "them"}.`,
    );
  }

  // 4. Crashes.
  const crashes = after.filter((e) => e.status === "crash");
  if (crashes.length > 0) {
    const oom = crashes.filter((e) => /oom|out of memory/i.test(`${e.reason ?? ""} ${e.detail ?? ""} ${e.description}`)).length;
    const timeouts = crashes.filter((e) => /timeout|timed out/i.test(`${e.reason ?? ""} ${e.detail ?? ""}`)).length;
    const kinds = [oom ? `${oom} out of memory` : "", timeouts ? `${timeouts} timed out` : ""].filter(Boolean).join(", ");
    const advice = oom
      ? "retry the memory-hungry ideas with a smaller device batch plus gradient accumulation, or gradient checkpointing"
      : "read the run logs (`autoresearch show <n>`) and fix the cause before retrying those ideas";
    steps.push(`Fix what crashed: ${crashes.length} crash${crashes.length === 1 ? "" : "es"}${kinds ? ` (${kinds})` : ""}, e.g. ${quote(crashes[crashes.length - 1] as ReportExperiment)}; ${advice}.`);
  }

  // 5. Continue or change course.
  const lastKept = a.kept[a.kept.length - 1];
  // What `resume` needs to go on: more of a limit the session has used up, else nothing.
  const config = data.session?.config;
  const cost = proposalSpend([...data.experiments, ...(data.rejected ?? [])]);
  const spent = config ? spentLimit(config, { done: a.iterations, cost, best: a.best?.metric ?? null }) : null;
  // The advice says what was measured: no "measure the noise" when it was, no "of 9" for 8 experiments.
  const noiseKnown = typeof data.noise?.sd === "number";
  if (a.iterations === 0 && a.baseline && config && !spent) {
    // Stopped (Ctrl-C, a crash) after its baseline and before any experiment: it goes on from there.
    steps.push(`The session stopped before its first experiment: \`autoresearch resume\` goes on from the baseline it measured (${formatMetric(a.baseline.metric)}).`);
  } else if (a.kept.length === 0 && a.iterations > 0) {
    steps.push(
      `Nothing beat the baseline (${formatMetric(a.baseline?.metric)}) in ${a.iterations} experiment${a.iterations === 1 ? "" : "s"}: ${noiseKnown ? `with a noise floor of ${formatMetric(data.noise?.sd)} measured, try larger, different changes` : "re-run the baseline 2–3 times to measure run-to-run noise, then try larger, different changes"}.`,
    );
  } else if (lastKept) {
    // Experiments decided after the last keep (numbers may skip: a count, not a difference of numbers).
    const since = after.filter((e) => e.iteration > lastKept.iteration).length;
    if (since >= Math.max(10, Math.ceil(a.iterations * 0.3))) {
      const untried = untriedCategories(a);
      steps.push(
        `No improvement in the last ${since} experiments (since iteration ${lastKept.iteration}): switch to a significantly different direction${untried.length > 0 ? `, e.g. ${untried.map((c) => `**${c}**`).join(" or ")} (untried so far)` : ""}.`,
      );
    } else {
      const when = `last kept at iteration ${lastKept.iteration}, ${since === 0 ? "the last experiment" : `${since} experiment${since === 1 ? "" : "s"} before the end`}`;
      // A session that used all it was allowed (its iterations, its max cost, its stop condition met) is resumed
      // with more of it: resume refuses it otherwise.
      const resume = spent?.resume ?? "autoresearch resume";
      // A keep within noise is no sign that improvements were coming: it may be luck.
      // (Its parent: the node it was built on, else the keep before it in the chain.)
      const parent = data.experiments.find((e) => lastKept.parent !== undefined && e.commit === lastKept.parent) ?? [a.baseline, ...a.kept].filter((e): e is ReportExperiment => e != null && e.iteration < lastKept.iteration).pop();
      steps.push(
        keepsWithinNoise(data, a).includes(lastKept) && parent
          ? `The last keep (iteration ${lastKept.iteration}) is within noise of its parent, so it could be luck: measure the two in turns (\`autoresearch confirm ${parent.iteration} ${lastKept.iteration}\`) before building on it, or continue the session with \`${resume}\`.`
          : `Improvements were still coming (${when}): continue the session with \`${resume}\`.`,
      );
    }
  }

  // Fillers, still from the data, until there are three.
  const fillers: string[] = [];
  // Confirming is advice only where the best could still be luck (within the noise floor of the
  // baseline, or never re-measured); a best measured well clear of it needs no such sentence.
  const luck = bestStanding(data, a)?.within ?? !noiseKnown;
  if (a.best && a.baseline && a.best !== a.baseline && luck) {
    fillers.push(
      `Confirm the result: \`autoresearch confirm best --runs 3\` re-runs the best commit ${escapeMarkdown(shortCommit(a.best.commit), 20)} with other seeds and says whether its gain of ${formatDelta(a.improvement)} (${formatPercent(a.improvementPct)}) over the baseline clearly exceeds run-to-run noise.`,
    );
  }
  const untried = untriedCategories(a);
  if (untried.length > 0) fillers.push(`Try the categories not explored yet: ${untried.map((c) => `**${c}**`).join(", ")}.`);
  if (a.kept.length >= 2) {
    const categories = new Set(a.kept.map((e) => e.category));
    fillers.push(
      `Ablate the ${a.kept.length} kept changes${categories.size > 1 ? ` (${categories.size} categories)` : ""}: removing each in turn shows which ones carry the gain and which are noise.`,
    );
  }
  if (a.kept.length > 0) {
    fillers.push(`Merge the best commit into the base branch${luck ? " once confirmed" : ""}: \`autoresearch merge --squash\` (nothing is pushed).`);
    // Only a session with a gain has one to check at a longer budget.
    fillers.push("Run a longer time budget on the best configuration to check the gain holds beyond the short runs.");
  }
  // A hypothesis steers the LLM and agent proposers only (their brief): not offered for a session of the builtin search or a plan.
  const steered = !["builtin", "plan"].includes(data.session?.config.proposer ?? "");
  fillers.push(
    steered
      ? "Start the next session from the best commit with a hypothesis for the next direction: `autoresearch run --hypothesis \"...\"`."
      : "Start the next session from the best commit (`autoresearch run`); an LLM or coding-agent proposer takes a direction for it with `--hypothesis`.",
  );
  for (const f of fillers) {
    if (steps.length >= 3) break;
    steps.push(f);
  }
  return steps.slice(0, 5);
}

function untriedCategories(a: Analysis): Category[] {
  const tried = new Set(a.categories.map((c) => c.category));
  return CATEGORIES.filter((c) => c !== "other" && !tried.has(c));
}


/** Bullets from an LLM: one line each, no HTML; 3 to 5, topped up from the data when short. */
export function sanitizeSteps(raw: unknown, fallback: string[]): string[] {
  const lines = Array.isArray(raw) ? raw.filter((s): s is string => typeof s === "string") : [];
  const clean = lines
    .map((s) => s.replace(/^\s*[-*•]\s+/, ""))
    .map((s) => escapeMarkdownLight(s))
    .filter((s) => s.length > 0)
    .slice(0, 5);
  for (const f of fallback) {
    if (clean.length >= 3) break;
    if (!clean.includes(f)) clean.push(f);
  }
  return clean.slice(0, 5);
}

/** Keeps a model's inline markdown (bold, code) but not HTML or line breaks. */
function escapeMarkdownLight(text: string): string {
  const line = oneLine(text);
  return (line.length > 400 ? `${line.slice(0, 399)}…` : line).replace(/</g, "&lt;");
}
