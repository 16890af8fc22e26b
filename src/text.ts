import { stripVTControlCharacters } from "node:util";
import sliceAnsi from "slice-ansi";
import stringWidth from "string-width";
import wrapAnsi from "wrap-ansi";

/**
 * Text written by a model or a training script, made safe for one line of a table, a terminal
 * or an XML file. Removed: C0 controls (tabs and newlines too), DEL, C1 controls (U+0080–U+009F:
 * some terminals act on them), the line and paragraph separators U+2028/U+2029 (line breaks to
 * many readers), bidirectional overrides and isolates (they reorder what a reader sees), the
 * byte-order mark, the non-characters U+FFFE/U+FFFF and lone surrogates (invalid in XML).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * One line: every unsafe character becomes a space, runs of white space one space, trimmed;
 * with `max`, cut to that many characters with an ellipsis.
 */
export function oneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  const flat = stripSequences(text).replace(UNSAFE, " ").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Terminal control sequences removed whole, so that what they carry (a window title, text for
 * the clipboard, a colour) does not show as stray text: CSI (`ESC [` … final byte), and OSC, DCS,
 * SOS, PM and APC strings up to their terminator (BEL or ST). What this leaves of an incomplete
 * sequence has lost its ESC or C1 introducer to UNSAFE, so a terminal prints it as plain text.
 */
