import { existsSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import type { ExperimentRecord, PlatformInfo, Proposal, RejectedProposal, ResearchConfig, ResultsRow } from "../types.js";
import { appendDurable, writeAtomic } from "./files.js";
import type { SessionPaths } from "./paths.js";
import { formatRow, parseResults, resultsHeader } from "./results-tsv.js";

/** session.json: what was confirmed at setup and never changes during the session. */
export interface SessionInfo {
  version: 1;
  tag: string;
  branch: string;
  baseBranch: string | null;
  baseCommit: string;
  startedAt: string;
  config: ResearchConfig;
  platform: PlatformInfo;
  /** sha256 of every guarded file (read-only scripts, dependency files) at setup; null = absent. */
  guardedHashes: Record<string, string | null>;
}

/** state.json: the experiment in flight, so a killed orchestrator can pick it up again. */
export interface InFlight {
  id: number;
  phase: "proposed" | "committed" | "running";
  parent: string;
  commit?: string;
  proposal: Proposal;
  startedAt: string;
}

/** Reads JSON lines, dropping a torn last line left by a crash mid-append. */
export function readJsonLines<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  const out: T[] = [];
  const lines = text.split("\n");
  let goodBytes = 0;
  for (const line of lines) {
    if (line.trim() === "") {
      goodBytes += line.length + 1;
      continue;
    }
    try {
      out.push(JSON.parse(line) as T);
      goodBytes += Buffer.byteLength(line) + 1;
    } catch {
      // Only the last line can be torn; cut it so the next append starts on a clean line.
      truncateSync(path, Math.min(goodBytes, Buffer.byteLength(text)));
      break;
    }
  }
  return out;
}

export function readSessionInfo(paths: SessionPaths): SessionInfo | null {
  if (!existsSync(paths.session)) return null;
  return JSON.parse(readFileSync(paths.session, "utf8")) as SessionInfo;
}

export function readExperiments(paths: SessionPaths): ExperimentRecord[] {
  return readJsonLines<ExperimentRecord>(paths.experiments);
}

/**
 * The session's records. experiments.jsonl is the source of truth and is written first;
 * results.tsv is derived from it row by row, and `reconcile` re-appends any row a crash cut off.
 */
export class Ledger {
  constructor(
    readonly paths: SessionPaths,
    readonly resultsPath: string,
    readonly metricName: string,
  ) {}

  writeSession(info: SessionInfo): void {
    writeAtomic(this.paths.session, `${JSON.stringify(info, null, 2)}\n`);
  }

  experiments(): ExperimentRecord[] {
    return readExperiments(this.paths);
  }

  rejected(): RejectedProposal[] {
    return readJsonLines<RejectedProposal>(`${this.paths.dir}/rejected.jsonl`);
  }

  recordRejected(entry: RejectedProposal): void {
    appendDurable(`${this.paths.dir}/rejected.jsonl`, `${JSON.stringify(entry)}\n`);
  }

  initResults(): void {
    if (!existsSync(this.resultsPath)) writeFileSync(this.resultsPath, resultsHeader(this.metricName));
  }

  record(experiment: ExperimentRecord): void {
    appendDurable(this.paths.experiments, `${JSON.stringify(experiment)}\n`);
    this.reconcile();
  }

  /** Makes results.tsv hold exactly one row per recorded experiment. Returns rows appended. */
  reconcile(): number {
    const experiments = this.experiments();
    this.initResults();
    const rows = parseResults(readFileSync(this.resultsPath, "utf8")).rows.length;
    const missing = experiments.slice(rows);
    if (missing.length > 0) {
      appendDurable(this.resultsPath, missing.map((e) => formatRow(toResultsRow(e))).join(""));
    }
    return missing.length;
  }

  /** The exact text results.tsv must hold: the header and one row per recorded experiment. */
  expectedResults(): string {
    return resultsHeader(this.metricName) + this.experiments().map((e) => formatRow(toResultsRow(e))).join("");
  }

  /** Puts results.tsv back if something other than the ledger changed it. Returns true if it did. */
  rewriteResultsIfTampered(): boolean {
    const expected = this.expectedResults();
    const actual = existsSync(this.resultsPath) ? readFileSync(this.resultsPath, "utf8") : null;
    if (actual === expected) return false;
    writeAtomic(this.resultsPath, expected);
    return true;
  }

  readInFlight(): InFlight | null {
    if (!existsSync(this.paths.state)) return null;
    try {
      return JSON.parse(readFileSync(this.paths.state, "utf8")) as InFlight;
    } catch {
      return null;
    }
  }

  writeInFlight(state: InFlight): void {
    writeAtomic(this.paths.state, `${JSON.stringify(state)}\n`);
  }

  clearInFlight(): void {
    writeAtomic(this.paths.state, "null\n");
  }
}

/** The results.tsv row: the description carries the outcome, as in the spec's examples. */
export function toResultsRow(e: ExperimentRecord): ResultsRow {
  const outcome = e.id === 0 || !e.detail ? "" : `: ${e.detail}`;
  return {
    commit: e.commit,
    metric: e.status === "crash" ? null : e.metric,
    memGb: e.status === "crash" ? null : e.memGb,
    status: e.status,
    description: `${e.description}${outcome}`,
  };
}
