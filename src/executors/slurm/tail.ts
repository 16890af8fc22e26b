/**
 * Follows a file another machine writes (a job's output on a shared filesystem): each poll reads
 * the bytes added since the last one. The file may not exist yet (the job is still queued).
 */
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 64 * 1024;

export class FileTail {
  private fd: number | null = null;
  private offset = 0;
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    readonly path: string,
    private readonly onChunk: (chunk: Buffer) => void,
  ) {}

  /** Bytes read so far. */
  get bytes(): number {
    return this.offset;
  }

  /** Reads what was added since the last poll; returns how many bytes. */
  poll(): number {
    if (this.fd === null) {
      try {
        this.fd = openSync(this.path, "r");
      } catch {
        return 0;
      }
    }
    let total = 0;
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, CHUNK, this.offset);
      if (n <= 0) break;
      this.offset += n;
      total += n;
      // A copy: the consumer may keep it (the log's tail ring keeps slices).
      this.onChunk(Buffer.from(this.buf.subarray(0, n)));
    }
    return total;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
