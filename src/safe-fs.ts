import { constants, lstatSync, mkdirSync, openSync, readSync, unlinkSync } from "node:fs";

/**
 * Every record is written without following symbolic links: a link planted where the tool
 * writes (a log, a patch, a temp file) is replaced, never written through. O_NOFOLLOW where
 * the platform has it (POSIX); lstat checks everywhere.
 */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW;
export const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;
const TRUNCATE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | NOFOLLOW;

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A real folder at `path`: a symbolic link there is removed first (never followed), then it is created. */
export function ensureRealDir(path: string): void {
  if (isLink(path)) unlinkSync(path);
  mkdirSync(path, { recursive: true });
}

/** Opens `path` for writing from the start, replacing a symbolic link there instead of following it. */
export function openNoFollow(path: string, how: "truncate" | "append" = "truncate"): number {
  if (isLink(path)) unlinkSync(path);
  return openSync(path, how === "append" ? APPEND : TRUNCATE, 0o644);
}

/** Bytes start..end of an open file (fewer when the file is shorter): a reader's window on a growing file. */
export function readRangeBytes(fd: number, start: number, end: number): Buffer {
  const buf = Buffer.alloc(Math.max(0, end - start));
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, start + off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/** The same window as UTF-8. */
export function readRange(fd: number, start: number, end: number): string {
  return readRangeBytes(fd, start, end).toString("utf8");
}
