import { existsSync, readFileSync, renameSync, truncateSync } from "node:fs";
import { RUN_SIDE_SUFFIXES } from "../file-names.js";
import { join, relative } from "node:path";
import { ensureRealDir } from "../safe-fs.js";
import { RuntimeFailure } from "../errors.js";
import type { ExperimentRecord, Measurement, RejectedProposal, ResultsRow } from "../types.js";
import { appendDurable, removeStaleTemps, writeAtomic } from "./files.js";
import { joinMeasurements } from "./measurements.js";
import type { SessionPaths } from "./paths.js";
import { parseInFlight } from "./read.js";
import { formatRow, resultsHeader } from "./results-tsv.js";
import type { InFlight, SessionInfo, StateFile } from "./session-records.js";

export type { InFlight, SessionInfo, StateFile, WorkerSlot } from "./session-records.js";

/** Reads JSON lines, dropping (and cutting off) a torn last line left by a crash mid-append. */
function readJsonLinesRaw<T>(path: string): { lines: string[]; values: T[] } {
  const lines: string[] = [];
  const values: T[] = [];
  if (!existsSync(path)) return { lines, values };
  const text = readFileSync(path, "utf8");
  let goodBytes = 0;
  const all = text.split("\n");
  for (const [index, line] of all.entries()) {
    if (line.trim() === "") {
      goodBytes += Buffer.byteLength(line) + 1;
      continue;
    }
    try {
      values.push(JSON.parse(line) as T);
      lines.push(line);
      goodBytes += Buffer.byteLength(line) + 1;
    } catch {
      // A crash mid-append can only tear the last line: cut it so the next append starts clean.
      // A bad line with records after it is damage from elsewhere: stop rather than drop them.
      if (all.slice(index + 1).some((later) => later.trim() !== "")) {
        throw new RuntimeFailure(`${path} has an unreadable line followed by more records`, "Repair or remove that line by hand (a backup is wise); nothing was changed.");
      }
      truncateSync(path, Math.min(goodBytes, Buffer.byteLength(text)));
      break;
    }
  }
  return { lines, values };
}

export function readSessionInfo(paths: SessionPaths): SessionInfo | null {
  if (!existsSync(paths.session)) return null;
  return JSON.parse(readFileSync(paths.session, "utf8")) as SessionInfo;
}

/**
 * An append-only JSON-lines file owned by this process. Read from disk once, then kept in
 * memory and extended by our own appends, so the loop never re-reads a growing file (no O(n²)
 * over a long session). The memory copy is the truth while the session runs: `verify` puts the
 * file back when anything else changed it.
 */
class JsonLinesFile<T> {
  private lines: string[] | null = null;
  private values: T[] = [];

  constructor(readonly path: string) {}

  all(): readonly T[] {
    if (this.lines === null) this.load();
    return this.values;
  }

  append(value: T): void {
    if (this.lines === null) this.load();
    else this.verify();
    const line = JSON.stringify(value);
    appendDurable(this.path, `${line}\n`);
    (this.lines as string[]).push(line);
    this.values.push(value);
  }

  /**
   * Rewrites the file from memory when it no longer holds exactly what we wrote. True if it did.
   * Compared by content, never by size and time stamps: an edit in place that keeps both (and
   * sets the mtime back) must not pass. Reading the file once per experiment costs a few ms
   * even for tens of thousands of records.
   */
  verify(): boolean {
    if (this.lines === null) return false;
    const expected = this.text();
    const actual = existsSync(this.path) ? readFileSync(this.path, "utf8") : null;
    if (actual !== expected && !(actual === null && expected === "")) {
      writeAtomic(this.path, expected);
      return true;
    }
    return false;
  }

  private text(): string {
    return (this.lines ?? []).map((l) => `${l}\n`).join("");
  }

  private load(): void {
    const { lines, values } = readJsonLinesRaw<T>(this.path);
    this.lines = lines;
    this.values = values;
  }
}

/**
 * The session's records. experiments.jsonl is the source of truth and is written first (fsync);
 * results.tsv is derived from it, and `reconcile` makes it match again after any crash.
 */
