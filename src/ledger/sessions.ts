import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExperimentRecord } from "../types.js";
import type { SessionInfo } from "./ledger.js";
import { type FinalizeProgress, readFinalizeState } from "./finalize-state.js";
import { loopLiveness } from "./liveness.js";
import { currentTag, FAILED_DIR, hasLegacySession, LEGACY_DIR, legacyPaths, locateSession, recordsPaths, type SessionPaths, sessionPaths, sessionsHome, sessionTags } from "./paths.js";
import { readRecordsReadOnly, readSessionReadOnly } from "./read.js";
import { headOf, measuredOf } from "./tree.js";
import { UsageError } from "../errors.js";
import { gainStanding, noiseOfRecords } from "../metric/index.js";

/**
 * Every session of a repository, wherever its records are: `<git dir>/autoresearch/<tag>/records`
 * (resumable), a failed start's records under `<git dir>/autoresearch/failed/<name>`, an old
 * layout's `.autoresearch/` in the checkout and the archives old layouts kept (`archive/<name>`,
 * moved along as `records/legacy-archive/<name>` on migration). Read-only: listing never changes
 * anything, so it is safe while a loop runs.
 */

/**
 * running: its loop holds the repo's lock (a lock from another host counts as running: it
 * cannot be checked); finished: it ended on its own (limit or stop condition); stopped: stopped
 * by the user, an error or a kill, and resumable; archived: records an old layout kept; failed:
 * a start whose baseline failed (nothing kept).
 */
export type SessionStateName = "running" | "stopped" | "finished" | "archived" | "failed";

export interface SessionSummary {
  /** What `--tag` takes: the tag, or `failed/<name>` / `archive/<name>` for records that are not resumable. */
  id: string;
  tag: string;
  branch: string;
  state: SessionStateName;
  /** The session `resume`, `status` and `report` use by default. */
  current: boolean;
  /** Experiments after the baseline. */
  experiments: number;
  kept: number;
  metric: string;
  direction: string;
  baseline: number | null;
  best: number | null;
  bestId: number | null;
  /**
   * How the best stands above the baseline when that could be luck (within the noise floor, or
   * never re-measured: no noise floor); null when it stands clear or is the baseline.
   */
  bestWithinNoise: string | null;
  startedAt: string;
  /** Why it ended, from its event stream (null while running or when never recorded). */
  endReason: string | null;
  /** Where its records are. */
  dir: string;
  /** True when `resume --tag <id>` can continue it. */
  resumable: boolean;
  /** Its latest `autoresearch finalize`: null when never finalized. */
  finalize: SessionFinalize | null;
}

/** A session's finalize as `sessions` lists it. */
export interface SessionFinalize {
  progress: FinalizeProgress;
  startedAt: string;
  /** When it finished: when the session was finalized (null while running or stopped). */
  finishedAt: string | null;
  /** Kept changes judged `matters`, of `changes` measured (null until finished). */
  matter: number | null;
  changes: number;
  runsDone: number;
  runsPlanned: number;
  /** It measured an earlier best: the session kept more since. */
  stale: boolean;
  /** finalize.md, the contribution table. */
  table: string;
}

function finalizeOf(paths: SessionPaths, headCommit: string | null): SessionFinalize | null {
  const state = readFinalizeState(paths);
  if (!state) return null;
  const { attempt, progress } = state;
  const planned = Object.values(attempt.batches).reduce((sum, b) => sum + (b?.plannedRuns ?? 0), 0);
  return {
    progress,
    startedAt: attempt.startedAt,
    finishedAt: attempt.result?.at ?? null,
    matter: attempt.result ? attempt.result.verdicts.filter((v) => v.verdict === "matters").length : null,
    changes: attempt.header.changes.length,
    runsDone: attempt.runs.length,
    runsPlanned: Math.max(planned, attempt.header.plannedRuns, attempt.runs.length),
    stale: headCommit !== null && headCommit !== attempt.header.best.commit,
    table: paths.finalizeTable,
  };
}