const SEQUENCES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal control sequences is the point
  /\u001b\[[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)/g;

function stripSequences(text: string): string {
  return text.replace(SEQUENCES, "");
}

/**
 * Text from a model, a script or a run's log made safe for a terminal, keeping its lines: the
 * same characters as `oneLine` are removed (escape sequences whole, then every other control
 * character but newline and tab), and a carriage return keeps what a terminal would end up
 * showing of its line (the text after the last one). Every command's plain-text output goes
 * through this, so a description, a rationale or a log cannot set the window title, write the
 * clipboard (OSC 52) or clear the screen.
 */
export function terminalText(text: string): string {
  return stripSequences(text)
    .split("\n")
    .map((line) => {
      const shown = line.endsWith("\r") ? line.slice(0, -1) : line;
      return shown.slice(shown.lastIndexOf("\r") + 1).replace(UNSAFE, (ch) => (ch === "\t" ? ch : " "));
    })
    .join("\n");
}

/**
 * `text` (colours allowed) in lines of at most `width` columns, broken at spaces (runs of spaces
 * between two lines are dropped); a word longer than a line is cut where the line ends. At least one line.
 */
export function wrapWords(text: string, width: number): string[] {
  return wrapAnsi(text, Math.max(1, Math.floor(width)), { hard: true, trim: true }).split("\n");
}

/**
 * `text` (colours allowed) broken at spaces so that no line is wider than `width` columns, each
 * line after the first of a paragraph starting with the line's own leading spaces and `indent`
 * (a hanging indent): a line the
 * terminal wraps itself starts at its first column and scrambles what is aligned. Unchanged when
 * `width` is undefined (not a terminal: a log or a pipe keeps whole lines).
 */
export function fitWidth(text: string, width: number | undefined, indent = ""): string {
  if (width === undefined) return text;
  return text
    .split("\n")
    .map((line) => {
      // A line's own leading spaces stay, and its continuation lines keep them too: counted in
      // what shows (a coloured line starts with its colour's code, then the spaces).
      const lead = /^ */.exec(stripVTControlCharacters(line))?.[0] ?? "";
      // The first line has the whole width; what does not fit goes on under the hanging indent.
      const body = lead ? sliceAnsi(line, lead.length) : line;
      const room = Math.max(10, width - lead.length);
      let [first = ""] = wrapWords(body, room);
      // A word too long for a line under the hanging indent (a long path or URL) is cut wherever it
      // goes: it starts after its label, where it stands, not alone on the next line with the label
      // left behind (the wrap moves a word that fits a whole line, and only then is it cut).
      const next = /^\s*(\S+)/.exec(stripVTControlCharacters(sliceAnsi(body, stringWidth(first))))?.[1] ?? "";
      if (stringWidth(next) > room - indent.length && stringWidth(first) + 1 < room) first = sliceAnsi(body, 0, room);
      // The rest is taken from the line itself, not from the pieces of the first wrap: a word cut
      // there (a long path or URL) must go on whole, not with a space where it was cut.
      const rest = sliceAnsi(body, stringWidth(first)).trimStart();
      if (stringWidth(rest) === 0) return `${lead}${first}`;
      const more = wrapWords(rest, Math.max(10, width - lead.length - indent.length));
      return [`${lead}${first}`, ...more.map((part) => `${lead}${indent}${part}`)].join("\n");
    })
    .join("\n");
}

/** The columns a stream's lines must fit: a terminal's, less one (a full last column wraps in some terminals); undefined when it is not a terminal. */
export function columnsOf(stream: object): number | undefined {
  const tty = stream as { isTTY?: boolean; columns?: number };
  return tty.isTTY && tty.columns ? tty.columns - 1 : undefined;
}

/**
 * Markdown shown at a terminal (the progress report, the summary) broken to `width` columns
 * (undefined: unchanged): a paragraph or a list item goes on two columns in (still the same
 * paragraph or item to a Markdown reader); a table wider than the terminal has its widest
 * columns' cells wrapped onto continuation rows (fitTable); a heading and a fenced code block
 * are left whole, since breaking them would change what they are.
 */
export function fitMarkdown(text: string, width: number | undefined): string {
  if (width === undefined) return text;
  let fenced = false;
  const out: string[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (!fenced && /^\|/.test(line)) {
      let end = i;
      while (end + 1 < lines.length && /^\|/.test(lines[end + 1] as string)) end++;
      out.push(...fitTable(lines.slice(i, end + 1), width));
      i = end;
      continue;
    }
    out.push(fenced || /^\s*([|#]|```|~~~)/.test(line) ? line : fitWidth(line, width, "  "));
  }
  return out.join("\n");
}

/** The cells of a Markdown table row (a pipe escaped as `\|` stays in its cell). */
function tableCells(row: string): string[] {
  return row
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|\s*$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The narrowest a wrapped column gets: below it a table reads worse than one that wraps. */
const MIN_COLUMN = 6;

/**
 * A Markdown table (its header, its `---` row, its rows) that fits `width` columns: unchanged when
 * it does already; else the widest columns are narrowed, evenly, until the table fits, and their
 * cells wrapped onto continuation rows (the other cells of such a row left empty), so each row
 * still reads as one to a Markdown reader that joins them in its head, and no line wraps in the
 * terminal. A table that cannot fit even so is left as it is.
 */
export function fitTable(rows: readonly string[], width: number): string[] {
  if (rows.every((row) => stringWidth(row) <= width) || rows.length < 2) return [...rows];
  const cells = rows.map(tableCells);
  const columns = Math.max(...cells.map((row) => row.length));
  // The second row is the `---` row (a table's by definition).
  const isRule = (index: number) => index === 1 && (cells[1] ?? []).every((cell) => /^:?-+:?$/.test(cell));
  const natural = Array.from({ length: columns }, (_, c) => Math.max(3, ...cells.filter((_, i) => !isRule(i)).map((row) => stringWidth(row[c] ?? ""))));
  // Each cell takes its text, a space either side and a pipe; the row one pipe more.
  const room = width - (3 * columns + 1);
  if (room < MIN_COLUMN * columns) return [...rows];
  // The largest cap on column widths under which the table fits (the widest columns give way first).
  let cap = Math.max(...natural);
  while (cap > MIN_COLUMN && natural.reduce((sum, w) => sum + Math.min(w, cap), 0) > room) cap--;
  const widths = natural.map((w) => Math.min(w, cap));
  if (widths.reduce((sum, w) => sum + w, 0) > room) return [...rows];
  const line = (parts: readonly string[]) => `| ${parts.map((part, c) => part + " ".repeat(Math.max(0, (widths[c] as number) - stringWidth(part)))).join(" | ")} |`;
  // The `---` row keeps each column's alignment colons.
  const rule = (row: readonly string[]) => `|${widths.map((w, c) => `${row[c]?.startsWith(":") ? ":" : "-"}${"-".repeat(w)}${row[c]?.endsWith(":") && row[c] !== ":" ? ":" : "-"}`).join("|")}|`;
  return cells.flatMap((row, index) => {
    if (isRule(index)) return [rule(row)];
    const wrapped = widths.map((w, c) => wrapWords(row[c] ?? "", w));
    const height = Math.max(...wrapped.map((parts) => parts.length));
    return Array.from({ length: height }, (_, k) => line(wrapped.map((parts) => parts[k] ?? "")));
  });
}

/** One word for a POSIX shell: single-quoted (a `'` inside becomes `'\''`); words made of safe characters stay bare (readable in logs). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
