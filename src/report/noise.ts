/**
 * Noise and confidence in the reports' words, so a reader can tell a gain from luck: the noise floor, each kept change's
 * confidence (its gain over the best before it, in units of the noise floor), and which keeps
 * are within noise. The numbers come from the metric module; this is only how they read.
 */
import { confidence, describeConfidence, describeLoadAdjusted, gainStanding, loadAdjustedConfidence, WITHIN_NOISE } from "../metric/index.js";
import { formatMetric } from "./format.js";
import type { Analysis, ReportExperiment, SessionData } from "./model.js";

/**
 * A kept change's confidence, or null when the noise floor is unknown: its gain over the best
 * before it in noise floors, or, for a keep decided against the load its runs read, its gain over
 * its parent at the same load in standard errors of that gain (what it was kept on; null when
 * that was not recorded).
 */
export function keepConfidence(e: ReportExperiment, data: SessionData): number | null {
  const adjusted = e.loadAdjusted ? loadAdjustedConfidence(e.loadAdjusted, data.direction) : undefined;
  if (adjusted !== undefined) return adjusted;
  return confidence(e.metric, e.bestBefore, data.direction, data.noise?.sd ?? null);
}

/**
 * The kept changes (after the baseline) whose gain is smaller than WITHIN_NOISE × the noise floor.
 * A keep decided on parent/change pairs is not one: it was measured again beside its parent, and
 * kept because the pairs put its gain beyond their standard error (a small gain, measured well).
 * A keep decided against the load is judged by its load-adjusted standard error (keepConfidence).
 */
export function keepsWithinNoise(data: SessionData, a: Analysis): ReportExperiment[] {
  return a.kept.filter((e) => {
    if (e.pairs) return false;
    const c = keepConfidence(e, data);
    return c !== null && c < WITHIN_NOISE;
  });
}

/**
 * How the best stands above the baseline (src/metric/noise.ts gainStanding): null when the best is
 * the baseline, when the data carries no noise information at all (an old results.tsv read alone),
 * or when there is nothing to say.
 */
export function bestStanding(data: SessionData, a: Analysis): { within: boolean; text: string } | null {
  if (!a.best || !a.baseline || a.best === a.baseline || !data.noise) return null;
  return gainStanding(a.bestMetric, a.baselineMetric, data.direction, data.noise.sd);
}

/** "3.1× noise" after a kept change's numbers, "" when unknown. */
export function confidenceNote(e: ReportExperiment, data: SessionData): string {
  if (e.pairs && e.status === "keep" && e.iteration > 0) return `confirmed on ${e.pairs} pair${e.pairs > 1 ? "s" : ""}`;
  if (e.loadAdjusted && e.status === "keep" && e.iteration > 0) {
    const z = keepConfidence(e, data);
    const text = describeLoadAdjusted(z);
    return z !== null && z < WITHIN_NOISE ? `${text} ⚠` : text;
  }
  const text = describeConfidence(keepConfidence(e, data));
  return text === null ? "" : text.includes("within noise") ? `${text} ⚠` : text;
}

/** The header's noise line: the number and its basis, or why there is none. */
export function noiseLine(data: SessionData): string | null {
  if (!data.noise) return null;
  const value = data.noise.sd === null ? "unknown" : formatMetric(data.noise.sd);
  // The basis is the tool's own words (no user text), so its backticks stay code.
  return `**Noise floor:** ${value} (${data.noise.basis})`;
}

/**
 * What the noise means for these results, in plain words: how far the best stands above the
 * baseline in noise units, and how many keeps could be luck.
 */
export function noiseParagraph(data: SessionData, a: Analysis): string[] {
  return [...noiseFloorParagraph(data, a), ...finalizeAgain(data)];
}

/**
 * Finalize measured the kept changes again, each taken out of the best beside it: where it found
 * one not to matter, the noise paragraph says so too (the summary once stood every change 2× above
 * the noise while its Finalize section called two of them within noise).
 */
function finalizeAgain(data: SessionData): string[] {
  const result = data.finalize?.progress === "finished" ? data.finalize.result : null;
  const notMatter = result?.verdicts.filter((v) => v.verdict !== "matters") ?? [];
  if (notMatter.length === 0) return [];
  const kinds = [...new Set(notMatter.map((v) => v.verdict))].map((kind) => `${notMatter.filter((v) => v.verdict === kind).map((v) => `#${v.change}`).join(", ")} ${kind}`);
  return ["", `\`autoresearch finalize\` measured the kept changes again, each taken out of the best and run beside it: ${kinds.join("; ")} there (see Finalize below). That measurement is the one to go by before merging.`];
}

function noiseFloorParagraph(data: SessionData, a: Analysis): string[] {
  const sd = data.noise?.sd ?? null;
  const lines = [
    "Two runs of the same code rarely give the same metric: data order, initialisation and timing move it a little. The noise floor is how much it moves (the standard deviation of repeated runs of identical code). A change's confidence is its gain divided by the noise floor: below 2× it could be luck.",
  ];
  if (sd === 0) {
    lines.push("", "Repeated runs of the same code printed the same metric here (a noise floor of 0): each measured gain is what it is, none of it luck.");
    return lines;
  }
  if (sd === null) {
    lines.push("", `The noise floor of this session is unknown, so no kept change can be told apart from luck: ${data.noise ? data.noise.basis.replace(/^.*?; /, "") : "run `autoresearch confirm baseline --runs 3` to measure it"}.`);
    return lines;
  }
  const overall = a.best && a.baseline && a.best !== a.baseline ? confidence(a.bestMetric, a.baselineMetric, data.direction, sd) : null;
  if (overall !== null) lines.push("", `The best result is ${overall.toFixed(1)}× the noise floor away from the baseline${overall < WITHIN_NOISE ? ": that could be luck; confirm it before trusting it" : ""}.`);
  const weak = keepsWithinNoise(data, a);
  if (weak.length > 0) {
    lines.push("", `${weak.length} of the ${a.kept.length} kept change${a.kept.length > 1 ? "s are" : " is"} within noise (marked ⚠): iteration${weak.length > 1 ? "s" : ""} ${weak.map((e) => e.iteration).join(", ")}. Re-run them before building on them.`);
  } else if (a.kept.length > 0) {
    const paired = a.kept.filter((e) => e.pairs);
    const adjusted = a.kept.filter((e) => e.loadAdjusted && e.iteration > 0);
    const list = (es: ReportExperiment[]) => `iteration${es.length > 1 ? "s" : ""} ${es.map((e) => e.iteration).join(", ")}`;
    const others = [
      ...(paired.length > 0 ? [`beat its parent on parent/change pairs run side by side (${list(paired)})`] : []),
      ...(adjusted.length > 0 ? [`beat its parent at the same load by at least ${WITHIN_NOISE} standard errors, its load read from its runs' steps/s (${list(adjusted)})`] : []),
    ];
    lines.push("", `Every kept change stands at least ${WITHIN_NOISE}× the noise floor above the best before it${others.length > 0 ? `, or ${others.join(", or ")}` : ""}.`);
  }
  return lines;
}
