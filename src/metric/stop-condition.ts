/**
 * `--stop-when "val_bpb <= 0.97"`: parsed once, where the config is resolved, into a value the
 * loop checks between experiments. The one place the condition's syntax is written.
 */

export type StopOperator = "<=" | ">=" | "<" | ">";

export interface StopCondition {
  metric: string;
  op: StopOperator;
  value: number;
}

/** `<metric> <op> <number>`; also the config file's JSON Schema pattern. */
export const STOP_CONDITION = /^\s*([A-Za-z_][\w.\-/]*)\s*(<=|>=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$/;

/** The condition, or null when the text is not `<metric> <op> <number>`. */
export function parseStopCondition(text: string): StopCondition | null {
  const match = STOP_CONDITION.exec(text);
  if (!match) return null;
  const value = Number(match[3]);
  if (!Number.isFinite(value)) return null;
  return { metric: match[1] as string, op: match[2] as StopOperator, value };
}

/** Whether a best metric value meets the condition. */
export function stopConditionMet(condition: StopCondition, best: number): boolean {
  switch (condition.op) {
    case "<=":
      return best <= condition.value;
    case ">=":
      return best >= condition.value;
    case "<":
      return best < condition.value;
    case ">":
      return best > condition.value;
  }
}
