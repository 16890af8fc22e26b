/**
 * Reads the run's output line by line as it streams: the last metric, memory and parameter
 * lines, any out-of-memory message, and the last lines for the crash report. Working on the
 * stream (not the capped log file) means a flood cannot hide the final metric line.
 */
import type { MetricSpec } from "../types.js";
import { isOomLine, matchMemGb, matchMetric, matchParams, matchSteps, matchTrainingSec, metricRegExp } from "./metrics.js";

export interface ScanResult {
  metric: number | null;
  memGb: number | null;
  params: number | null;
  /** Optimizer steps and seconds of training the script reported in its summary, when printed. */
  steps?: number;
  trainingSec?: number;
  oom: boolean;
  tailLines: string[];
}

export const DEFAULT_TAIL_LINES = 50;
const MAX_TAIL_LINE_CHARS = 2000;

export class OutputScanner {
  private readonly re: RegExp;
  /** Cheap pre-filter for the default pattern: the metric name must occur in the line. */
  private readonly needle: string | null;
  private metric: number | null = null;
  private memGb: number | null = null;
  private params: number | null = null;
  private steps: number | null = null;
  private trainingSec: number | null = null;
  private oom = false;
  private readonly tail: string[] = [];

  constructor(
    spec: MetricSpec,
    private readonly tailSize = DEFAULT_TAIL_LINES,
  ) {
    this.re = metricRegExp(spec);
    this.needle = spec.pattern ? null : spec.name;
  }

  line(line: string): void {
    if (this.needle === null || line.includes(this.needle)) {
      // A malformed last metric line leaves no metric (fail closed), not the previous value.
      const v = matchMetric(line, this.re);
      if (v !== undefined) this.metric = v;
    }
    const mem = matchMemGb(line);
    if (mem !== null) this.memGb = mem;
    const params = matchParams(line);
    if (params !== null) this.params = params;
    const steps = matchSteps(line);
    if (steps !== null) this.steps = steps;
    const trainingSec = matchTrainingSec(line);
    if (trainingSec !== null) this.trainingSec = trainingSec;
    if (!this.oom && isOomLine(line)) this.oom = true;
    this.tail.push(line.length > MAX_TAIL_LINE_CHARS ? `${line.slice(0, MAX_TAIL_LINE_CHARS)}…` : line);
    if (this.tail.length > this.tailSize) this.tail.shift();
  }

  result(): ScanResult {
    return {
      metric: this.metric,
      memGb: this.memGb,
      params: this.params,
      ...(this.steps !== null && { steps: this.steps }),
      ...(this.trainingSec !== null && { trainingSec: this.trainingSec }),
      oom: this.oom,
      tailLines: [...this.tail],
    };
  }
}
