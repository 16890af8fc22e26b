/** Default branch tag from the date, as the spec shows: "mar8", "nov26". */
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export function dateTag(date: Date): string {
  return `${MONTHS[date.getMonth()]}${date.getDate()}`;
}

/** Tags become branch names `autoresearch/<tag>`: keep them short and shell-safe. */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Names the tool itself uses beside the sessions' folders in `<git dir>/autoresearch/`
 * (src/ledger/paths.ts, src/loop/setup.ts, src/ledger/sessions.ts): a session folder under one of
 * them would collide with the lock, the `current` pointer, or the archives of failed and old
 * sessions. Names starting with `lock.` or `current.` are the temporary files of the first two.
 */
export const RESERVED_TAGS = ["lock", "current", "failed", "archive"] as const;

export function isReservedTag(tag: string): boolean {
  const lower = tag.toLowerCase(); // case-insensitive file systems (macOS, Windows) fold them together
  return RESERVED_TAGS.some((name) => lower === name || lower.startsWith(`${name}.`));
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag) && !tag.includes("..") && !tag.endsWith(".lock") && !tag.endsWith(".");
}

/** Why `tag` cannot name a session, or null when it can. */
export function tagProblem(tag: string): string | null {
  if (!isValidTag(tag)) return "use letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit)";
  if (isReservedTag(tag)) return `"${tag}" is a name the tool uses for its own files in .git/autoresearch/ (${RESERVED_TAGS.join(", ")})`;
  return null;
}
