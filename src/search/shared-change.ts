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

/**
 * The session's stop. `sandboxed`: the runs were confined (bubblewrap, sandbox-exec, every worker
 * on this machine), so no run can have written the data: a --check command (never confined), the
 * user or another process did, and a sandbox is no remedy for that.
 */
export function sharedDataStop(id: number, changed: string, sandboxed = false): RuntimeFailure {
  return new RuntimeFailure(
    `shared data changed during experiment ${id} (${changed}); the session stopped, since what ran after it would be measured on other data than the baseline and the best`,
    "Restore the data (from a backup, or by running its preparation again), then: autoresearch resume. " +
      (sandboxed
        ? "The runs are sandboxed and cannot write it: a --check command (checks are not confined), you, or another process on this machine changed it; make the check leave the data alone."
        : "To keep runs from changing it, let them run sandboxed: install bubblewrap on Linux (apt-get install bubblewrap) and keep --sandbox auto."),
  );
}
