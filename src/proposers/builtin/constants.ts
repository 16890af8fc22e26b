/**
 * Finds the training script's top-level numeric constants (Python or JS/TS) and builds exact
 * search/replace edits for them.
 */
import type { Edit } from "../../types.js";
import { type LiteralKind, parseLiteral } from "./literals.js";
import { type ConstantCategory, guessCategory, isExcludedName } from "./names.js";

export type Language = "python" | "js";

export interface NumericConstant {
  /** `NAME`, or `NAME[i]` for element i of a tuple/array constant. */
  key: string;
  name: string;
  /** Element index for tuple/array constants (`BETAS = (0.8, 0.95)`), else null. */
  index: number | null;
  value: number;
  /** The literal as written (`0.04`, `2**19`, `1e-3`, `1_000`). */
  literal: string;
  kind: LiteralKind;
  /** The exact source line (without its newline). */
  line: string;
  /** 0-based line number. */
  lineIndex: number;
  /** Where the literal starts in `line`. */
  column: number;
  category: ConstantCategory;
  /** Seeds, logging, evaluation settings, loop counters and state: parsed but never tuned. */
  excluded: boolean;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A line without its comment and the contents of its one-line strings (rough, for name searches). */
function codeOf(line: string, language: Language): string {
  const blanked = line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
  const comment = language === "python" ? blanked.indexOf("#") : blanked.indexOf("//");
  return comment === -1 ? blanked : blanked.slice(0, comment);
}

/**
 * Whether the script changes `name` while it runs: assigned again by a statement other than its
 * numeric top-level constant lines (`iter_num = checkpoint["iter_num"]`, an indented
 * `best_val_loss = loss`), incremented (`iter_num += 1`, `step++`), a `for` target
 * (`for step in range(...)`), a walrus target or declared `global`. Such a name is state, not a
 * hyperparameter: its start value is no experiment. Keyword arguments (`dict(lr=lr)`) are not
 * assignments.
 */
function isReassigned(lines: string[], statementStarts: boolean[], name: string, constantLines: Set<number>, language: Language): boolean {
  const n = escapeRegExp(name);
  // A statement that assigns the name (also in a tuple target, after `;`, or as the body of a
  // one-line compound statement: Python's `if done: step = step + 1`, `else: ...`; JS's
  // `if (done) step = step + 1`, `{ step = ... }`, `else ...`, `=> step = ...`). In Python only on
  // lines that start a statement, so a keyword argument on a continuation line is not one.
  const before = language === "js" ? "[;({)]|=>|\\belse" : "[;:]";
  const assignment = new RegExp(`(?:^|${before})\\s*(?:[\\w.\\[\\]]+\\s*,\\s*)*${n}\\s*(?:,\\s*[\\w.\\[\\]]+\\s*)*(?::[^=]*)?=(?!=)`);
  const patterns = [
    new RegExp(`(?<![\\w.$])${n}\\s*(?:\\*\\*|//|<<|>>|[-+*/%@&|^])=`),
    new RegExp(`(?<![\\w.$])${n}\\s*(?:\\+\\+|--|:=)|(?:\\+\\+|--)\\s*${n}(?![\\w$])`),
    new RegExp(`\\bfor\\s*\\(?\\s*(?:(?:let|var|const)\\s+)?(?:[\\w\\s,()]*[\\s,(])?${n}(?![\\w$])[\\w\\s,()]*\\b(?:in|of)\\b`),
    new RegExp(`\\b(?:global|nonlocal)\\s+(?:\\w+\\s*,\\s*)*${n}\\b`),
  ];
  return lines.some((line, index) => {
    if (constantLines.has(index)) return false;
    const code = codeOf(line, language);
    if (!code.includes(name)) return false;
    if ((language === "js" || statementStarts[index]) && assignment.test(code)) return true;
    return patterns.some((p) => p.test(code));
  });
}

const JS_EXTENSIONS = /\.(?:[cm]?[jt]sx?)$/i;

export function detectLanguage(path: string | undefined, text: string): Language {
  if (path !== undefined && /\.py[iw]?$/i.test(path)) return "python";
  if (path !== undefined && JS_EXTENSIONS.test(path)) return "js";
  return /^(?:export\s+)?(?:const|let|var)\s/m.test(text) ? "js" : "python";
}

/**
 * For each line: does it start at top level (outside brackets, strings, comments and
 * continuations)? Strings and comments are skipped when counting brackets.
 */
function topLevelFlags(lines: string[], language: Language): boolean[] {
  const flags: boolean[] = [];
  let depth = 0;
  let open: string | null = null;
  let continued = false;
  for (const line of lines) {
    flags.push(depth === 0 && open === null && !continued);
    continued = false;
    let i = 0;
    let comment = false;
    while (i < line.length) {
      const ch = line[i] as string;
      if (open !== null) {
        if (open === "/*") {
          if (line.startsWith("*/", i)) {
            open = null;
            i += 2;
          } else i++;
          continue;
        }
        if (ch === "\\") {
          i += 2;
          continue;
        }
        if (line.startsWith(open, i)) {
          i += open.length;
          open = null;
          continue;
        }
        i++;
        continue;
      }
      if (language === "python" && ch === "#") {
        comment = true;
        break;
      }
      if (language === "js" && line.startsWith("//", i)) {
        comment = true;
        break;
      }
      if (language === "js" && line.startsWith("/*", i)) {
        open = "/*";
        i += 2;
        continue;
      }
      if (language === "python" && (line.startsWith('"""', i) || line.startsWith("'''", i))) {
        open = line.slice(i, i + 3);
        i += 3;
        continue;
      }
      if (ch === '"' || ch === "'" || (language === "js" && ch === "`")) {
        open = ch;
        i++;
        continue;
      }
      if (ch === "(" || ch === "[" || ch === "{") depth++;
      else if (ch === ")" || ch === "]" || ch === "}") depth = Math.max(0, depth - 1);
      i++;
    }
    // Ordinary quotes never span lines; an unterminated one is a syntax error we just drop.
    if (open === '"' || open === "'") open = null;
    if (language === "python" && !comment && open === null && /\\\s*$/.test(line)) continued = true;
  }
  return flags;
}

const PY_ASSIGN = /^([A-Za-z_]\w*)\s*(?::\s*[^=]+?)?\s*=(?!=)/;
const JS_ASSIGN = /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*[^=]+?)?\s*=(?!=)/;

