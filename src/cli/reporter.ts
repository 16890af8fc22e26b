import cliTruncate from "cli-truncate";
import { stripVTControlCharacters } from "node:util";
import pc from "picocolors";
import { formatDuration } from "../config/duration.js";
import { cleanField, MISSING } from "../ledger/results-tsv.js";
import { publicEvent, type SessionEvent } from "../ledger/events.js";
import { confidence, type Direction, delta, describeConfidence, describeLoadAdjusted, gainStanding, isBetter, loadAdjustedConfidence, WITHIN_NOISE } from "../metric/index.js";
import { budgetProgress, formatDelta, formatMetric, formatPlace } from "../report/format.js";
import { fitMarkdown, fitWidth } from "../text.js";
import type { ExperimentRecord } from "../types.js";
import { WorkerBoard } from "./worker-board.js";

/** NDJSON: one event per line on stdout, for other programs (`--json`). */
export function jsonReporter(out: NodeJS.WritableStream = process.stdout): (event: SessionEvent) => void {
  return (event) => {
    out.write(`${JSON.stringify({ ...publicEvent(event), at: new Date().toISOString() })}\n`);
  };
}

function fmtDelta(record: ExperimentRecord, direction: Direction): string {
  // A crashed run's number (printed before a violation, an OOM, a timeout) is not a result.
  const d = record.status === "crash" ? null : delta(record.metric, record.bestBefore);
  if (d === null) return "";
  return isBetter(record.metric as number, record.bestBefore as number, direction) ? pc.green(formatDelta(d)) : pc.dim(formatDelta(d));
}

/** What a result line says after its description: in full, and short for a narrow terminal. */
interface ResultTail {
  text: string;
  /** When the full text leaves the description too little room: the flag alone (a keep within noise, never re-measured), else the text itself. */
  short: string;
}

/** A keep that could be luck says so even in the shortest line: the flag is what must not be cut. */
const flagged = (text: string, flag: string): ResultTail => ({ text: pc.yellow(text), short: pc.yellow(` (${flag})`) });
const plainTail = (text: string): ResultTail => ({ text, short: text });

/**
 * After a keep: how many runs it stands on and its confidence (gain / noise floor), flagged when
 * it is within noise; after the baseline, the noise floor its runs measured.
 */
function keepNote(record: ExperimentRecord, noise: number | null, direction: Direction): ResultTail {
  const runs = record.runs && record.runs.length > 1 ? `mean of ${record.runs.length} runs` : "";
  if (record.id === 0) return plainTail(pc.dim(runs ? ` (${runs}${noise !== null ? `, noise floor ${formatMetric(noise)}` : ""})` : ""));
  // Decided against the load its runs read (src/metric/load-tracker.ts): it stands on those runs at
  // its parent's speed, its gain judged in standard errors of its load-adjusted difference (not the noise floor).
  const adjusted = loadAdjustedConfidence(record, direction);
  if (adjusted !== undefined) {
    const text = ` (${record.runs?.length ?? 1} runs${record.parentRuns?.length ? ` and ${record.parentRuns.length} of its parent` : ""}, ${describeLoadAdjusted(adjusted)})`;
    return adjusted !== null && adjusted < WITHIN_NOISE ? flagged(text, "within noise") : plainTail(pc.dim(text));
  }
  // Decided on parent/change pairs: it stands on them, not on the noise of single runs.
  const pairs = record.parentRuns?.length ?? 0;
  // (Its metric is its parent's plus the pairs' mean difference, not the mean of its runs: results.tsv says so.)
  if (pairs > 0) return plainTail(pc.dim(` (confirmed on ${pairs} pair${pairs > 1 ? "s" : ""})`));
  // With no noise floor a keep is one run never repeated: said, as a keep within noise is.
  const c = noise === null ? gainStanding(record.metric, record.bestBefore, direction, null)?.text : describeConfidence(confidence(record.metric, record.bestBefore, direction, noise));
  const parts = [runs, c ?? ""].filter(Boolean).join(", ");
  if (!parts) return plainTail("");
  if (c?.includes("within noise")) return flagged(` (${parts})`, "within noise");
  if (c?.includes("never re-measured")) return flagged(` (${parts})`, "never re-measured");
  return plainTail(pc.dim(` (${parts})`));
}

const STATUS_STYLE = { keep: pc.green, discard: pc.yellow, crash: pc.red } as const;

