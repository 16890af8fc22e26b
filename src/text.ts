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
  const flat = text.replace(UNSAFE, " ").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