export class Ledger {
  private readonly experimentsFile: JsonLinesFile<ExperimentRecord>;
  private readonly rejectedFile: JsonLinesFile<RejectedProposal>;
  /** `autoresearch confirm`'s runs (written by that command, never while the loop holds the lock). */
  private readonly measurementsFile: JsonLinesFile<Measurement>;
  /** results.tsv rows, one per recorded experiment (built from experimentsFile). */
  private rows: string[] | null = null;
  /** session.json as written or read by this process. */
  private sessionText: string | null = null;
  /** state.json's entries as this process last wrote them. */
  private readonly inFlight = new Map<number, InFlight>();
  /** The diffs this process wrote, to put back when a run deletes them. */
  private readonly patchTexts = new Map<number, string>();
  /** Set once a run deleted the logs folder: logs of runs decided since are replaced by a note when missing. */
  private logsLost = false;
  /** The records' folders were made (or found) by ensureDirs: only then can a run have deleted them. */
  private dirsMade = false;

  constructor(
    readonly paths: SessionPaths,
    readonly resultsPath: string,
    readonly metricName: string,
  ) {
    this.experimentsFile = new JsonLinesFile(paths.experiments);
    this.rejectedFile = new JsonLinesFile(paths.rejected);
    this.measurementsFile = new JsonLinesFile(paths.measurements);
  }

  writeSession(info: SessionInfo): void {
    const text = `${JSON.stringify(info, null, 2)}\n`;
    writeAtomic(this.paths.session, text);
    this.sessionText = text;
  }

  /** Reads session.json and remembers it, so `verifySession` can put it back if a run changes it. */
  loadSession(): SessionInfo | null {
    if (!existsSync(this.paths.session)) return null;
    const text = readFileSync(this.paths.session, "utf8");
    this.sessionText = text;
    return JSON.parse(text) as SessionInfo;
  }

  /**
   * Reads the session's JSON-lines files now. From here on the memory copy is the truth: a run
   * that writes to them (even before anything was recorded) is undone by `restoreTampered`.
   */
  load(): void {
    this.experimentsFile.all();
    this.rejectedFile.all();
    this.measurementsFile.all();
  }

  /**
   * The recorded experiments, oldest first (a copy: callers may keep and extend it), with the
   * runs `autoresearch confirm` made of their code joined (confirmRuns).
   */
  experiments(): ExperimentRecord[] {
    return joinMeasurements(this.experimentsFile.all(), this.measurementsFile.all());
  }

  rejected(): RejectedProposal[] {
    return [...this.rejectedFile.all()];
  }

  recordRejected(entry: RejectedProposal): void {
    this.rejectedFile.append(entry);
  }

  initResults(): void {
    if (!existsSync(this.resultsPath)) writeAtomic(this.resultsPath, resultsHeader(this.metricName));
  }

  /** Appends the decided experiment to experiments.jsonl (durably), then its row to results.tsv. */
  record(experiment: ExperimentRecord): void {
    this.resultRows(); // built from the file as it was, before the append
    this.experimentsFile.append(experiment);
    if (this.logsLost) this.refillFiles([experiment.id]);
    this.rows?.push(formatRow(toResultsRow(experiment)));
    // A projection of the records in the user's checkout: replaced whole, atomically; no fsync
    // (experiments.jsonl, just fsynced, is what resume rebuilds it from).
    writeAtomic(this.resultsPath, this.expectedResults(), { durable: false });
  }

  /**
   * Makes results.tsv hold exactly the header and one row per recorded experiment: appends the
   * rows a crash cut off, and rewrites the file (atomically) when it holds anything else, such as
   * a torn last row. Returns how many rows it had to add or rewrite.
   */
  reconcile(): number {
    const expected = this.expectedResults();
    const actual = existsSync(this.resultsPath) ? readFileSync(this.resultsPath, "utf8") : null;
    if (actual === expected) return 0;
    if (actual !== null && actual.length > 0 && actual.endsWith("\n") && expected.startsWith(actual)) {
      const missing = expected.slice(actual.length);
      appendDurable(this.resultsPath, missing);
      return missing.split("\n").length - 1;
    }
    writeAtomic(this.resultsPath, expected);
    return this.resultRows().length;
  }

  /** The exact text results.tsv must hold: the header and one row per recorded experiment. */
  expectedResults(): string {
    return resultsHeader(this.metricName) + this.resultRows().join("");
  }

