/**
 * The run's log file, capped: the first half of the cap is written as it comes, the last half
 * is kept in a ring buffer and written on close, with one `[... N bytes elided ...]` line
 * between them when anything was dropped. The file never exceeds the cap by more than that line.
 */
import { closeSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { ensureRealDir, openNoFollow } from "../safe-fs.js";

export const DEFAULT_MAX_LOG_BYTES = 64 * 1024 * 1024;

export function elisionLine(bytes: number): string {
  return `\n[... ${bytes} bytes elided ...]\n`;
}

export class LogSink {
  private fd: number | null;
  private readonly headCap: number;
  private readonly tailCap: number;
  private headBytes = 0;
  private ring: Buffer | null = null;
  private ringStart = 0;
  private ringLen = 0;
  private dropped = 0;
  private total = 0;

  /** Opens (truncates) `path`, creating its folder; a symbolic link at either is replaced, never followed. */
  constructor(
    readonly path: string,
    maxBytes = DEFAULT_MAX_LOG_BYTES,
  ) {
    const cap = Math.max(2, Math.floor(maxBytes));
    this.headCap = Math.floor(cap / 2);
    this.tailCap = cap - this.headCap;
    ensureRealDir(dirname(path));
    this.fd = openNoFollow(path);
  }

  /** Bytes written to the sink so far (before capping). */
  get totalBytes(): number {
    return this.total;
  }

  /** Bytes that will not appear in the file. */
  get elidedBytes(): number {
    return this.dropped;
  }

  write(chunk: Buffer | string): void {
    if (this.fd === null) return;
    let buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.total += buf.length;
    if (this.headBytes < this.headCap) {
      const n = Math.min(buf.length, this.headCap - this.headBytes);
      writeAll(this.fd, buf.subarray(0, n));
      this.headBytes += n;
      buf = buf.subarray(n);
    }
    if (buf.length > 0) this.pushTail(buf);
  }

  /** Writes the kept tail and closes the file. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      if (this.dropped > 0) writeAll(fd, Buffer.from(elisionLine(this.dropped)));
      if (this.ring && this.ringLen > 0) {
        const first = Math.min(this.ringLen, this.tailCap - this.ringStart);
        writeAll(fd, this.ring.subarray(this.ringStart, this.ringStart + first));
        if (first < this.ringLen) writeAll(fd, this.ring.subarray(0, this.ringLen - first));
      }
    } finally {
      closeSync(fd);
      this.ring = null;
    }
  }

  private pushTail(buf: Buffer): void {
    const cap = this.tailCap;
    this.ring ??= Buffer.allocUnsafe(cap);
    if (buf.length >= cap) {
      this.dropped += this.ringLen + buf.length - cap;
      buf.copy(this.ring, 0, buf.length - cap);
      this.ringStart = 0;
      this.ringLen = cap;
      return;
    }
    const overflow = this.ringLen + buf.length - cap;
    if (overflow > 0) {
      this.dropped += overflow;
      this.ringStart = (this.ringStart + overflow) % cap;
      this.ringLen -= overflow;
    }
    const pos = (this.ringStart + this.ringLen) % cap;
    const first = Math.min(buf.length, cap - pos);
    buf.copy(this.ring, pos, 0, first);
    if (first < buf.length) buf.copy(this.ring, 0, first);
    this.ringLen += buf.length;
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