/**
 * A result line: `head` (number, status, metric, delta, commit), the description, then `tail`
 * (why it was kept or not). In a terminal of `width` columns it fits on one line: the
 * description is shortened first (it is in `show N` whole), then the tail gives way to its short
 * form (a keep's "within noise" flag is not cut off: the description gives way to it), then the
 * line is cut; `width` null (a log, a pipe) keeps it whole.
 */
export function resultLine(head: string, description: string, tail: ResultTail, width: number | null): string {
  const whole = `${head}${description}${tail.text}`;
  if (width === null || visibleLength(whole) <= width) return whole;
  // Room for a readable description (a dozen characters) with the tail whole: shorten it there.
  for (const end of [tail.text, tail.short]) {
    const room = width - visibleLength(head) - visibleLength(end);
    if (room >= 12) return `${head}${cliTruncate(description, room)}${end}`;
  }
  // The flag before the description's readability: what is left of it (it is in `show N` whole).
  const room = width - visibleLength(head) - visibleLength(tail.short);
  if (tail.short !== tail.text && room >= 2) return `${head}${cliTruncate(description, room)}${tail.short}`;
  return cliTruncate(`${head}${cliTruncate(description, 12)}${tail.short}`, width);
}

function visibleLength(text: string): number {
  return stripVTControlCharacters(text).length;
}

/**
 * The human view: a live line while a run or a proposal is in progress (TTY only), one line
 * per decided experiment, and progress reports. Non-TTY output gets the same lines, no live line.
 * With several workers the live line becomes a board (one line per worker and one for the
 * proposal pipeline, redrawn in place) and every line names its worker (`[w1]`).
 */
