import cliTruncate from "cli-truncate";
import pc from "picocolors";
import { formatDuration } from "../config/duration.js";
import { publicEvent, type SessionEvent } from "../loop/events.js";
import { cleanField, MISSING } from "../ledger/results-tsv.js";
import { confidence, type Direction, delta, describeConfidence, isBetter } from "../metric/index.js";
import { formatDelta, formatMetric } from "../report/format.js";
import type { ExperimentRecord } from "../types.js";

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

/**
 * After a keep: how many runs it stands on and its confidence (gain / noise floor), flagged when
 * it is within noise; after the baseline, the noise floor its runs measured.
 */
function keepNote(record: ExperimentRecord, noise: number | null, direction: Direction): string {
  const runs = record.runs && record.runs.length > 1 ? `mean of ${record.runs.length} runs` : "";
  if (record.id === 0) return pc.dim(runs ? ` (${runs}${noise !== null ? `, noise floor ${formatMetric(noise)}` : ""})` : "");
  const c = describeConfidence(confidence(record.metric, record.bestBefore, direction, noise));
  const parts = [runs, c ?? ""].filter(Boolean).join(", ");
  if (!parts) return "";
  return c?.includes("within noise") ? pc.yellow(` (${parts})`) : pc.dim(` (${parts})`);
}

const STATUS_STYLE = { keep: pc.green, discard: pc.yellow, crash: pc.red } as const;

/**
 * The human view: a live line while a run or a proposal is in progress (TTY only), one line
 * per decided experiment, and progress reports. Non-TTY output gets the same lines, no live line.
 */
export function terminalReporter(out: NodeJS.WriteStream = process.stdout): (event: SessionEvent) => void {
  const live = Boolean(out.isTTY);
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

  const clearLive = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (live) out.write("\r\x1b[2K");
  };
  const startLive = (render: (elapsedSec: number) => string) => {
    clearLive();
    if (!live) return;
    const started = Date.now();
    // Cut to the terminal's width: a wrapped live line cannot be erased by \r and leaves residue.
    const draw = () => out.write(`\r\x1b[2K${cliTruncate(render((Date.now() - started) / 1000), Math.max(10, (out.columns || 80) - 1))}`);
    draw();
    timer = setInterval(draw, 250);
    timer.unref();
  };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

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

  return (event) => {
    switch (event.type) {
      case "session-start": {
        const { config, platform, branch } = event.session;
        direction = config.direction;
        metricName = config.metric;
        maxIterations = config.maxIterations;
        maxTimeSec = config.maxTimeSec ?? null;
        sessionStarted = Date.now();
        lastDecided = null;
        out.write(
          `${pc.bold(event.resumed ? "Resuming" : "Starting")} ${pc.cyan(branch)} — ${config.metric} (${config.direction}), ${formatDuration(config.budgetSec)} per run, ` +
            `${config.maxIterations ?? "unlimited"} iterations, proposer ${config.proposer}, ${platform.label}\n`,
        );
        break;
      }
      case "proposal-start":
        startLive((t) => `${pc.cyan(frames[Math.floor(t * 8) % frames.length] ?? "")} experiment ${event.iteration}: proposing a change… ${t.toFixed(0)}s`);
        break;
      case "proposal-rejected":
        clearLive();
        out.write(`  ${pc.yellow("rejected")} ${cleanField(event.description)}: ${pc.dim(cleanField(event.reason))}\n`);
        break;
      case "run-start": {
        const width = 20;
        lastMetric = null;
        startLive((t) => {
          const filled = Math.min(width, Math.round((t / event.budgetSec) * width));
          const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
          const seen = lastMetric === null ? "" : ` ${metricName} ${formatMetric(lastMetric)}`;
          const eta = etaText(event.iteration);
          return `${pc.cyan("▶")} ${progressText(event.iteration)} ${cleanField(event.description).slice(0, 50)} ${bar} ${t.toFixed(0)}s/${formatDuration(event.budgetSec)}${seen}${eta}`;
        });
        break;
      }
      case "run-metric":
        lastMetric = event.value;
        break;
      case "experiment": {
        clearLive();
        const now = Date.now();
        if (lastDecided !== null) durations.push((now - lastDecided) / 1000);
        lastDecided = now;
        const r = event.record;
        const status = STATUS_STYLE[r.status](r.status.padEnd(7));
        const reason = r.status === "keep" ? keepNote(r, event.noise ?? null, direction) : pc.dim(` (${cleanField(r.detail ?? r.reason)})`);
        out.write(
          `${String(r.id).padStart(3)} ${status} ${metricName} ${(r.status === "crash" ? MISSING : formatMetric(r.metric)).padStart(10)} ${fmtDelta(r, direction).padEnd(10)} ${r.commit.slice(0, 7)} ${cleanField(r.description)}${reason}\n`,
        );
        break;
      }
      case "progress-report":
        clearLive();
        out.write(`\n${event.markdown}\n`);
        break;
      case "check":
        clearLive();
        out.write(`  ${event.ok ? pc.green("check passed") : pc.red("check failed")} ${cleanField(event.command)}${event.ok ? "" : pc.dim(`: ${cleanField(event.detail)}`)}\n`);
        break;
      case "warning":
        clearLive();
        out.write(`${pc.yellow("!")} ${event.message}\n`);
        break;
      case "stop-requested":
        clearLive();
        out.write(
          event.mode === "graceful"
            ? `\n${pc.yellow("Stopping after the current experiment")} (press Ctrl-C again to abort it now)\n`
            : `\n${pc.red("Aborting the current run")}\n`,
        );
        break;
      case "session-end":
        clearLive();
        out.write(`${pc.bold("Session ended:")} ${event.reason}\n`);
        break;
      default:
        break;
    }
  };
}
