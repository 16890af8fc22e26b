/**
 * Which way a metric is better. The direction is always asked (never assumed) when a session
 * starts; the guess here only pre-selects the answer in the prompt, picks the metric names the
 * scripts print, and lets a report of a bare results file say which way is better.
 */
import type { Direction, Status } from "../types.js";

export type { Direction };

/**
 * What a name's words say. `quality` words name what research optimises (loss, accuracy);
 * `resource` words name costs and speeds (time, throughput) that are metrics too, but are not
 * offered as the research metric when a script prints them beside a real one.
 */
interface Hint {
  direction: Direction;
  kind: "quality" | "resource";
}

/**
 * The one word table. A metric name is split into words at `_ . - /`; a word matches exactly,
 * or (for the longer, unambiguous stems) as part of a run-together word such as `trainloss`.
 */
const WORDS: Record<string, Hint> = {};
function add(direction: Direction, kind: Hint["kind"], words: string): void {
  for (const word of words.split(" ")) WORDS[word] = { direction, kind };
}
add("min", "quality", "loss nll bpb bpc ppl perplexity err error errors mse mae rmse wer cer fid cost");
add("min", "resource", "time seconds latency");
add("max", "quality", "acc accuracy f1 bleu rouge auc auroc score map iou miou dice reward return precision recall top1 top5 ndcg mrr psnr ssim r2 win");
add("max", "resource", "throughput mfu tps");
/** Stems long enough to find inside run-together words (`valloss`, `testaccuracy`); min first. */
const STEMS = ["loss", "perplexity", "error", "latency", "accuracy", "score", "reward", "precision", "recall", "throughput", "rouge"];

function words(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[_.\-/\s]+/)
    .filter(Boolean);
}

function hintOf(name: string): Hint | null {
  const parts = words(name);
  const exact = parts.map((w) => WORDS[w]).filter((h): h is Hint => h !== undefined);
  // A lower-is-better word wins a tie ("loss_acc" is still a loss), as both old lists did.
  const found = exact.find((h) => h.direction === "min") ?? exact[0];
  if (found) return found;
  for (const stem of STEMS) if (parts.some((w) => w.includes(stem))) return WORDS[stem] as Hint;
  // Rates per second (`tokens_per_s`, `samples_per_sec`) are throughputs.
  if (/per_?s(ec(ond)?)?$/.test(name.toLowerCase())) return { direction: "max", kind: "resource" };
  return null;
}

/** "min" for losses, bpb, perplexity, errors, times; "max" for accuracy, F1, scores, throughput; null if unsure. */
export function guessDirection(metric: string): Direction | null {
  return hintOf(metric)?.direction ?? null;
}

/** True for names that look like a research metric (a loss, an accuracy), not a timing or a count. */
export function isQualityMetricName(metric: string): boolean {
  return hintOf(metric)?.kind === "quality";
}

/** "lower is better" / "higher is better". */
export function describeDirection(direction: Direction): string {
  return direction === "min" ? "lower is better" : "higher is better";
}

export function isDirection(value: unknown): value is Direction {
  return value === "min" || value === "max";
}

/**
 * Direction from a finished session's data (a results file carries none): kept experiments each
 * beat the best before them, so the sign of their changes says which way is better. Falls back
 * to the metric's name, then to "min".
 */
export function inferDirection(
  experiments: readonly { status: Status; metric: number | null }[],
  metricName: string,
): { direction: Direction; source: "inferred" | "default" } {
  let down = 0;
  let up = 0;
  let previous: number | null = null;
  for (const e of experiments) {
    if (e.status !== "keep" || e.metric === null) continue;
    if (previous !== null) {
      if (e.metric < previous) down++;
      else if (e.metric > previous) up++;
    }
    previous = e.metric;
  }
  if (down !== up) return { direction: down > up ? "min" : "max", source: "inferred" };
  const guess = guessDirection(metricName);
  return guess ? { direction: guess, source: "inferred" } : { direction: "min", source: "default" };
}