export function terminalReporter(out: NodeJS.WriteStream = process.stdout): ((event: SessionEvent) => void) & { clear(): void } {
  const live = Boolean(out.isTTY);
  const board = new WorkerBoard();
  /** Lines of the board on the screen now (the cursor is at the end of the last one). */
  let boardDrawn = 0;
  let timer: NodeJS.Timeout | null = null;
  let direction: Direction = "min";
  let metricName = "metric";
  let lastMetric: number | null = null;
  // For `k/N` and the ETA: the session's limits and how long experiments take here.
  let maxIterations: number | null = null;
  let maxTimeSec: number | null = null;
  let sessionStarted = Date.now();
  let lastDecided: number | null = null;
  const durations: number[] = [];
  /** The highest experiment started (several workers: the board's progress and ETA). */
  let latestIteration: number | null = null;

  const width = () => Math.max(10, (out.columns || 80) - 1);
  /** A line cut to the terminal's width (a wrapped line makes a mess of the view); a log gets it whole. */
  const fit = (text: string) => (live ? cliTruncate(text, width()) : text);
  /** A paragraph broken to the terminal's width (continuation lines after `indent`); a log gets it whole. */
  const wrap = (text: string, indent = "") => (live ? fitWidth(text, width(), indent) : text);
  /** Erasing the board: back to its first line, then clear to the end of the screen. */
  const eraseBoard = () => {
    const text = boardDrawn > 1 ? `\r\x1b[${boardDrawn - 1}A\x1b[J` : "\r\x1b[2K";
    boardDrawn = 0;
    return text;
  };
  const clearLive = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (live) out.write(boardDrawn > 0 ? eraseBoard() : "\r\x1b[2K");
  };
  // One write per frame (erase and draw together), each line cut to the width so none wraps.
  const drawBoard = () => {
    const progress = latestIteration === null ? "" : pc.dim(` · experiment ${progressText(latestIteration)}${etaText(latestIteration)}`);
    const lines = board.lines(Date.now(), metricName, progress).map((line) => cliTruncate(line, width()));
    out.write(`${boardDrawn > 0 ? eraseBoard() : "\r\x1b[2K"}${lines.join("\n")}`);
    boardDrawn = lines.length;
  };
  /** Redraws the board while something on it moves; leaves it drawn (idle lines and all) otherwise. */
  const showBoard = () => {
    if (!live) return;
    drawBoard();
    if (board.active && !timer) {
      timer = setInterval(drawBoard, 250);
      timer.unref();
    } else if (!board.active && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
  /** A permanent line: above the board when there is one. */
  const print = (text: string) => {
    clearLive();
    out.write(text);
    if (board.multi) showBoard();
  };
  /** `[w1] ` before a line about worker 1, in sessions with several workers. */
  const tag = (worker: number | undefined) => (board.multi && worker !== undefined ? `${pc.cyan(`[w${worker}]`)} ` : "");
  const startLive = (render: (elapsedSec: number) => string) => {
    clearLive();
    if (!live) return;
    const started = Date.now();
    // Cut to the terminal's width: a wrapped live line cannot be erased by \r and leaves residue.
    const draw = () => out.write(`\r\x1b[2K${cliTruncate(render((Date.now() - started) / 1000), width())}`);
    draw();
    timer = setInterval(draw, 250);
    timer.unref();
  };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  // One worker: the live line is the experiment that runs next. A proposal made ahead (while a run
  // is live, or one made before it waits to run) does not take it over; it is shown once nothing
  // else is going on (after a decision, when no proposal is ready to run).
  let runLive = false;
  let readyToRun = 0;
  const proposing = new Map<number, number>();
  /** Experiments whose first run started (their confirmation and parent runs start again under the same number). */
  const runStarted = new Set<number>();
  const showProposing = () => {
    const [iteration, since] = [...proposing.entries()][0] ?? [];
    if (iteration === undefined || since === undefined || runLive || readyToRun > 0) return;
    startLive(() => `${pc.cyan(frames[Math.floor(((Date.now() - since) / 1000) * 8) % frames.length] ?? "")} experiment ${iteration}: proposing a change… ${((Date.now() - since) / 1000).toFixed(0)}s`);
  };

  /** Whether a multi-worker log said yet what a start's number is. */
  let startsExplained = false;
  /** `k/N` when the session has an iteration limit, else `k`. */
  const progressText = (iteration: number) => (maxIterations !== null ? `${iteration}/${maxIterations}` : String(iteration));
  /** Time left until the first limit is reached, from the mean experiment time so far. */
  const etaText = (iteration: number): string => {
    const left: number[] = [];
    if (maxIterations !== null && durations.length > 0) {
      const mean = durations.reduce((a, b) => a + b, 0) / durations.length;
      left.push(Math.max(0, maxIterations - iteration + 1) * mean);
    }
    if (maxTimeSec !== null) left.push(Math.max(0, maxTimeSec - (Date.now() - sessionStarted) / 1000));
    return left.length === 0 ? "" : ` · ETA ${formatDuration(Math.max(1, Math.round(Math.min(...left))))}`;
  };

  const sink = (event: SessionEvent) => {
    const wasMulti = board.multi;
    board.apply(event, Date.now());
    // A session that turns out to have several workers ("auto"): the single live line gives way to the board.
    if (board.multi && !wasMulti) clearLive();
    switch (event.type) {
      case "session-start": {
        const { config, platform, branch } = event.session;
        direction = config.direction;
        metricName = config.metric;
        maxIterations = config.maxIterations;
        maxTimeSec = config.maxTimeSec ?? null;
        sessionStarted = Date.now();
        lastDecided = null;
        latestIteration = null;
        const workers = board.multi ? `, ${board.workers} workers` : "";
        // --max-time counts from this start (run or resume): said here, as the limit in force now.
        const iterations = `${config.maxIterations === null ? "unlimited iterations" : `${config.maxIterations} iteration${config.maxIterations === 1 ? "" : "s"}`}${config.maxTimeSec !== undefined ? ` or ${formatDuration(config.maxTimeSec)} from now` : ""}`;
        out.write(
          `${wrap(
            `${pc.bold(event.resumed ? "Resuming" : "Starting")} ${pc.cyan(branch)} — ${config.metric} (${config.direction}), ${formatDuration(config.budgetSec)} per run, ` +
              `${iterations}, proposer ${config.proposer}${workers}, ${platform.label}${platform.host ? ` on ${platform.host}` : ""}`,
            "  ",
          )}\n`,
        );
        break;
      }
      case "pipeline":
        if (board.multi) showBoard();
        break;
      case "proposal-start":
        if (board.multi) showBoard();
        else {
          if (!proposing.has(event.iteration)) proposing.set(event.iteration, Date.now());
          showProposing();
        }
        break;
      case "proposal":
        // Made: it waits to run (a refused one is taken back below).
        proposing.delete(event.iteration);
        readyToRun++;
        break;
      case "proposal-rejected":
        readyToRun = Math.max(0, readyToRun - 1);
        // Not an experiment (it takes no number): one quiet line, never one that reads like a row.
        print(`${fit(pc.dim(`  · not run: ${cleanField(event.description)} (${cleanField(event.reason)})`))}\n`);
        break;
      case "run-start": {
        latestIteration = Math.max(latestIteration ?? 0, event.iteration);
        if (board.multi) {
          // A log (no TTY) gets a line per start; a terminal sees it on the board.
          if (live) showBoard();
          else {
            const where = formatPlace(event.host, event.device);
            // "start k": the order it started in; it is numbered when decided, in the order runs end (said once).
            if (!startsExplained) out.write(pc.dim("  (each run below shows the order it started in; experiments are numbered when decided, in the order they end)\n"));
            startsExplained = true;
            out.write(`${tag(event.worker ?? 0)}${pc.cyan("▶")} start ${progressText(event.iteration)} ${cleanField(event.description).slice(0, 80)}${where ? pc.dim(` (device ${cleanField(where)})`) : ""}\n`);
          }
          break;
        }
        const width = 20;
        lastMetric = null;
        runLive = true;
        if (!runStarted.has(event.iteration)) {
          runStarted.add(event.iteration);
          readyToRun = Math.max(0, readyToRun - 1);
        }
        startLive((t) => {
          const seen = lastMetric === null ? "" : ` ${metricName} ${formatMetric(lastMetric)}`;
          const eta = etaText(event.iteration);
          return `${pc.cyan("▶")} ${progressText(event.iteration)} ${cleanField(event.description).slice(0, 50)} ${budgetProgress(t, event.budgetSec, width, formatDuration)}${seen}${eta}`;
        });
        break;
      }
      case "run-pending":
        latestIteration = Math.max(latestIteration ?? 0, event.iteration);
        if (live) showBoard();
        else out.write(`${tag(event.worker ?? 0)}  ${progressText(event.iteration)} pending in queue (job ${cleanField(event.job)})\n`);
        break;
      case "run-metric":
        lastMetric = event.value;
        break;
      case "experiment": {
        const now = Date.now();
        if (lastDecided !== null) durations.push((now - lastDecided) / 1000);
        lastDecided = now;
        const r = event.record;
        const status = STATUS_STYLE[r.status](r.status.padEnd(7));
        const reason = r.status === "keep" ? keepNote(r, event.noise ?? null, direction) : plainTail(pc.dim(` (${cleanField(r.detail ?? r.reason)})`));
        const rerun = r.rebaseOf !== undefined ? pc.dim(` (re-run of #${r.rebaseOf})`) : "";
        const head = `${tag(r.worker)}${String(r.id).padStart(3)} ${status} ${metricName} ${(r.status === "crash" ? MISSING : formatMetric(r.metric)).padStart(10)} ${fmtDelta(r, direction).padEnd(10)} ${r.commit.slice(0, 7)} `;
        // A flag's short form stands alone; a plain tail keeps all it says.
        const tail = { text: `${rerun}${reason.text}`, short: reason.short === reason.text ? `${rerun}${reason.text}` : reason.short };
        print(`${resultLine(head, cleanField(r.description), tail, live ? width() : null)}\n`);
        runLive = false;
        if (!board.multi) showProposing();
        break;
      }
      case "progress-report":
        print(`\n${live ? fitMarkdown(event.markdown, width()) : event.markdown}\n`);
        break;
      case "check":
        print(`${tag(event.worker)}  ${event.ok ? pc.green("check passed") : pc.red("check failed")} ${cleanField(event.command)}${event.ok ? "" : pc.dim(`: ${cleanField(event.detail)}`)}\n`);
        break;
      case "warning":
        print(`${wrap(`${pc.yellow("!")} ${event.message}`, "  ")}\n`);
        break;
      case "stop-requested":
        print(
          event.mode === "graceful"
            ? `\n${pc.yellow(board.multi ? "Stopping after the experiments in flight" : "Stopping after the current experiment")} (press Ctrl-C again to abort ${board.multi ? "them" : "it"} now)\n`
            : `\n${pc.red(board.multi ? "Aborting every run in flight" : "Aborting the current run")}\n`,
        );
        break;
      case "session-end":
        clearLive();
        out.write(`${wrap(`${pc.bold("Session ended:")} ${event.reason}`, "  ")}\n`);
        break;
      default:
        break;
    }
  };
  // Called when the session stops with an error: the live line goes, so the error starts on a line of its own.
  return Object.assign(sink, { clear: clearLive });
}
