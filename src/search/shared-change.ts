/**
 * A change to the shared data (found by the manifest after a run: without a sandbox a run can
 * write there) ends the session: the baseline and the best were measured on the data as it was,
 * so a result measured after the change could be kept or discarded for the wrong reason.
 */
import { RuntimeFailure } from "../errors.js";
import type { ExperimentRecord } from "../types.js";

/** What changed in the shared data, from an experiment's violation detail, or null. */
export function sharedDataChange(record: Pick<ExperimentRecord, "reason" | "detail">): string | null {
  if (record.reason !== "violation" || !record.detail) return null;
  return /changed shared data: ([^;]+)/.exec(record.detail)?.[1]?.trim() ?? null;
}

export function sharedDataStop(id: number, changed: string): RuntimeFailure {
  return new RuntimeFailure(
    `experiment ${id} changed the shared data (${changed}); the session stopped, since what ran after it would be measured on other data than the baseline and the best`,
    "Restore the data (from a backup, or by running its preparation again), then: autoresearch resume. " +
      "To keep runs from changing it, let them run sandboxed: install bubblewrap on Linux (apt-get install bubblewrap) and keep --sandbox auto.",
  );
}