  /** Puts results.tsv back if something other than the ledger changed it. Returns true if it did. */
  rewriteResultsIfTampered(): boolean {
    const expected = this.expectedResults();
    const actual = existsSync(this.resultsPath) ? readFileSync(this.resultsPath, "utf8") : null;
    if (actual === expected) return false;
    writeAtomic(this.resultsPath, expected);
    return true;
  }

  /**
   * After a run: every session file the run could have changed is put back from memory. Returns
   * what had been changed (results.tsv, experiments.jsonl, rejected.jsonl, measurements.jsonl, session.json).
   */
  restoreTampered(): string[] {
    const problems: string[] = [];
    const rel = (path: string) => relative(this.paths.dir, path);
    // Without a sandbox a run can delete the records folder itself: it is made again and refilled
    // from what the loop holds in memory (experiments, rejected proposals, session.json); the logs
    // and patches of earlier experiments are gone (the commits keep the changes).
    for (const dir of this.dirsMade ? [this.paths.dir, this.paths.runs, this.paths.patches] : []) {
      if (!existsSync(dir)) problems.push(`deleted ${dir === this.paths.dir ? "the session's records" : `${rel(dir)}/`}`);
    }
    if (problems.length > 0) {
      this.ensureDirs();
      this.logsLost = true;
    }
    problems.push(...this.refillFiles(this.experimentsFile.all().map((e) => e.id)));
    if (this.experimentsFile.verify()) problems.push(`modified ${rel(this.paths.experiments)}`);
    if (this.rejectedFile.verify()) problems.push(`modified ${rel(this.rejectedFile.path)}`);
    if (this.measurementsFile.verify()) problems.push(`modified ${rel(this.measurementsFile.path)}`);
    if (this.sessionText !== null) {
      const actual = existsSync(this.paths.session) ? readFileSync(this.paths.session, "utf8") : null;
      if (actual !== this.sessionText) {
        writeAtomic(this.paths.session, this.sessionText);
        problems.push(`modified ${rel(this.paths.session)}`);
      }
    }
    if (this.rewriteResultsIfTampered()) problems.push(`modified ${relative(this.paths.root, this.resultsPath)}`);
    return problems;
  }

  /** Removes temp files of atomic writes cut short by a kill (results.tsv's sits in the repo). */
  removeStaleTemps(): string[] {
    return [this.resultsPath, this.paths.session, this.paths.state, this.paths.progress, this.paths.experiments, this.paths.rejected, this.paths.measurements].flatMap(removeStaleTemps);
  }

  /** Experiment `id`'s diff, written atomically and never through a link. */
  writePatch(id: number, text: string): void {
    ensureRealDir(this.paths.patches);
    // The diff is also in git (the experiment's commit): no fsync needed.
    writeAtomic(this.paths.patch(id), text, { durable: false });
    this.patchTexts.set(id, text);
  }

  /**
   * The logs of the experiment in flight as `key` (runs/pending-<key>*.log: its run, a run slowed
   * by contention) renamed to the number its decision gave it (runs/<id>*.log).
   */
  numberLogs(key: number, id: number): void {
    // By name (no listing of runs/, which holds every log of the session): the run's log, then the
    // contended runs' logs (.contended1.log, .contended2.log ... as src/search/contention.ts names them).
    const move = (suffix: string): boolean => {
      try {
        renameSync(join(this.paths.runs, `pending-${key}${suffix}`), join(this.paths.runs, `${id}${suffix}`));
        return true;
      } catch {
        return false;
      }
    };
    move(".log");
    for (let attempt = 1; move(`.contended${attempt}.log`); attempt++);
    // What an executor kept beside the log (a SLURM job's batch script) follows it.
    for (const suffix of Object.values(RUN_SIDE_SUFFIXES)) move(suffix);
  }

  /** After a run deleted records: each diff this process wrote is put back, and a run log that is gone is replaced by a note saying so. */
  private refillFiles(ids: readonly number[]): string[] {
    const problems: string[] = [];
    for (const [id, text] of this.patchTexts) {
      if (existsSync(this.paths.patch(id))) continue;
      writeAtomic(this.paths.patch(id), text, { durable: false });
      problems.push(`deleted patches/${id}.patch`);
    }
    if (this.logsLost) {
      for (const id of ids) {
        if (existsSync(this.paths.runLog(id))) continue;
        writeAtomic(this.paths.runLog(id), "(this log was deleted by a run that could write to the session's records; nothing of it survived)\n", { durable: false });
      }
    }
    return problems;
  }