interface Element {
  text: string;
  column: number;
}

/** Splits `[start, end)` of `line` into trimmed comma-separated pieces with their columns. */
function splitElements(line: string, start: number, end: number): Element[] | null {
  const pieces: Element[] = [];
  let from = start;
  for (let i = start; i <= end; i++) {
    if (i === end || line[i] === ",") {
      const raw = line.slice(from, i);
      const lead = raw.length - raw.trimStart().length;
      pieces.push({ text: raw.trim(), column: from + lead });
      from = i + 1;
    }
  }
  // A trailing comma (`(0.9,)`) leaves one empty last piece.
  if (pieces.length > 1 && pieces[pieces.length - 1]?.text === "") pieces.pop();
  return pieces.some((p) => p.text === "") ? null : pieces;
}

/** The numeric elements of an assignment's right-hand side, or null when it is not purely numeric. */
function rightHandSide(line: string, start: number, language: Language): { elements: Element[]; tuple: boolean } | null {
  let end = line.length;
  const commentAt = language === "python" ? line.indexOf("#", start) : line.indexOf("//", start);
  if (commentAt !== -1) end = commentAt;
  let code = line.slice(start, end);
  if (/["'`]/.test(code)) return null;
  if (language === "js") {
    code = code.replace(/\s*;\s*$/, "").replace(/\s+as\s+const\s*$/, "");
  }
  const lead = code.length - code.trimStart().length;
  let first = start + lead;
  let last = start + code.trimEnd().length;
  if (first >= last) return null;
  let tuple = false;
  const open = line[first];
  const close = line[last - 1];
  if ((open === "(" && close === ")") || (open === "[" && close === "]")) {
    first++;
    last--;
    tuple = open === "[" || line.slice(first, last).includes(",");
  } else if (language === "python" && line.slice(first, last).includes(",")) {
    tuple = true;
  }
  const elements = splitElements(line, first, last);
  if (elements === null || elements.length === 0) return null;
  if (!tuple && elements.length !== 1) return null;
  return { elements, tuple };
}

/** Top-level numeric constants in source order. Indented or nested assignments are ignored. */
export function parseConstants(text: string, language: Language = detectLanguage(undefined, text)): NumericConstant[] {
  const lines = text.split("\n");
  const flags = topLevelFlags(lines, language);
  const found: NumericConstant[] = [];
  const seen = new Set<string>();
  const numericLines = new Map<string, Set<number>>();
  lines.forEach((rawLine, lineIndex) => {
    if (!flags[lineIndex]) return;
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    const match = (language === "python" ? PY_ASSIGN : JS_ASSIGN).exec(line);
    if (!match?.[1]) return;
    const name = match[1];
    const rhs = rightHandSide(line, match[0].length, language);
    if (rhs === null) return;
    const parsed = rhs.elements.map((e) => parseLiteral(e.text));
    if (parsed.some((p) => p === null)) return;
    numericLines.set(name, (numericLines.get(name) ?? new Set()).add(lineIndex));
    const category = guessCategory(name);
    const excluded = isExcludedName(name);
    // A later assignment of the same name wins at run time; keep only the last one.
    for (const [index, element] of rhs.elements.entries()) {
      const literal = parsed[index] as NonNullable<(typeof parsed)[number]>;
      const key = rhs.tuple ? `${name}[${index}]` : name;
      if (seen.has(key)) {
        const at = found.findIndex((c) => c.key === key);
        if (at !== -1) found.splice(at, 1);
      }
      seen.add(key);
      found.push({
        key,
        name,
        index: rhs.tuple ? index : null,
        value: literal.value,
        literal: element.text,
        kind: literal.kind,
        line: rawLine,
        lineIndex,
        column: element.column,
        category,
        excluded,
      });
    }
  });
  // Loop counters and state are parsed (their lines still count for edit windows) but never tuned.
  for (const [name, at] of numericLines) {
    if (isReassigned(lines, flags, name, at, language)) for (const c of found) if (c.name === name) c.excluded = true;
  }
  return found;
}

function countOccurrences(text: string, search: string): number {
  let count = 0;
  for (let at = text.indexOf(search); at !== -1; at = text.indexOf(search, at + 1)) count++;
  return count;
}

/**
 * An edit that writes `newLiteral` in place of the constant's literal. The search text is the
 * whole line, widened with neighbouring lines until it occurs exactly once; null when no small
 * window is unique.
 */
export function constantEdit(text: string, constant: NumericConstant, newLiteral: string): Edit | null {
  const lines = text.split("\n");
  const i = constant.lineIndex;
  if (lines[i] !== constant.line) return null;
  const line = constant.line;
  const newLine = line.slice(0, constant.column) + newLiteral + line.slice(constant.column + constant.literal.length);
  const windows: [number, number][] = [
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
    [2, 1],
    [1, 2],
    [2, 2],
  ];
  for (const [before, after] of windows) {
    const from = i - before;
    const to = i + after;
    if (from < 0 || to >= lines.length) continue;
    const window = lines.slice(from, to + 1);
    const search = window.join("\n");
    if (search.trim() === "" || countOccurrences(text, search) !== 1) continue;
    window[before] = newLine;
    return { search, replace: window.join("\n") };
  }
  return null;
}

/** Applies edits in order with the loop's rule (each search must occur exactly once); null if one does not. */
export function applyEdits(text: string, edits: Edit[]): string | null {
  let current = text;
  for (const edit of edits) {
    if (edit.search === "" || countOccurrences(current, edit.search) !== 1) return null;
    current = current.replace(edit.search, () => edit.replace);
  }
  return current;
}
