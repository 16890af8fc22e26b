import { statSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { eventsPath } from "../ledger/events-file.js";
import { loopLiveness } from "../ledger/liveness.js";
import { foldLive, type LiveState } from "./live.js";
import { fileSize, liveFromTail, logPath, parseEvent, readBytes } from "./read.js";
import type { SessionLocation } from "./sessions.js";

/**
 * One page's live feed (server-sent events): new lines of events.jsonl as `session` events,
 * new output of the runs in flight as `log` events, the loop's liveness as `loop` events, and
 * `reset` when the records were replaced (a new session started, the old one archived).
 * Polling the files keeps it the same on every platform and every file system; the page sees
 * each event within one poll interval.
 */
export interface StreamOptions {
  pollMs: number;
  /** How much of a run's log a page that starts watching it gets first. */
  logBacklogBytes?: number;
  heartbeatMs?: number;
}

const MAX_CHUNK = 1024 * 1024;

export class SessionStream {
  private readonly events: string;
  private offset: number;
  private ino: number | null;
  private live: LiveState;
  private readonly logOffsets = new Map<number, number>();
  private readonly cutHead = new Set<number>();
  private loopState: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private lastLoopCheck = 0;
  private readonly replaced: boolean;

  constructor(
    private readonly location: SessionLocation,
    private readonly res: ServerResponse,
    from: number,
    private readonly options: StreamOptions,
  ) {
    this.events = eventsPath(location.dir);
    const size = fileSize(this.events);
    // An offset past the end belongs to records that have since been replaced.
    this.replaced = from > size;
    this.offset = Math.min(Math.max(0, from), size);
    this.ino = inode(this.events);
    this.live = liveFromTail(this.events, this.offset);
  }

  start(): void {
    this.res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store", Connection: "keep-alive" });
    this.res.write("retry: 1000\n\n");
    if (this.replaced) {
      this.send("reset", {});
      this.res.end();
      return;
    }
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.pollMs);
    this.heartbeat = setInterval(() => this.res.write(": ping\n\n"), this.options.heartbeatMs ?? 15_000);
    this.res.on("close", () => this.stop());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.timer = null;
    this.heartbeat = null;
  }

  /** Sends what was written since the last poll, then ends the feed (the server is closing). */
  finish(): void {
    if (this.timer === null) return;
    this.tick();
    this.stop();
    this.res.end();
  }

  private send(name: string, data: unknown): void {
    this.res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private tick(): void {
    try {
      this.readEvents();
      this.readLogs();
      this.checkLoop();
    } catch {
      // A file mid-move (archiving) reads as missing for a moment: the next poll sees the result.
    }
  }

  private readEvents(): void {
    const size = fileSize(this.events);
    const ino = inode(this.events);
    if ((this.ino !== null && ino !== null && ino !== this.ino) || size < this.offset) {
      // The records were replaced: the page reloads its snapshot and opens a new stream.
      this.ino = ino;
      this.offset = size;
      this.send("reset", {});
      this.stop();
      this.res.end();
      return;
    }
    this.ino = ino;
    if (size <= this.offset) return;
    const chunk = readBytes(this.events, this.offset, Math.min(size, this.offset + MAX_CHUNK));
    const end = chunk.lastIndexOf(0x0a);
    if (end === -1) return; // a line still being written
    for (const line of chunk.subarray(0, end).toString("utf8").split("\n")) {
      const event = parseEvent(line);
      if (!event) continue;
      // The run's last output is sent before the event that ends it.
      if (event.type === "experiment" && this.logOffsets.has(event.record.id)) this.readLog(event.record.id);
      this.live = foldLive(this.live, event);
      // The line as written: JSON has no raw newlines, so it is one SSE data line.
      this.res.write(`event: session\ndata: ${line}\n\n`);
    }
    this.offset += end + 1;
  }

  private readLogs(): void {
    const running = new Set(this.live.runs.map((r) => r.iteration));
    for (const id of [...this.logOffsets.keys()]) if (!running.has(id)) this.logOffsets.delete(id);
    for (const id of running) this.readLog(id);
  }

  private readLog(id: number): void {
    const path = logPath(this.location, id);
    const size = fileSize(path);
    let from = this.logOffsets.get(id);
    if (from === undefined) {
      from = Math.max(0, size - (this.options.logBacklogBytes ?? 16 * 1024));
      this.logOffsets.set(id, from);
      if (from > 0) this.cutHead.add(id);
    }
    if (size < from) {
      // Truncated (the run started again after a resume): follow it from its start.
      this.logOffsets.set(id, 0);
      from = 0;
    }
    if (size <= from) return;
    const chunk = readBytes(path, from, Math.min(size, from + MAX_CHUNK));
    // Whole lines only, so a multi-byte character is never split (unless a line is huge).
    const end = chunk.lastIndexOf(0x0a);
    const take = end === -1 ? (chunk.length >= MAX_CHUNK ? chunk.length : 0) : end + 1;
    if (take === 0) return;
    this.logOffsets.set(id, from + take);
    let text = chunk.subarray(0, take).toString("utf8");
    // A backlog cut mid-file starts at its first whole line.
    if (this.cutHead.delete(id)) text = text.slice(text.indexOf("\n") + 1);
    this.send("log", { id, text });
  }

  private checkLoop(): void {
    if (!this.location.lock) return;
    const now = Date.now();
    if (now - this.lastLoopCheck < 1000) return;
    this.lastLoopCheck = now;
    const loop = loopLiveness(this.location.lock);
    if (loop.state !== this.loopState) {
      if (this.loopState !== null) this.send("loop", loop);
      this.loopState = loop.state;
    }
  }
}

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}