  /** Creates the records folders (a link planted in their place is replaced, never followed). */
  ensureDirs(): void {
    ensureRealDir(this.paths.dir);
    ensureRealDir(this.paths.runs);
    ensureRealDir(this.paths.patches);
    this.dirsMade = true;
  }

  /** The experiments in flight state.json lists (the old one-object format read too). */
  readInFlight(): InFlight[] {
    if (!existsSync(this.paths.state)) return [];
    return parseInFlight(readFileSync(this.paths.state, "utf8"));
  }

  /**
   * Adds or replaces (by id) one experiment in flight, and rewrites state.json atomically.
   * `durable: false` skips the fsyncs: for an entry whose loss in a machine crash costs nothing
   * (the runs die with the machine, and the durable entry written before it, or the record
   * after it, says what to run again). A killed process loses nothing either way.
   */
  writeInFlight(entry: InFlight, options: { durable?: boolean } = {}): void {
    this.inFlight.set(entry.id, entry);
    this.writeState(options.durable);
  }

  /** Several entries at once (a batch of proposals), with one rewrite of state.json. */
  writeInFlightMany(entries: readonly InFlight[], options: { durable?: boolean } = {}): void {
    for (const entry of entries) this.inFlight.set(entry.id, entry);
    if (entries.length > 0) this.writeState(options.durable);
  }

  /** An entry in flight under a new key (`entry.id`), in one write of state.json: a kill leaves it under one key or the other. */
  rekeyInFlight(old: number, entry: InFlight): void {
    this.inFlight.delete(old);
    this.inFlight.set(entry.id, entry);
    this.writeState();
  }

  /** The experiment is recorded (or dropped): it leaves state.json (see writeInFlight for `durable`). */
  removeInFlight(id: number, options: { durable?: boolean } = {}): void {
    if (!this.inFlight.delete(id) && existsSync(this.paths.state)) return;
    this.writeState(options.durable);
  }

  clearInFlight(): void {
    this.inFlight.clear();
    this.writeState();
  }

  /** What this process has in flight now (ordered by id). */
  inFlightNow(): InFlight[] {
    return [...this.inFlight.values()].sort((a, b) => a.id - b.id);
  }

  private writeState(durable = true): void {
    const state: StateFile = { runs: this.inFlightNow() };
    writeAtomic(this.paths.state, `${JSON.stringify(state)}\n`, { durable });
  }

  private resultRows(): string[] {
    this.rows ??= this.experimentsFile.all().map((e) => formatRow(toResultsRow(e)));
    return this.rows;
  }
}

/**
 * How an experiment's decided metric comes from its runs, in a few words: the mean of its runs, or
 * (decided on its parent's scale, src/search/apply-keep-rule.ts) its parent's metric plus the
 * difference its pairs, or its runs at the same load, measured. Empty for one run.
 */
function decidedMetricBasis(e: Pick<ExperimentRecord, "runs" | "parentRuns" | "loadDelta">): string {
  const measured = e.runs?.filter((r) => r.metric !== null).length ?? 0;
  const pairs = e.parentRuns?.length ?? 0;
  if (e.loadDelta !== undefined) return `its parent's plus its load-adjusted difference, ${measured} run${measured === 1 ? "" : "s"}`;
  if (pairs > 0) return `its parent's plus the mean difference of ${pairs} pair${pairs === 1 ? "" : "s"}`;
  return measured > 1 ? `mean of ${measured} runs` : "";
}

/** The results.tsv row: the description carries the outcome, as in the spec's examples. */
export function toResultsRow(e: ExperimentRecord): ResultsRow {
  const outcome = e.id === 0 || !e.detail ? "" : `: ${e.detail}`;
  // Repeats of the same code are runs, not experiments: one row, its metric, and how it was drawn from them.
  const basis = decidedMetricBasis(e);
  const runs = basis ? ` (${basis})` : "";
  return {
    commit: e.commit,
    metric: e.status === "crash" ? null : e.metric,
    memGb: e.status === "crash" ? null : e.memGb,
    status: e.status,
    description: `${e.description}${runs}${outcome}`,
  };
}
