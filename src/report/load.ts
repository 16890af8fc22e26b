import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UsageError } from "../errors.js";
import type { SessionInfo } from "../ledger/ledger.js";
import { readMemory } from "../ledger/memory.js";
import { sessionPaths } from "../ledger/paths.js";
import { parseResults } from "../ledger/results-tsv.js";
import type { Direction, ExperimentRecord } from "../types.js";
import { fromRecords, fromResults, type SessionData } from "./model.js";

/**
 * Reading a session for a report. Strictly read-only: another process (the loop) may be
 * appending at the same moment, so a torn last line is skipped here, never truncated.
 */

export function readRecordsReadOnly(path: string): ExperimentRecord[] {
  if (!existsSync(path)) return [];
  const out: ExperimentRecord[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line) as ExperimentRecord);
    } catch {
      break; // a line still being written: everything after it is not there yet
    }
  }
  return out;
}

export function readSessionReadOnly(root: string): SessionInfo | null {
  const path = sessionPaths(root).session;
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as SessionInfo;
  } catch {
    return null;
  }
}

/** The session's research notes, read-only (the loop and `note` may be appending). */
function withMemory(data: SessionData, root: string): SessionData {
  data.memory = readMemory(sessionPaths(root).memory);
  return data;
}

/** Reads a results file (this tool's format or Karpathy's) into the report model. */
export function loadResultsFile(path: string, options: { direction?: Direction; branch?: string | null } = {}): SessionData {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) {
    throw new UsageError(`results file not found: ${path}`, "Pass the path of a results.tsv, e.g. `autoresearch report results.tsv`.");
  }
  let parsed: ReturnType<typeof parseResults>;
  try {
    parsed = parseResults(readFileSync(absolute, "utf8"));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  return fromResults(parsed, { direction: options.direction, branch: options.branch ?? null, resultsPath: absolute });
}

export interface LocateOptions {
  /** Repo root (or any directory holding `.autoresearch/` or results.tsv). */
  root: string;
  /** An explicit results file; the rich records are used only when they belong to it. */
  results?: string;
  direction?: Direction;
  branch?: string | null;
}

/**
 * The best data available: the session's records when there are any (and, with an explicit
 * results file, only when that file is the session's own), else the rows of the results file.
 */
export function loadReportData(options: LocateOptions): SessionData {
  if (options.results) {
    const resultsPath = resolve(options.root, options.results);
    const root = dirname(resultsPath);
    const session = readSessionReadOnly(root);
    const own = session ? resolve(root, session.config?.results ?? "results.tsv") === resultsPath : false;
    const records = own ? readRecordsReadOnly(sessionPaths(root).experiments) : [];
    if (records.length > 0) {
      return withMemory(fromRecords(records, session, { direction: options.direction, branch: options.branch, resultsPath }), root);
    }
    return loadResultsFile(resultsPath, { direction: options.direction, branch: options.branch });
  }
  const root = resolve(options.root);
  const session = readSessionReadOnly(root);
  const records = readRecordsReadOnly(sessionPaths(root).experiments);
  const resultsPath = resolve(root, session?.config?.results ?? "results.tsv");
  if (records.length > 0) {
    return withMemory(fromRecords(records, session, { direction: options.direction, branch: options.branch, resultsPath }), root);
  }
  if (existsSync(resultsPath)) {
    const data = loadResultsFile(resultsPath, { direction: options.direction ?? session?.config?.direction, branch: options.branch ?? session?.branch ?? null });
    if (session) {
      data.session = session;
      data.metricName = session.config?.metric ?? data.metricName;
      if (!options.direction && session.config?.direction) data.directionSource = "session";
    }
    return data;
  }
  if (session) return withMemory(fromRecords([], session, { direction: options.direction, branch: options.branch, resultsPath }), root);
  throw new UsageError(
    `no autoresearch session or results file in ${root}`,
    "Run it in the repo where `autoresearch run` ran, or pass a results file: `autoresearch report path/to/results.tsv`.",
  );
}