interface Found {
  id: string;
  paths: SessionPaths;
  kind: "home" | "legacy" | "archive" | "failed";
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

function archivedUnder(root: string, dir: string, prefix: string): Found[] {
  return subdirs(dir)
    .filter((name) => existsSync(join(dir, name, "session.json")))
    .map((name) => ({ id: `${prefix}/${name}`, paths: recordsPaths(root, join(dir, name)), kind: "archive" as const }));
}

/** Where every session's records of the checkout at `root` are. */
function findAll(root: string): Found[] {
  const found: Found[] = [];
  const home = sessionsHome(root);
  if (home) {
    for (const tag of sessionTags(home)) {
      const paths = sessionPaths(root, tag, home);
      found.push({ id: tag, paths, kind: "home" });
      found.push(...archivedUnder(root, join(paths.dir, "legacy-archive"), `${tag}/archive`));
    }
    const failed = join(home, FAILED_DIR);
    for (const name of subdirs(failed)) {
      if (existsSync(join(failed, name, "session.json"))) found.push({ id: `${FAILED_DIR}/${name}`, paths: recordsPaths(root, join(failed, name)), kind: "failed" });
    }
  }
  if (hasLegacySession(root)) {
    found.push({ id: LEGACY_DIR, paths: legacyPaths(root), kind: "legacy" });
    found.push(...archivedUnder(root, join(root, LEGACY_DIR, "archive"), "archive"));
  }
  return found;
}

/** The reason of the last `session-end` in events.jsonl, or null (none, or resumed since). */
function endReason(dir: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dir, "events.jsonl"), "utf8");
  } catch {
    return null;
  }
  const lines = text.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const event = JSON.parse(lines[i] as string) as { type?: string; reason?: string };
      if (event.type === "session-start") return null; // resumed after its last end
      if (event.type === "session-end") return typeof event.reason === "string" ? event.reason : null;
    } catch {
      // a line being written
    }
  }
  return null;
}

const within = (standing: { within: boolean; text: string } | null): string | null => (standing?.within ? standing.text : null);

function summarize(found: Found, info: SessionInfo, current: string | null, home: string | null): SessionSummary {
  const records: ExperimentRecord[] = readRecordsReadOnly(found.paths);
  const kept = records.filter((r) => r.status === "keep");
  // The best is the tree's head (the best kept node), which the research branch points at.
  const best = kept.some((r) => r.metric !== null) ? headOf(records, info.config.direction) : null;
  const baseline = records[0] ?? null;
  // Each as measured (the mean of all its runs, `confirm`'s included), as status and every decision see it.
  const bestMetric = best ? measuredOf(records, best) : null;
  const baselineMetric = baseline ? measuredOf(records, baseline) : null;
  const isCurrent = found.kind === "home" ? current === info.tag : found.kind === "legacy" && current === null;
  const reason = endReason(found.paths.dir);
  let state: SessionStateName;
  if (found.kind === "failed") state = "failed";
  else if (found.kind === "archive") state = "archived";
  else if (isCurrent && home && loopLiveness(join(home, "lock")).state !== "stopped") state = "running";
  else if (reason !== null && !reason.startsWith("stopped")) state = "finished";
  else state = "stopped";
  return {
    id: found.id,
    tag: info.tag,
    branch: info.branch,
    state,
    current: isCurrent,
    experiments: Math.max(0, records.length - 1),
    kept: Math.max(0, kept.length - 1),
    metric: info.config.metric,
    direction: info.config.direction,
    baseline: baselineMetric,
    best: bestMetric,
    bestId: best?.id ?? null,
    bestWithinNoise: best && best.id !== 0 ? (within(gainStanding(bestMetric, baselineMetric, info.config.direction, noiseOfRecords(records)?.sd ?? null)) ?? null) : null,
    startedAt: info.startedAt,
    endReason: reason,
    dir: found.paths.dir,
    resumable: found.kind === "home" || found.kind === "legacy",
    finalize: finalizeOf(found.paths, (best ?? baseline)?.commit ?? null),
  };
}

/** Every session of the repo at `root`, oldest first; records that cannot be read are left out. */
export function listSessions(root: string): SessionSummary[] {
  const home = sessionsHome(root);
  const current = home ? currentTag(home) : null;
  const out: SessionSummary[] = [];
  for (const found of findAll(root)) {
    const info = readSessionReadOnly(found.paths);
    if (info?.config) out.push(summarize(found, info, current, home));
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/**
 * The records of session `id` (a tag, or an id `sessions` printed), read-only, or null. Ids are
 * matched against what exists, never joined into a path.
 */
export function findSessionRecords(root: string, id: string): SessionPaths | null {
  return findAll(root).find((f) => f.id === id)?.paths ?? null;
}

/**
 * The session `report`, `show` and `compare` read: `tag` when given (a resumable tag, or an id
 * `sessions` printed for failed and archived records), else the current one. Null when none.
 */
export function locateAnySession(root: string, tag?: string): SessionPaths | null {
  if (tag === undefined) return locateSession(root);
  return locateSession(root, tag) ?? findSessionRecords(root, tag) ?? legacyTagged(root, tag);
}

/** What every command says for a --tag that names no session of the repo. */
export function unknownSessionError(root: string, tag: string): UsageError {
  return new UsageError(`no autoresearch session ${JSON.stringify(tag)} in ${root}`, "`autoresearch sessions` lists the sessions of this repo and their tags.");
}

/** An old-layout session in the checkout, found by the tag its session.json recorded. */
function legacyTagged(root: string, tag: string): SessionPaths | null {
  if (!hasLegacySession(root)) return null;
  const paths = legacyPaths(root);
  return readSessionReadOnly(paths)?.tag === tag ? paths : null;
}
