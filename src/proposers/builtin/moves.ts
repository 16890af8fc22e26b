/**
 * The moves the search can make on one constant. A move has a direction (up = larger value)
 * and a level: 1 coarse (x2 / x0.5, +-1 for small ints), 2 medium (x1.5 / x0.67), 3 fine
 * (x1.25 / x0.8), 0 big (x4 / x0.25, +-2), used to break out after repeated failures.
 */
import type { NumericConstant } from "./constants.js";
import { formatLike, parseLiteral, roundSignificant } from "./literals.js";
import { isBatchName, isTowardOne, upperBound } from "./names.js";

export type Dir = "up" | "down";
export type Level = 0 | 1 | 2 | 3;

export interface Move {
  constant: NumericConstant;
  dir: Dir;
  level: Level;
  value: number;
  literal: string;
  /** Short human label shown in the description: `x2`, `x0.5`, `+1`, `1-b x0.5`, `from 0`. */
  tag: string;
}

export const LEVELS: readonly Level[] = [1, 2, 3, 0];
const FACTOR: Record<Level, number> = { 0: 4, 1: 2, 2: 1.5, 3: 1.25 };
const UP_TAG: Record<Level, string> = { 0: "x4", 1: "x2", 2: "x1.5", 3: "x1.25" };
const DOWN_TAG: Record<Level, string> = { 0: "x0.25", 1: "x0.5", 2: "x0.67", 3: "x0.8" };
/** Values tried for a float that is 0 (weight decay, dropout, warmup ratio...). */
const FROM_ZERO: Record<Dir, Record<Level, number>> = {
  up: { 1: 0.1, 2: 0.05, 3: 0.03, 0: 0.3 },
  down: { 1: 0.01, 2: 0.003, 3: 0.02, 0: 0.001 },
};

export function opposite(dir: Dir): Dir {
  return dir === "up" ? "down" : "up";
}

/** Levels finer than `level`, in the order they are tried. */
export function finerLevels(level: Level): Level[] {
  return LEVELS.slice(LEVELS.indexOf(level) + 1).filter((l) => l !== 0);
}

/** Reverse map from a description's tag to its direction and level (for parsing history). */
export function classifyTag(tag: string, from: number, to: number): { dir: Dir; level: Level } | null {
  const t = tag.trim();
  if (t === "from 0") {
    // Every start from 0 goes up in value; the table only tells the step size.
    for (const dir of ["up", "down"] as const) {
      for (const level of LEVELS) if (FROM_ZERO[dir][level] === to) return { dir: "up", level };
    }
    return null;
  }
  const towardOne = t.startsWith("1-b ");
  const factorTag = towardOne ? t.slice(4) : t;
  const table: [string, Dir, Level][] = [
    ["+1", "up", 1],
    ["-1", "down", 1],
    ["+2", "up", 0],
    ["-2", "down", 0],
  ];
  for (const level of LEVELS) {
    table.push([UP_TAG[level], towardOne ? "down" : "up", level], [DOWN_TAG[level], towardOne ? "up" : "down", level]);
  }
  const hit = table.find(([label]) => label === factorTag);
  if (hit) return { dir: hit[1], level: hit[2] };
  if (from === to) return null;
  return { dir: to > from ? "up" : "down", level: 1 };
}

/** Largest power of two dividing n (n > 0). */
function lowBit(n: number): number {
  return n & -n;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && Number.isInteger(n) && lowBit(n) === n;
}

/** Rounds a scaled integer to a value that looks like the original (768, 1500, 96...). */
function roundLikeInt(x: number, original: number): number {
  if (x < 10) return Math.round(x);
  const abs = Math.abs(original);
  const binaryish = Number.isInteger(abs) && abs > 0 && (isPowerOfTwo(abs) || lowBit(abs) >= 16);
  if (binaryish) {
    // The coarsest power-of-two grain that stays within 12.5% of the target (96 rather than 88).
    for (let grain = Math.min(64, lowBit(abs)); grain >= 1; grain /= 2) {
      const rounded = Math.round(x / grain) * grain;
      if (rounded > 0 && Math.abs(rounded - x) <= 0.125 * x + 1e-9) return rounded;
    }
  }
  return Math.round(Number(x.toPrecision(2)));
}

function rawValue(c: NumericConstant, dir: Dir, level: Level): { value: number; tag: string } | null {
  const v = c.value;
  const f = FACTOR[level];
  const tag = dir === "up" ? UP_TAG[level] : DOWN_TAG[level];
  if (c.kind === "pow2") {
    if (level === 2 || level === 3) return null;
    const exponent = Math.round(Math.log2(v)) + (dir === "up" ? 1 : -1) * (level === 0 ? 2 : 1);
    return exponent < 0 || exponent > 52 ? null : { value: 2 ** exponent, tag };
  }
  if (c.kind === "int") {
    const small = Math.abs(v) <= 8 && !(isBatchName(c.name) && v >= 2);
    if (small) {
      if (level === 2 || level === 3) return null;
      const step = level === 0 ? 2 : 1;
      const next = v + (dir === "up" ? step : -step);
      if (v >= 1 && next < 1) return null;
      if (v === 0 && next < 0) return null;
      return { value: next, tag: `${dir === "up" ? "+" : "-"}${step}` };
    }
    const next = roundLikeInt(Math.abs(v) * (dir === "up" ? f : 1 / f), v) * Math.sign(v);
    if (v >= 1 && next < 1) return null;
    return { value: next, tag };
  }
  if (v === 0) return { value: FROM_ZERO[dir][level], tag: "from 0" };
  if (isTowardOne(c.name, v)) {
    const gap = roundSignificant((1 - v) * (dir === "up" ? 1 / f : f), 3);
    const decimals = (String(gap).split(".")[1] ?? "").length;
    if (/e/i.test(String(gap)) || decimals > 12) return null;
    const next = Number((1 - gap).toFixed(decimals));
    return next > 0 && next < 1 ? { value: next, tag: `1-b ${dir === "up" ? DOWN_TAG[level] : UP_TAG[level]}` } : null;
  }
  return { value: roundSignificant(v * (dir === "up" ? f : 1 / f), 3), tag };
}

/** The move, or null when it does not exist or leaves the constant's valid range. */
export function makeMove(c: NumericConstant, dir: Dir, level: Level): Move | null {
  const raw = rawValue(c, dir, level);
  if (raw === null || !Number.isFinite(raw.value)) return null;
  const bound = upperBound(c.name, c.value);
  if (bound && (raw.value > bound.max || (!bound.inclusive && raw.value === bound.max))) return null;
  if (c.value >= 0 && raw.value < 0) return null;
  const literal = formatLike(c.literal, c.kind, raw.value);
  const parsed = parseLiteral(literal);
  if (parsed === null || parsed.value === c.value) return null;
  return { constant: c, dir, level, value: parsed.value, literal, tag: raw.tag };
}

/** Halving for an out-of-memory retry (`2**7` -> `2**6`, `64` -> `32`), or null when it cannot. */
export function halveMove(c: NumericConstant): Move | null {
  let value: number;
  if (c.kind === "pow2") {
    if (c.value < 2) return null;
    value = c.value / 2;
  } else if (c.kind === "int") {
    value = Math.floor(c.value / 2);
    if (value < 1) return null;
  } else {
    value = roundSignificant(c.value / 2, 3);
    if (!(value > 0)) return null;
  }
  const literal = formatLike(c.literal, c.kind, value);
  const parsed = parseLiteral(literal);
  if (parsed === null || parsed.value === c.value) return null;
  return { constant: c, dir: "down", level: 1, value: parsed.value, literal, tag: "halve after OOM" };
}
