/**
 * Pure parsers for what a training run prints: the metric line, the peak memory line, the
 * parameter count line, and out-of-memory messages. Each works on one line (for streaming) and
 * on a whole output (last match wins).
 */
import { UsageError } from "../errors.js";
import type { MetricSpec } from "../types.js";

/** A number as training scripts print it: sign, decimals, exponent, nan, inf, infinity. */
export const NUMBER_SOURCE =
  "[+-]?(?:(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)";

const NUMBER_TEXT = new RegExp(`^${NUMBER_SOURCE}$`);

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Parse a printed number; `nan` → NaN, `inf`/`-inf`/`Infinity` → ±Infinity; anything else → null. */
export function parseNumber(text: string): number | null {
  const t = text.trim().replace(/^\+/, "");
  if (!NUMBER_TEXT.test(t)) return null;
  const lower = t.toLowerCase();
  if (lower === "nan" || lower === "-nan") return Number.NaN;
  if (lower === "inf" || lower === "infinity") return Number.POSITIVE_INFINITY;
  if (lower === "-inf" || lower === "-infinity") return Number.NEGATIVE_INFINITY;
  return Number(t);
}

/**
 * A number "runs on" when it is followed by more of something number-like: a letter, digit,
 * `_` or `.`, or a comma and a digit (`1,2768` with a decimal comma, `1.5e`, `0.98abc`, `0.9.8`).
 */
const RUNS_ON = /^(?:[\w.]|,\d)/;

/**
 * The regex that finds a metric line: `spec.pattern` (its first capture group is the number) or
 * the default `^\s*<name>\s*[:=]` with the number, if any, captured. Throws UsageError on a bad
 * pattern. Compiled with indices (`d`) so the text after the captured number can be checked.
 */
export function metricRegExp(spec: MetricSpec): RegExp {
  if (spec.pattern !== undefined && spec.pattern !== "") {
    try {
      return new RegExp(spec.pattern, "d");
    } catch (err) {
      throw new UsageError(
        `invalid metric pattern ${JSON.stringify(spec.pattern)}: ${(err as Error).message}`,
        "Give a JavaScript regular expression with one capture group around the number.",
      );
    }
  }
  return new RegExp(`^\\s*${escapeRegExp(spec.name)}\\s*[:=]\\s*(${NUMBER_SOURCE})?`, "d");
}

/**
 * Reads one line. `undefined`: not a metric line. `null`: a metric line whose number is missing,
 * malformed or runs on — read as "no metric" (fail closed) rather than as the part of it that
 * looks like a number, so `1,2768` can never become 1 and be compared with the best.
 */
export function matchMetric(line: string, re: RegExp): number | null | undefined {
  const m = re.exec(line);
  if (!m) return undefined;
  const text = m.length > 1 ? m[1] : m[0];
  if (text === undefined) return null;
  const end = m.indices?.[m.length > 1 ? 1 : 0]?.[1];
  if (end !== undefined && RUNS_ON.test(line.slice(end))) return null;
  return parseNumber(text);
}

const MEM_RE = new RegExp(`^\\s*peak_vram_(mb|gb|MB|GB)\\s*[:=]\\s*(${NUMBER_SOURCE})(?!\\w)`);

/** `peak_vram_mb: 45060.2` → 44.0 (GB = MB / 1024); `peak_vram_gb: 44` → 44. */
export function matchMemGb(line: string): number | null {
  if (!line.includes("peak_vram_")) return null;
  const m = MEM_RE.exec(line);
  if (!m) return null;
  const v = parseNumber(m[2] ?? "");
  if (v === null || !Number.isFinite(v) || v < 0) return null;
  return m[1]?.toLowerCase() === "mb" ? v / 1024 : v;
}

const SCALE: Record<string, number> = { k: 1e3, m: 1e6, b: 1e9, g: 1e9 };
const PARAMS_RE =
  /^\s*num_params(?:_([KMBG]))?\s*[:=]\s*([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*([KMBG])?(?!\w)/i;

/** `num_params_M: 50.3` → 50300000; `num_params: 12345` → 12345; `num_params: 1.2B` → 1.2e9. */
export function matchParams(line: string): number | null {
  if (!line.includes("num_params")) return null;
  const m = PARAMS_RE.exec(line);
  if (!m) return null;
  const v = Number((m[2] ?? "").replace(/,/g, ""));
  const unit = (m[1] ?? m[3] ?? "").toLowerCase();
  const scaled = v * (SCALE[unit] ?? 1);
  return Number.isFinite(scaled) && scaled >= 0 ? Math.round(scaled) : null;
}

const STEPS_RE = /^\s*(?:num_steps|total_steps|steps)\s*[:=]\s*(\d{1,15})(?![\w.])/;

/** `num_steps: 953` (Karpathy's summary block), `total_steps: 953` or `steps: 953` → 953. */
export function matchSteps(line: string): number | null {
  if (!line.includes("steps")) return null;
  const m = STEPS_RE.exec(line);
  return m ? Number(m[1]) : null;
}

const TRAINING_SEC_RE = new RegExp(`^\\s*(?:training_seconds|training_time_s|train_seconds)\\s*[:=]\\s*(${NUMBER_SOURCE})(?!\\w)`);

/** `training_seconds: 300.1` → 300.1: the seconds the script says it trained (not counting start-up and evaluation). */
export function matchTrainingSec(line: string): number | null {
  if (!line.includes("_s")) return null;
  const m = TRAINING_SEC_RE.exec(line);
  if (!m) return null;
  const v = parseNumber(m[1] ?? "");
  return v !== null && Number.isFinite(v) && v >= 0 ? v : null;
}

/**
 * Out-of-memory messages: CUDA / ROCm / MPS allocator failures, Python MemoryError, C++
 * bad_alloc, ENOMEM, Node heap. (A kernel OOM-killer SIGKILL leaves no message: not detectable.)
 */
const OOM_RE = new RegExp(
  [
    "CUDA out of memory",
    "CUDA error: out of memory",
    "OutOfMemoryError",
    "CUBLAS_STATUS_ALLOC_FAILED",
    "CUDNN_STATUS_ALLOC_FAILED",
    "MPS backend out of memory",
    "HIP out of memory",
    "\\bMemoryError\\b",
    "std::bad_alloc",
    "[Cc]annot allocate memory",
    "can't allocate memory",
    "JavaScript heap out of memory",
  ].join("|"),
);

export function isOomLine(line: string): boolean {
  return OOM_RE.test(line);
}
