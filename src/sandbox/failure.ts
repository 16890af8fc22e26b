/**
 * A run that failed because the sandbox refused a write (EROFS) gets a crash reason that names
 * the path and says what to do, instead of the last line of a traceback.
 */

/** Python (`[Errno 30] Read-only file system: 'p'`), Node (`EROFS: read-only file system, open 'p'`), coreutils (`rm: cannot remove 'p': Read-only file system`). */
const PATTERNS: RegExp[] = [
  /Read-only file system: '([^']+)'/,
  /EROFS: read-only file system, \w+ '([^']+)'/,
  /'([^']+)': Read-only file system/,
  /([^\s:'"]+): Read-only file system/,
];

export const READ_ONLY_REASON = "read-only";

/** The path a failed run could not write, from its last lines (the last mention wins), or null. */
export function readOnlyPath(tailLines: readonly string[]): string | null {
  for (const line of [...tailLines].reverse()) {
    if (!/read-only file system/i.test(line)) continue;
    for (const pattern of PATTERNS) {
      const m = pattern.exec(line);
      if (m?.[1]) return m[1];
    }
  }
  return null;
}

export function readOnlyFailure(tailLines: readonly string[]): { reason: string; detail: string } | null {
  const path = readOnlyPath(tailLines);
  if (path === null) return null;
  return {
    reason: READ_ONLY_REASON,
    detail: `wrote to ${path}, which the sandbox keeps read-only (shared data, the environment and everything outside the working tree): write outputs inside the working tree`,
  };
}
