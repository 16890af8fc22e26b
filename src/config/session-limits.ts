/**
 * A session that has done all its limits allow (its --max-iterations run, its --max-cost spent,
 * its --stop-when met) stops at once when resumed: what it ran into, and the `resume` that gives it
 * more. `resume` refuses such a session with this as its fix; the summary's "continue" advice
 * offers the same command. --max-time is not here: it counts from each invocation's start.
 */
import { parseStopCondition, stopConditionMet } from "../metric/stop-condition.js";
import type { ResearchConfig } from "./options.js";

export interface SpentLimit {
  /** What was reached, e.g. "it ran 10 experiment(s) and its max iterations is 10". */
  reached: string;
  /** The command that gives it more, e.g. "autoresearch resume --max-iterations 20". */
  resume: string;
}

/** What a session's proposals cost so far: its experiments' and its refused proposals' (--max-cost counts both). */
export function proposalSpend(entries: readonly { costUsd?: number | null }[]): number {
  return entries.reduce((sum, e) => sum + (e.costUsd ?? 0), 0);
}

export interface SessionProgress {
  /** Experiments that count towards --max-iterations. */
  done: number;
  /** What its proposals cost so far (refused ones included), in USD. */
  cost: number;
  /** The best's measured metric, null before the baseline. */
  best: number | null;
}

/**
 * The first limit the session has reached, or null. `tag`: the session's tag when it was named
 * (`resume --tag X`): the fix must resume that session, not the repository's current one.
 */
export function spentLimit(config: Pick<ResearchConfig, "maxIterations" | "maxCostUsd" | "stopWhen" | "metric" | "direction">, progress: SessionProgress, tag?: string): SpentLimit | null {
  const resume = (flag: string) => `autoresearch resume${tag ? ` --tag ${tag}` : ""} ${flag}`;
  if (config.maxIterations !== null && progress.done >= config.maxIterations) {
    return { reached: `it ran ${progress.done} experiment(s) and its max iterations is ${config.maxIterations}`, resume: resume(`--max-iterations ${progress.done + 10}`) };
  }
  if (config.maxCostUsd !== undefined && progress.cost >= config.maxCostUsd) {
    return { reached: `it spent $${progress.cost.toFixed(2)} of its $${config.maxCostUsd} (max cost)`, resume: resume(`--max-cost ${Math.ceil(progress.cost + config.maxCostUsd)}`) };
  }
  const condition = config.stopWhen === undefined ? null : parseStopCondition(config.stopWhen);
  if (condition && progress.best !== null && stopConditionMet(condition, progress.best)) {
    // A target the best has not reached yet: 1% further in the direction the session optimises.
    const step = Math.abs(progress.best) * 0.01 || 0.01;
    const next = Number((config.direction === "min" ? progress.best - step : progress.best + step).toPrecision(4));
    const op = config.direction === "min" ? "<=" : ">=";
    return { reached: `its best ${config.metric} ${progress.best} meets its stop condition (${config.stopWhen})`, resume: resume(`--stop-when "${config.metric} ${op} ${next}"`) };
  }
  return null;
}
