/**
 * Turns a byte stream into lines as it arrives. `\n`, `\r\n` and a lone `\r` (progress bars)
 * all end a line; empty lines are skipped. A line longer than `maxLineChars` is cut there and
 * the rest of it dropped, so a flood without newlines cannot grow memory.
 */
import { StringDecoder } from "node:string_decoder";

export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineChars = 64 * 1024,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.pending + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    let start = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // Keep a trailing \r until we know whether \n follows in the next chunk.
      if (c === 13 && i === n - 1) break;
      this.emit(text.slice(start, i));
      if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.pending = text.slice(start);
    if (this.pending.length > this.maxLineChars && !this.pending.endsWith("\r")) {
      if (!this.discarding) this.onLine(this.pending.slice(0, this.maxLineChars));
      this.discarding = true;
      this.pending = "";
    }
  }

  /** Flush the last unterminated line. */
  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = "";
    for (const line of rest.split(/\r\n|\r|\n/)) this.emit(line);
  }

  private emit(line: string): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    if (line.length === 0) return;
    this.onLine(line.length > this.maxLineChars ? line.slice(0, this.maxLineChars) : line);
  }
}
