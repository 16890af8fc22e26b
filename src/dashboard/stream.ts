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
  /**
   * Backpressure: while more than this is queued for the page (it reads slower than the session
   * writes, or not at all), nothing more is read for it; the files keep the rest, so a page that
   * catches up misses nothing. Default 256 KiB.
   */
  maxBufferedBytes?: number;
  /** A page whose queue stays over the bound this long is dropped (its socket closed). Default 10 s. */
  stallMs?: number;
}

const DEFAULT_MAX_BUFFERED = 256 * 1024;
const DEFAULT_STALL_MS = 10_000;

const MAX_CHUNK = 1024 * 1024;
const MIN_READ = 64 * 1024;

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
  private stalledSince: number | null = null;
  private dropped = false;

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
    // A ping is only needed when nothing else is on its way to the page.
    this.heartbeat = setInterval(() => {
      if (this.res.writableLength === 0) this.res.write(": ping\n\n");
    }, this.options.heartbeatMs ?? 15_000);
    this.res.on("close", () => this.stop());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.timer = null;
    this.heartbeat = null;
  }

  /** Bytes queued for this page and not yet taken by its socket (what backpressure bounds). */
  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  /** Whether this page was dropped for not reading its feed. */
  get wasDropped(): boolean {
    return this.dropped;
  }

  /** Sends what was written since the last poll, then ends the feed (the server is closing). */
  finish(): void {
    if (this.timer === null) return;
    if (!this.backedUp()) this.tick();
    this.stop();
    this.res.end();
  }

  private send(name: string, data: unknown): void {
    this.res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * True while the page's queue is over the bound (then nothing more is read for it). Drops the
   * page once it has stayed so for `stallMs`: a page that never reads would otherwise hold its
   * socket, and the orchestrator's memory, for the life of the session. The page reloads its
   * snapshot when its feed ends, so a dropped page that comes back misses nothing.
   */
  private backedUp(): boolean {
    if (this.res.writableLength <= (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED)) {
      this.stalledSince = null;
      return false;
    }
    const now = Date.now();
    this.stalledSince ??= now;
    if (now - this.stalledSince >= (this.options.stallMs ?? DEFAULT_STALL_MS)) {
      this.dropped = true;
      this.stop();
      this.res.destroy();
    }
    return true;
  }

  private tick(): void {
    if (this.backedUp()) return;
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
    const chunk = this.readForPage(this.events, this.offset, size);
    const end = chunk.lastIndexOf(0x0a);
    if (end === -1) return; // a line still being written
    for (const line of chunk.subarray(0, end).toString("utf8").split("\n")) {
      const event = parseEvent(line);
      if (!event) continue;
      // The run's last output is sent before the event that ends it.
      // (by then renamed from its key's log to its number's: runs/<n>.log).
      if (event.type === "experiment" && this.logOffsets.has(event.key ?? event.record.id)) this.readLog(event.key ?? event.record.id, logPath(this.location, event.record.id));
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

  /** `id`: the run's key in flight; it writes to runs/pending-<key>.log until its decision renames that. */
  private readLog(id: number, path = this.location.paths.pendingLog(id)): void {
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
    const chunk = this.readForPage(path, from, size);
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

  /**
   * The bytes of `path` from `from`, no more than the page has room for: each page reads on its
   * own, so what it reads per poll is what a page costs in memory (ten pages reading a chunk per
   * run each took tens of MB). A line that does not end within the room is read up to a chunk.
   */
  private readForPage(path: string, from: number, size: number): Buffer {
    const room = Math.min(MAX_CHUNK, Math.max(MIN_READ, (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED) - this.res.writableLength));
    const chunk = readBytes(path, from, Math.min(size, from + room));
    if (chunk.length === room && room < MAX_CHUNK && chunk.lastIndexOf(0x0a) === -1) return readBytes(path, from, Math.min(size, from + MAX_CHUNK));
    return chunk;
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
