/**
 * What a constant's name says about it: its category, how much it is likely to matter, whether
 * it is a hyperparameter at all, and the range its value must stay in.
 */
import type { Category } from "../../types.js";

export type ConstantCategory = Exclude<Category, "other">;

/** NAME_PARTS from UPPER_SNAKE, lower_snake or camelCase names. */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toUpperCase()
    .split(/[_$]+/)
    .filter((t) => t !== "");
}

/** True when some token starts with one of the words (LAYER matches LAYERS, BETA matches BETAS). */
function hasPrefix(tokens: string[], ...words: string[]): boolean {
  return tokens.some((t) => words.some((w) => t.startsWith(w)));
}

function hasToken(tokens: string[], ...words: string[]): boolean {
  return tokens.some((t) => words.includes(t));
}

function hasPair(tokens: string[], first: string, second: string): boolean {
  return tokens.some((t, i) => t === first && tokens[i + 1]?.startsWith(second));
}

export function isLearningRate(tokens: string[]): boolean {
  return hasToken(tokens, "LR", "LRS") || hasPair(tokens, "LEARNING", "RATE");
}

function isWeightDecay(tokens: string[]): boolean {
  return hasPair(tokens, "WEIGHT", "DECAY") || hasToken(tokens, "WD");
}

function isBatch(tokens: string[]): boolean {
  return hasPrefix(tokens, "BATCH", "MICROBATCH") || hasToken(tokens, "BS");
}

/** Names that are not hyperparameters: seeds, logging, evaluation, budgets, hardware. */
const EXCLUDED = [
  "SEED",
  "EVAL",
  "LOG",
  "PRINT",
  "SAVE",
  "CKPT",
  "CHECKPOINT",
  "WORKERS",
  "DEBUG",
  "VERBOSE",
  "BUDGET",
  "TIMEOUT",
  "TIME",
  "PORT",
  "VERSION",
  "VOCAB",
  "RANK",
  "WORLD",
  "GPU",
  "GPUS",
  "INTERVAL",
  "VERBOSITY",
  // Running records of the training (best_val_loss), not settings.
  "BEST",
];

/**
 * Loop counters and training state (`iter_num`, `step`, `epoch`, `i`, `global_step`): names made
 * only of these words count something while the script runs; changing their start value is no
 * experiment (nanoGPT's `iter_num 0 -> 1` only shifted the schedule). `num_epochs`, `max_iters`
 * and `steps` are lengths, not counters, and stay tunable.
 */
const COUNTER_WORDS = new Set(["I", "J", "K", "IT", "ITER", "ITERATION", "NUM", "STEP", "EPOCH", "GLOBAL", "CUR", "CURRENT", "COUNT", "COUNTER", "IDX", "INDEX", "START", "BEST", "LOCAL"]);
const COUNTER_CORE = new Set(["I", "J", "K", "IT", "ITER", "ITERATION", "STEP", "EPOCH", "COUNT", "COUNTER", "IDX", "INDEX"]);

export function isCounterName(name: string): boolean {
  const t = nameTokens(name);
  return t.length > 0 && t.every((w) => COUNTER_WORDS.has(w)) && t.some((w) => COUNTER_CORE.has(w));
}

export function isExcludedName(name: string): boolean {
  return hasToken(nameTokens(name), ...EXCLUDED) || isCounterName(name);
}

/**
 * A learning rate that is an end point of the schedule (`min_lr`, `final_lr`, `lr_end`,
 * `warmup_end_lr`) matters less than the rate itself: nanoGPT's `min_lr` was tried first as if
 * it were the learning rate.
 */
function isScheduleEndRate(tokens: string[]): boolean {
  return isLearningRate(tokens) && hasToken(tokens, "MIN", "FINAL", "END", "FLOOR", "LAST", "MINIMUM");
}

export function guessCategory(name: string): ConstantCategory {
  const t = nameTokens(name);
  if (
    isLearningRate(t) ||
    isWeightDecay(t) ||
    hasPrefix(t, "BETA", "EPS", "MOMENTUM", "WARMUP", "WARMDOWN", "COOLDOWN", "CLIP", "DECAY", "NESTEROV", "MUON", "ADAM")
  ) {
    return "optimizer";
  }
  if (
    hasPrefix(t, "DEPTH", "LAYER", "DIM", "EMBD", "EMBED", "HEAD", "MLP", "RATIO", "WINDOW", "CONTEXT", "SEQ", "HIDDEN") ||
    hasPrefix(t, "WIDTH", "ASPECT", "EXPANSION", "FFN", "ROPE") ||
    hasToken(t, "CTX", "KV", "BLOCK", "NLAYER", "NHEAD", "NEMBD")
  ) {
    return "architecture";
  }
  if (isBatch(t) || hasPrefix(t, "DROP", "ACCUM", "STEPS", "ITERS", "EPOCH", "TOKENS", "SMOOTH")) return "training";
  return "hyperparameters";
}

/** Higher = likely more impact, tried first (learning rates, then batch/size, then the rest). */
export function namePriority(name: string): number {
  const t = nameTokens(name);
  if (isScheduleEndRate(t)) return 6;
  if (isLearningRate(t)) return 10;
  if (isBatch(t)) return 8;
  if (hasPrefix(t, "DEPTH", "LAYER", "DIM", "EMBD", "EMBED", "WIDTH", "HIDDEN", "ASPECT") || hasToken(t, "NLAYER", "NEMBD")) return 7;
  if (isWeightDecay(t) || hasPrefix(t, "WARMUP", "WARMDOWN", "COOLDOWN", "HEAD", "MLP", "RATIO", "FFN", "EXPANSION")) return 6;
  if (hasPrefix(t, "BETA", "MOMENTUM", "DROP", "CLIP", "SEQ", "CONTEXT", "WINDOW", "ACCUM") || hasToken(t, "CTX", "BLOCK")) return 5;
  if (hasPrefix(t, "EPS")) return 2;
  if (hasPrefix(t, "STEPS", "ITERS", "EPOCH", "TOKENS")) return 3;
  return 4;
}

export function isBatchName(name: string): boolean {
  return isBatch(nameTokens(name));
}

/**
 * Constants in (0, 1) that are naturally tuned by their distance to 1 (Adam betas, momentum,
 * EMA decay): 0.9 -> 0.95 / 0.8 rather than 0.9 -> 1.8 / 0.45.
 */
export function isTowardOne(name: string, value: number): boolean {
  if (!(value > 0 && value < 1)) return false;
  const t = nameTokens(name);
  if (isLearningRate(t) || isWeightDecay(t)) return false;
  if (hasPrefix(t, "BETA", "MOMENTUM", "EMA", "DECAY", "GAMMA")) return true;
  return value >= 0.8 && upperBound(name, value) === null;
}

/** Largest allowed value for probability/fraction-like constants, or null when unbounded. */
export function upperBound(name: string, value: number): { max: number; inclusive: boolean } | null {
  if (!(value >= 0 && value <= 1)) return null;
  const t = nameTokens(name);
  if (hasPrefix(t, "DROP", "PROB") || hasToken(t, "P")) return { max: 1, inclusive: false };
  if (hasPrefix(t, "RATIO", "FRAC", "PCT", "PERCENT", "FRACTION")) return { max: 1, inclusive: true };
  return null;
}
