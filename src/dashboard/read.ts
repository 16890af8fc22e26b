import { redactConfig } from "../config/redact.js";
import { alternateName, SUMMARY_FILE } from "../file-names.js";
import { closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SessionInfo } from "../ledger/ledger.js";
import { eventsPath } from "../ledger/events-file.js";
import { type LoopLiveness, loopLiveness } from "../ledger/liveness.js";
import { readRecordsReadOnly, readRejectedReadOnly } from "../ledger/read.js";
import { headOf } from "../ledger/tree.js";
import { type FinalizePanel, finalizePanel, loadFinalizeView } from "../report/finalize-view.js";
import type { ExperimentRecord } from "../types.js";
import { type ExperimentSummary, pooledNoise, summarize } from "./model.js";
import { emptyLive, foldLive, type LiveState, type StampedEvent } from "./live.js";
import { readSessionFile, type SessionLocation } from "./sessions.js";
import { readRange, readRangeBytes } from "../safe-fs.js";

/**
 * Everything the dashboard shows, read from a session's records. Strictly read-only: the loop
 * may be appending at the same moment, so a torn last line is skipped, never cut.
 */

export interface SessionSnapshot {
  id: string;
  archived: boolean;
  info: Omit<SessionInfo, "guardedHashes"> | null;
  experiments: ExperimentSummary[];
  rejected: { count: number; costUsd: number };
  loop: LoopLiveness;
  live: LiveState;
  /** Byte offset of events.jsonl this snapshot includes: the event stream continues from here. */
  eventsOffset: number;
  /** Pooled run-to-run standard deviation, when some code ran more than once. */
  noise: number | null;
  /** autoresearch-summary.md, once the session has ended. */
  summary: string | null;
  /** Its `autoresearch finalize`: the contribution table and the verdict of each kept change; null when never finalized. */
  finalize: FinalizePanel | null;
}

const MAX_SUMMARY_BYTES = 256 * 1024;
/** How much of events.jsonl's end is folded for the live view of a page that just opened. */
const LIVE_TAIL_BYTES = 512 * 1024;

export function sessionSnapshot(location: SessionLocation): SessionSnapshot {
  // The offset is taken first: an experiment recorded after it also arrives as an event, and the
  // page drops the duplicate by id; the other order could lose one.
  const events = eventsPath(location.dir);
  const eventsOffset = fileSize(events);
  const info = readSessionFile(location);
  const records = readRecordsReadOnly(location.paths);
  const rejected = readRejectedReadOnly(location.paths);
  const loop: LoopLiveness = location.lock
    ? loopLiveness(location.lock)
    : { state: "stopped", pid: null, host: null, startedAt: null, text: "archived session" };
  let summary: string | null = null;
  // The alternate name is the session's when the user tracks a file of the usual name.
  const alternate = join(location.reportDir, alternateName(SUMMARY_FILE));
  const summaryPath = existsSync(alternate) ? alternate : join(location.reportDir, SUMMARY_FILE);
  if (loop.state !== "running" && existsSync(summaryPath)) summary = readTail(summaryPath, MAX_SUMMARY_BYTES).text;
  let publicInfo: SessionSnapshot["info"] = null;
  if (info) {
    const { guardedHashes: _hashes, ...rest } = info;
    publicInfo = { ...rest, config: redactConfig(rest.config) };
  }
  return {
    id: location.id,
    archived: location.archived,
    info: publicInfo,
    experiments: records.map(summarize),
    rejected: { count: rejected.length, costUsd: rejected.reduce((sum, r) => sum + (Number.isFinite(r.costUsd) ? (r.costUsd as number) : 0), 0) },
    loop,
    live: liveFromTail(events, eventsOffset),
    eventsOffset,
    noise: pooledNoise(records),
    summary,
    finalize: finalizeOf(location, info, records),
  };
}

/** The session's finalize, as the panel shows it (read from finalize.jsonl). */
function finalizeOf(location: SessionLocation, info: SessionInfo | null, records: readonly ExperimentRecord[]): FinalizePanel | null {
  const head = records.length > 0 ? headOf(records, info?.config?.direction ?? "min") : null;
  const view = loadFinalizeView(location.paths, head);
  return view ? finalizePanel(view, info?.tag) : null;
}

/** The full record of experiment `id` and its diff, or null when there is no such experiment. */
export function experimentDetail(location: SessionLocation, id: number): { record: ExperimentRecord; patch: string | null; logBytes: number } | null {
  const records = readRecordsReadOnly(location.paths);
  const record = records.find((r) => r.id === id);
  if (!record) return null;
  const patchPath = location.paths.patch(id);
  const patch = existsSync(patchPath) ? readFileSync(patchPath, "utf8") : null;
  return { record, patch, logBytes: fileSize(logPath(location, id)) };
}

export function logPath(location: SessionLocation, id: number): string {
  return location.paths.runLog(id);
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The last `bytes` of a file, starting at a whole line when cut. */
export function readTail(path: string, bytes: number): { text: string; size: number; truncated: boolean } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return { text: "", size: 0, truncated: false };
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const text = readRange(fd, start, size);
    if (start === 0) return { text, size, truncated: false };
    const firstBreak = text.indexOf("\n");
    return { text: firstBreak === -1 ? text : text.slice(firstBreak + 1), size, truncated: true };
  } finally {
    closeSync(fd);
  }
}

/** Bytes [start, end) of a file as UTF-8 (the caller keeps track of offsets). */
export function readBytes(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, "r");
  try {
    return readRangeBytes(fd, start, end);
  } finally {
    closeSync(fd);
  }
}

/** Folds the end of events.jsonl (up to `end`) into the live state. */
export function liveFromTail(path: string, end: number): LiveState {
  let live = emptyLive();
  if (end === 0) return live;
  const start = Math.max(0, end - LIVE_TAIL_BYTES);
  let text = readBytes(path, start, end).toString("utf8");
  if (start > 0) text = text.slice(text.indexOf("\n") + 1);
  for (const line of text.split("\n")) {
    const event = parseEvent(line);
    if (event) live = foldLive(live, event);
  }
  return live;
}

export function parseEvent(line: string): StampedEvent | null {
  if (line.trim() === "") return null;
  try {
    const value = JSON.parse(line) as StampedEvent;
    return value && typeof value.type === "string" ? value : null;
  } catch {
    return null;
  }
}
