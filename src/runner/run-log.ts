/**
 * The three things every executor does with a run's output, wherever the run happens: the capped
 * log file, the scanner that reads the metric and the summary lines from it, and `[autoresearch]`
 * notes that go to both (so a note explaining a kill is in the log and in the tail lines).
 */
import { RuntimeFailure } from "../errors.js";
import type { RunSpec } from "../types.js";
import { LineSplitter } from "./line-splitter.js";
import { DEFAULT_MAX_LOG_BYTES, LogSink } from "./log-sink.js";
import type { OutputScanner } from "./output-scanner.js";

export interface RunLog {
  sink: LogSink;
  /** Writes `[autoresearch] text` on a line of its own in the log and feeds it to the scanner. */
  note: (text: string) => void;
  /** A splitter for one output stream: each whole line goes to the scanner and to spec.onLine. */
  lines: () => LineSplitter;
}

/** Opens the run's log (a RuntimeFailure naming the path when it cannot be written). */
export function openRunLog(spec: RunSpec, scanner: OutputScanner): RunLog {
  let sink: LogSink;
  try {
    sink = new LogSink(spec.logPath, spec.maxLogBytes ?? DEFAULT_MAX_LOG_BYTES);
  } catch (err) {
    throw new RuntimeFailure(`cannot write the run log ${spec.logPath}: ${(err as Error).message}`);
  }
  return {
    sink,
    note: (text) => {
      sink.write(`\n[autoresearch] ${text}\n`);
      scanner.line(`[autoresearch] ${text}`);
    },
    lines: () =>
      new LineSplitter((line) => {
        scanner.line(line);
        spec.onLine?.(line);
      }),
  };
}
