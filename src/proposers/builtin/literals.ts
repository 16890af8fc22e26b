/** Numeric literals: reading them (Python and JS/TS syntax) and writing new ones in the same style. */

export type LiteralKind = "int" | "float" | "pow2";

export interface ParsedLiteral {
  value: number;
  kind: LiteralKind;
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const NUMBER_RE = new RegExp(String.raw`^[+-]?(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?$`);
/** `2**19`, `2 ** 19` (Python and JS) and `1 << 19`. */
const POW2_RE = /^(?:2(\s*\*\*\s*)|1(\s*<<\s*))(\d+)$/;

export function parseLiteral(text: string): ParsedLiteral | null {
  const trimmed = text.trim();
  const pow = POW2_RE.exec(trimmed);
  if (pow) {
    const exponent = Number(pow[3]);
    return exponent <= 52 ? { value: 2 ** exponent, kind: "pow2" } : null;
  }
  if (!NUMBER_RE.test(trimmed)) return null;
  const value = Number(trimmed.replace(/_/g, ""));
  if (!Number.isFinite(value)) return null;
  const kind = /[.eE]/.test(trimmed) ? "float" : "int";
  return { value, kind };
}

/** Rounds to `digits` significant digits, dropping binary noise (0.012499999 -> 0.0125). */
export function roundSignificant(value: number, digits = 3): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

function trimMantissa(mantissa: string): string {
  return mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
}

function groupThousands(digits: string): string {
  const negative = digits.startsWith("-");
  const body = negative ? digits.slice(1) : digits;
  const grouped = body.replace(/\B(?=(\d{3})+(?!\d))/g, "_");
  return negative ? `-${grouped}` : grouped;
}

function formatExponent(old: string, value: number): string {
  const match = /^([+-]?)([\d_.]+)([eE])([+-]?)\d/.exec(old);
  const oldMantissa = match?.[2] ?? "1";
  const letter = match?.[3] ?? "e";
  const plus = match?.[4] === "+";
  const [rawMantissa = "0", rawExponent = "0"] = value.toExponential(2).split("e");
  let mantissa = trimMantissa(rawMantissa);
  if (oldMantissa.includes(".") && !mantissa.includes(".")) mantissa += ".0";
  const exponent = Number(rawExponent);
  const exponentText = exponent < 0 ? String(exponent) : plus ? `+${exponent}` : String(exponent);
  return `${mantissa}${letter}${exponentText}`;
}

/**
 * Writes `value` the way `old` was written: `2**19` -> `2**20`, `1e-3` -> `2e-3`, `0.04` ->
 * `0.08`, `1.0` -> `2.0`, `1_000` -> `2_000`. Float values should already be rounded.
 */
export function formatLike(old: string, kind: LiteralKind, value: number): string {
  const trimmed = old.trim();
  if (kind === "pow2") {
    const exponent = Math.round(Math.log2(value));
    return trimmed.replace(/\d+$/, String(exponent));
  }
  if (kind === "int") {
    const digits = String(Math.round(value));
    return trimmed.includes("_") ? groupThousands(digits) : digits;
  }
  if (/[eE]/.test(trimmed)) return formatExponent(trimmed, value);
  let text = String(value);
  if (/[eE]/.test(text)) return text;
  if (trimmed.includes(".") && !text.includes(".")) text += ".0";
  return text;
}

/** Literal text without blanks, for descriptions (`2 ** 19` -> `2**19`). */
export function compactLiteral(literal: string): string {
  return literal.replace(/\s+/g, "");
}
