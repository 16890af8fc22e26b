/** Default branch tag from the date, as the spec shows: "mar8", "nov26". */
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export function dateTag(date: Date): string {
  return `${MONTHS[date.getMonth()]}${date.getDate()}`;
}

/** Tags become branch names `autoresearch/<tag>`: keep them short and shell-safe. */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag) && !tag.includes("..") && !tag.endsWith(".lock") && !tag.endsWith(".");
}
