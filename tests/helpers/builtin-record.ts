import type { ExperimentRecord } from "../../src/types.js";

/** What sets one builtin experiment apart from another in the proposer's tests; the rest is fixed. */
export type BuiltinRecordFields = Pick<ExperimentRecord, "id" | "commit" | "parent" | "description" | "category" | "status" | "reason" | "metric"> & Partial<ExperimentRecord>;

/**
 * An experiment record as the loop writes it for the builtin proposer, for tests that build a
 * history by hand: a one-second run on 2024-01-01, nothing measured beside the metric.
 */
export function builtinRecord(fields: BuiltinRecordFields): ExperimentRecord {
  return {
    trainHash: `h${fields.id}`,
    lines: 10,
    memGb: null,
    params: null,
    bestBefore: null,
    startedAt: "2024-01-01T00:00:00Z",
    finishedAt: "2024-01-01T00:00:01Z",
    durationSec: 1,
    proposer: "builtin",
    ...fields,
  };
}
