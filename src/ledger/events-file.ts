import { openNoFollow } from "../safe-fs.js";
import { closeSync, fstatSync, mkdirSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { SessionInfo } from "./ledger.js";
import { type EventSink, publicEvent, type SessionEvent } from "./events.js";

/** The event stream persisted beside the session's other records (one JSON object per line). */
export const EVENTS_FILE = "events.jsonl";

export function eventsPath(recordsDir: string): string {
  return join(recordsDir, EVENTS_FILE);
}

export interface EventsFileSink extends EventSink {
  close(): void;
}

/**
 * A consumer of the event stream, like the terminal and NDJSON reporters, that appends every
 * event (with the time it happened) to `events.jsonl` so other processes — `status`, the
 * dashboard — can follow a running session. Events emitted before `session-start` are held
 * back: until then the records folder may still hold the previous session (which setup moves
 * to the archive), and its events must not be mixed into ours. Not fsynced: the stream is for
 * watchers; the ledger holds the durable truth.
 */
export function eventsFileSink(recordsDir: (session: SessionInfo) => string, now: () => Date = () => new Date()): EventsFileSink {
  let fd: number | null = null;
  let path: string | null = null;
  let held: string[] = [];
  const write = (line: string) => {
    if (fd === null) return;
    try {
      reopenIfReplaced();
      writeSync(fd, line);
    } catch {
      // A watcher's copy: losing it must never stop the session.
    }
  };
  // A run that deleted or replaced the records (without a sandbox it can reach them) must not
  // leave the stream going to a file nobody can read: a new file is opened where it was.
  const reopenIfReplaced = () => {
    if (fd === null || path === null) return;
    const open = fstatSync(fd);
    const there = statSync(path, { throwIfNoEntry: false });
    if (there && there.ino === open.ino && there.dev === open.dev) return;
    closeSync(fd);
    fd = null;
    mkdirSync(dirname(path), { recursive: true });
    fd = openNoFollow(path, "append");
  };
  const sink = ((event: SessionEvent) => {
    const line = `${JSON.stringify({ ...publicEvent(event), at: now().toISOString() })}\n`;
    if (fd === null && event.type === "session-start") {
      try {
        const dir = recordsDir(event.session);
        mkdirSync(dir, { recursive: true });
        path = eventsPath(dir);
        fd = openNoFollow(path, "append");
      } catch {
        held = [];
        return;
      }
      for (const earlier of held) write(earlier);
      held = [];
    }
    if (fd === null) held.push(line);
    else write(line);
  }) as EventsFileSink;
  sink.close = () => {
    if (fd !== null) closeSync(fd);
    fd = null;
  };
  return sink;
}
