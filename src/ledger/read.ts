/**
 * Reading a session's records from another process (`status`, `report`, `merge`, exports)
 * while the loop may be appending to them. Strictly read-only: a torn last line is skipped
 * here, never cut off (only the loop's own Ledger repairs its files).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ExperimentRecord, Measurement, RejectedProposal } from "../types.js";
import { joinMeasurements } from "./measurements.js";
import type { InFlight, SessionInfo } from "./session-records.js";
import type { SessionPaths } from "./paths.js";
import { type ParsedResults, parseResults } from "./results-tsv.js";

/**
 * experiments.jsonl up to its first unreadable line (one still being written), with the runs
 * `autoresearch confirm` made of each record's code joined (src/ledger/measurements.ts).
 */
export function readRecordsReadOnly(paths: SessionPaths): ExperimentRecord[] {
  return joinMeasurements(readLinesReadOnly<ExperimentRecord>(paths.experiments), readMeasurementsReadOnly(paths));
}

/** measurements.jsonl (`autoresearch confirm`'s runs), read the same way. */
export function readMeasurementsReadOnly(paths: SessionPaths): Measurement[] {
  return readLinesReadOnly<Measurement>(paths.measurements);
}

/** rejected.jsonl (refused proposals), read the same way. */
export function readRejectedReadOnly(paths: SessionPaths): RejectedProposal[] {
  return readLinesReadOnly<RejectedProposal>(join(paths.dir, "rejected.jsonl"));
}

function readLinesReadOnly<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const out: T[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      break; // a line still being written: everything after it is not there yet
    }
  }
  return out;
}

/** session.json, or null when there is none or it cannot be read. */
export function readSessionReadOnly(paths: SessionPaths): SessionInfo | null {
  if (!existsSync(paths.session)) return null;
  try {
    return JSON.parse(readFileSync(paths.session, "utf8")) as SessionInfo;
  } catch {
    return null;
  }
}

/**
 * state.json's text as the experiments in flight: `{"runs": [...]}`, or the one-object (or
 * `null`) format of sessions from before workers. Unreadable text (a file being replaced) is none.
 */
export function parseInFlight(text: string): InFlight[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  const entries = value && typeof value === "object" && Array.isArray((value as { runs?: unknown }).runs) ? (value as { runs: unknown[] }).runs : [value];
  return entries.filter((e): e is InFlight => !!e && typeof e === "object" && typeof (e as InFlight).id === "number");
}

/** state.json: the experiments in flight (proposed or running), oldest id first; empty when none. */
export function readInFlightReadOnly(paths: SessionPaths): InFlight[] {
  if (!existsSync(paths.state)) return [];
  try {
    return parseInFlight(readFileSync(paths.state, "utf8")).sort((a, b) => a.id - b.id);
  } catch {
    return [];
  }
}

/** Whether `path` is an existing regular file (a results file to read). */
export function isResultsFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** A results file, this tool's format or Karpathy's. Throws when it is not one. */
export function readResultsFile(path: string): ParsedResults {
  return parseResults(readFileSync(path, "utf8"));
}
