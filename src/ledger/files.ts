import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CREATE_NEW, openNoFollow } from "../safe-fs.js";

/** Appends text and fsyncs it, so a row written is a row kept even if the machine dies next. */
export function appendDurable(path: string, text: string): void {
  const created = !existsSync(path);
  const fd = openNoFollow(path, "append");
  try {
    writeAll(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDir(dirname(path));
}

/**
 * Writes via temp file + fsync + rename (+ fsync of the folder): readers see the old or the new
 * content, never half, and a crash of the machine right after keeps the new content. With
 * `durable: false` (projections rebuilt from the records, such as results.tsv and patches) the
 * fsyncs are skipped: still never half a file, but a machine crash may keep the old one.
 */
export function writeAtomic(path: string, text: string | Uint8Array, options: { durable?: boolean } = {}): void {
  const durable = options.durable ?? true;
  const tmp = tempName(path, process.pid);
  // A leftover (or planted) file or link at the temp name is removed; O_EXCL then refuses anything raced in.
  try {
    unlinkSync(tmp);
  } catch {}
  const fd = openSync(tmp, CREATE_NEW, 0o644);
  try {
    writeAll(fd, text);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  if (durable) fsyncDir(dirname(path));
}

/** The temp file writeAtomic uses for `path` in process `pid`. */
export function tempName(path: string, pid: number): string {
  return `${path}.${pid}.tmp`;
}

/**
 * Removes temp files that writeAtomic left for `path` when its process was killed between the
 * write and the rename (never this process's own). Returns the names removed.
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of entries) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = name.slice(prefix.length, -".tmp".length);
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // gone already
    }
  }
  return removed;
}

/** Size, inode and nanosecond mtime: enough to tell whether anyone rewrote a file since we did. */
/** Best effort: makes a rename or a new file's name durable. Not every platform can open a folder. */
function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Windows and some file systems: the data itself is already synced.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function writeAll(fd: number, text: string | Uint8Array): void {
  const buf = typeof text === "string" ? Buffer.from(text) : Buffer.from(text.buffer, text.byteOffset, text.byteLength);
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
