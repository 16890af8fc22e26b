import { dirname, join, resolve } from "node:path";
import { UsageError } from "../errors.js";
import { DEFAULT_RESULTS_FILE } from "../file-names.js";
import { readMemory } from "../ledger/memory.js";
import { locateSession, type SessionPaths } from "../ledger/paths.js";
import { listSessions, locateAnySession } from "../ledger/sessions.js";
import { isResultsFile, readRecordsReadOnly, readRejectedReadOnly, readResultsFile, readSessionReadOnly } from "../ledger/read.js";
import type { Direction } from "../types.js";
import { loadFinalizeView } from "./finalize-view.js";
import { fromRecords, fromResults, headRef, type SessionData } from "./model.js";

/**
 * Finding the data of a report. The files are read through the ledger's read-only readers:
 * another process (the loop) may be appending at the same moment.
 */

/**
 * The session's research notes, read-only (the loop and `note` may be appending), what its refused
 * proposals cost, and where its finalize stands (finalize.jsonl; the table the summary embeds is rendered from it).
 */
function withMemory(data: SessionData, paths: SessionPaths): SessionData {
  data.memory = readMemory(paths.memory);
  data.rejected = readRejectedReadOnly(paths);
  data.finalize = loadFinalizeView(paths, headRef(data));
  return data;
}

/** Reads a results file (this tool's format or Karpathy's) into the report model. */
export function loadResultsFile(path: string, options: { direction?: Direction; branch?: string | null } = {}): SessionData {
  const absolute = resolve(path);
  if (!isResultsFile(absolute)) {
    throw new UsageError(`results file not found: ${path}`, "Pass the path of an existing results.tsv (this tool's or Karpathy's format).");
  }
  let parsed: ReturnType<typeof readResultsFile>;
  try {
    parsed = readResultsFile(absolute);
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message}`);
  }
  return fromResults(parsed, { direction: options.direction, branch: options.branch ?? null, resultsPath: absolute });
}

export interface LocateOptions {
  /** Repo root (or any directory holding results.tsv). */
  root: string;
  /** The session's tag (default: the current session). */
  tag?: string;
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
    const paths = locateSession(options.root, options.tag) ?? locateSession(dirname(resultsPath), options.tag);
    const session = paths ? readSessionReadOnly(paths) : null;
    const own = paths && session ? resolve(paths.root, session.config?.results ?? DEFAULT_RESULTS_FILE) === resultsPath : false;
    const records = own && paths ? readRecordsReadOnly(paths) : [];
    if (records.length > 0) {
      return withMemory(fromRecords(records, session, { direction: options.direction, branch: options.branch, resultsPath }), paths as SessionPaths);
    }
    return loadResultsFile(resultsPath, { direction: options.direction, branch: options.branch });
  }
  const root = resolve(options.root);
  const paths = locateAnySession(root, options.tag);
  const session = paths ? readSessionReadOnly(paths) : null;
  const records = paths ? readRecordsReadOnly(paths) : [];
  const resultsPath = resolve(root, session?.config?.results ?? DEFAULT_RESULTS_FILE);
  if (records.length > 0) {
    const data = withMemory(fromRecords(records, session, { direction: options.direction, branch: options.branch, resultsPath }), paths as SessionPaths);
    if (options.tag && locateSession(root)?.dir !== paths?.dir) data.notCurrent = true;
    return data;
  }
  // The results file in the checkout is the current session's projection: another session's
  // report never falls back to it.
  const ownsResults = !options.tag || locateSession(root)?.dir === paths?.dir;
  if (ownsResults && isResultsFile(resultsPath)) {
    const data = loadResultsFile(resultsPath, { direction: options.direction ?? session?.config?.direction, branch: options.branch ?? session?.branch ?? null });
    if (session) {
      data.session = session;
      data.metricName = session.config?.metric ?? data.metricName;
      if (!options.direction && session.config?.direction) data.directionSource = "session";
    }
    return data;
  }
  if (session) return withMemory(fromRecords([], session, { direction: options.direction, branch: options.branch, resultsPath }), paths as SessionPaths);
  // Only failed starts here (their baselines failed; nothing to report on): which, and where the reason is.
  const failed = options.tag ? [] : listSessions(root).filter((s) => s.state === "failed");
  const last = failed[failed.length - 1];
  if (last) {
    throw new UsageError(
      `no autoresearch session in ${root}: ${failed.length === 1 ? "one start" : `${failed.length} starts`} failed before a baseline was kept`,
      `The last one's baseline log is in ${join(last.dir, "runs")}: fix what it shows, then \`autoresearch run\` again.`,
    );
  }
  throw new UsageError(
    `no autoresearch session or results file in ${root}`,
    "Run it in the repo where `autoresearch run` ran (or pass --dir); a results file alone is read by `autoresearch report path/to/results.tsv`.",
  );
}
