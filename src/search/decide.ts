import { isBetter } from "../metric/index.js";
import type { Direction, RunResult, Status } from "../types.js";

export interface Decision {
  status: Status;
  /** improved | simpler | regression | no-change | interrupted | violation | timeout | oom | exit-code | no-metric | nan, or an executor's failure reason (host-unreachable, node-fail, preempted ...) */
  reason: string;
  detail: string;
}

export interface DecideInput {
  run: RunResult;
  direction: Direction;
  bestMetric: number;
  lines: number;
  bestLines: number;
  /** Tampering found after the run: the metric is not trusted. */
  violations?: string[];
  /** The user aborted the run (second Ctrl-C): it was killed, whatever it printed. */
  interrupted?: boolean;
}

function lastMeaningfulLine(run: RunResult): string {
  const line = [...run.tailLines].reverse().find((l) => l.trim() !== "") ?? "";
  return line.length > 120 ? `${line.slice(0, 117)}...` : line.trim();
}

/** Crash reasons first, then the comparison with the best (spec 2.4 + the simplicity principle). */
export function decide(input: DecideInput): Decision {
  const { run } = input;
  if (input.interrupted) {
    const also = input.violations && input.violations.length > 0 ? `; violation: ${input.violations.join("; ")}` : "";
    return { status: "crash", reason: "interrupted", detail: `interrupted: the run was stopped by the user after ${run.durationSec.toFixed(0)}s${also}` };
  }
  if (input.violations && input.violations.length > 0) {
    return { status: "crash", reason: "violation", detail: `violation: ${input.violations.join("; ")}` };
  }
  if (run.failure) return { status: "crash", reason: run.failure.reason, detail: run.failure.detail };
  if (run.timedOut) return { status: "crash", reason: "timeout", detail: `timeout after ${run.durationSec.toFixed(0)}s` };
  // OOM is a cause of failure, not a failure by itself: a script that caught an OOM, recovered
  // (smaller batch, CPU fallback) and printed its metric with exit code 0 is measured as usual.
  const failed = run.exitCode !== 0 || run.metric === null;
  if (run.oom && failed) return { status: "crash", reason: "oom", detail: `OOM: ${lastMeaningfulLine(run) || "out of memory"}` };
  if (run.exitCode !== 0) {
    const how = run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`;
    const last = lastMeaningfulLine(run);
    return { status: "crash", reason: "exit-code", detail: last ? `${how}: ${last}` : how };
  }
  if (run.metric === null) return { status: "crash", reason: "no-metric", detail: "no metric line in the output" };
  if (!Number.isFinite(run.metric)) return { status: "crash", reason: "nan", detail: `metric is ${run.metric} (not a finite number)` };

  if (isBetter(run.metric, input.bestMetric, input.direction)) return { status: "keep", reason: "improved", detail: "improved" };
  if (run.metric === input.bestMetric) {
    if (input.lines < input.bestLines) {
      return { status: "keep", reason: "simpler", detail: `same metric with ${input.bestLines - input.lines} fewer lines` };
    }
    return { status: "discard", reason: "no-change", detail: "no change" };
  }
  return { status: "discard", reason: "regression", detail: "regression" };
}
