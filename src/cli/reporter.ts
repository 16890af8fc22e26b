import pc from "picocolors";
import { formatDuration } from "../config/duration.js";
import type { SessionEvent } from "../loop/events.js";
import { cleanField, MISSING } from "../ledger/results-tsv.js";
import { type Direction, delta, isBetter } from "../metric/index.js";
import { formatDelta, formatMetric } from "../report/format.js";
import type { ExperimentRecord } from "../types.js";

/** NDJSON: one event per line on stdout, for other programs (`--json`). */
export function jsonReporter(out: NodeJS.WritableStream = process.stdout): (event: SessionEvent) => void {
  return (event) => {
    out.write(`${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`);
  };
}

function fmtDelta(record: ExperimentRecord, direction: Direction): string {
  // A crashed run's number (printed before a violation, an OOM, a timeout) is not a result.
  const d = record.status === "crash" ? null : delta(record.metric, record.bestBefore);
  if (d === null) return "";
  return isBetter(record.metric as number, record.bestBefore as number, direction) ? pc.green(formatDelta(d)) : pc.dim(formatDelta(d));
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

  const clearLive = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (live) out.write("\r\x1b[2K");
  };
  const startLive = (render: (elapsedSec: number) => string) => {
    clearLive();
    if (!live) return;
    const started = Date.now();
    const draw = () => out.write(`\r\x1b[2K${render((Date.now() - started) / 1000)}`);
    draw();
    timer = setInterval(draw, 250);
    timer.unref();
  };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

  return (event) => {
    switch (event.type) {
      case "session-start": {
        const { config, platform, branch } = event.session;
        direction = config.direction;
        metricName = config.metric;
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
          return `${pc.cyan("▶")} ${event.iteration} ${cleanField(event.description).slice(0, 50)} ${bar} ${t.toFixed(0)}s/${formatDuration(event.budgetSec)}${seen}`;
        });
        break;
      }
      case "run-metric":
        lastMetric = event.value;
        break;
      case "experiment": {
        clearLive();
        const r = event.record;
        const status = STATUS_STYLE[r.status](r.status.padEnd(7));
        const reason = r.status === "keep" ? "" : pc.dim(` (${cleanField(r.detail ?? r.reason)})`);
        out.write(
          `${String(r.id).padStart(3)} ${status} ${metricName} ${(r.status === "crash" ? MISSING : formatMetric(r.metric)).padStart(10)} ${fmtDelta(r, direction).padEnd(10)} ${r.commit.slice(0, 7)} ${cleanField(r.description)}${reason}\n`,
        );
        break;
      }
      case "progress-report":
        clearLive();
        out.write(`\n${event.markdown}\n`);
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
