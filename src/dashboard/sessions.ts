import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { SessionInfo } from "../ledger/ledger.js";
import { locateSession, recordsPaths, type SessionPaths, sessionPaths, sessionsHome, sessionTags } from "../ledger/paths.js";
import { readSessionReadOnly } from "../ledger/read.js";

/**
 * Where the dashboard finds sessions. This is the only place that knows the layout on disk
 * (the records under `<git dir>/autoresearch/<tag>/records`, see ledger/paths.ts),
 * so a move of the records is one change here.
 */
export interface SessionLocation {
  /** Stable id used in URLs: "current" or "archive/<name>". */
  id: string;
  /** The folder holding session.json, experiments.jsonl, events.jsonl, runs/, patches/. */
  dir: string;
  /** Its files, as the ledger names them. */
  paths: SessionPaths;
  /** The session's lock (only the current session can have a live loop). */
  lock: string | null;
  /** Files the session wrote into the repo (results, summary) live here. */
  reportDir: string;
  archived: boolean;
}

export interface SessionListing extends SessionLocation {
  tag: string | null;
  branch: string | null;
  startedAt: string | null;
  metric: string | null;
}

const ARCHIVE = "archive";
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * The current session (the tag `<git dir>/autoresearch/current` names, or an old-layout one still
 * in `.autoresearch/`), then every other session kept under `<git dir>/autoresearch/<tag>/records`.
 */
export function locateSessions(root: string): SessionLocation[] {
  const found: SessionLocation[] = [];
  const current = locateSession(root);
  if (current && (existsSync(current.session) || existsSync(current.experiments))) {
    found.push({ id: "current", dir: current.dir, paths: current, lock: current.lock, reportDir: root, archived: false });
  }
  // An old-layout session's archive (`.autoresearch/archive/<name>/`), read where it is.
  if (current?.legacy) {
    const archive = join(current.dir, ARCHIVE);
    let names: string[] = [];
    try {
      names = readdirSync(archive).filter((n) => SAFE_NAME.test(n) && statSync(join(archive, n)).isDirectory());
    } catch {
      // no archive
    }
    for (const name of names.sort()) {
      const dir = join(archive, name);
      found.push({ id: `${ARCHIVE}/${name}`, dir, paths: recordsPaths(root, dir), lock: null, reportDir: dir, archived: true });
    }
  }
  const home = sessionsHome(root);
  for (const tag of home ? sessionTags(home).sort() : []) {
    const paths = sessionPaths(root, tag, home);
    if (current && paths.dir === current.dir) continue;
    found.push({ id: `${ARCHIVE}/${tag}`, dir: paths.dir, paths, lock: null, reportDir: paths.dir, archived: true });
  }
  return found;
}

/** The session with this id, or null: ids are matched against what exists, never joined into a path. */
export function findSession(root: string, id: string): SessionLocation | null {
  return locateSessions(root).find((s) => s.id === id) ?? null;
}

export function readSessionFile(location: SessionLocation): SessionInfo | null {
  return readSessionReadOnly(location.paths);
}

export function listSessions(root: string): SessionListing[] {
  return locateSessions(root).map((location) => {
    const info = readSessionFile(location);
    return {
      ...location,
      tag: info?.tag ?? null,
      branch: info?.branch ?? null,
      startedAt: info?.startedAt ?? null,
      metric: info?.config?.metric ?? null,
    };
  });
}
