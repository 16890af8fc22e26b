import { redactConfig } from "../config/redact.js";
import type { SessionInfo } from "./ledger.js";
import type { ExperimentRecord, Proposal } from "../types.js";

/**
 * Everything the loop does is announced as one of these events. The terminal reporter,
 * `--json` NDJSON output and progress files all read this one stream.
 */
export type SessionEvent =
  | { type: "session-start"; session: SessionInfo; resumed: boolean }
  | { type: "proposal-start"; iteration: number }
  | { type: "proposal"; iteration: number; proposal: Proposal }
  /** The proposal pipeline: proposals being made, ready and waiting for a worker, runs in flight (sessions with workers). */
  | { type: "pipeline"; proposing: number; ready: number; running: number; workers: number }
  | { type: "proposal-rejected"; iteration: number; description: string; reason: string }
  /** `worker`, `device`, `host`: where it runs (absent in a one-worker session's older event files). */
  | { type: "run-start"; iteration: number; description: string; commit: string; budgetSec: number; timeoutSec: number; worker?: number; device?: string | null; host?: string }
  /** A run submitted to a cluster queue and waiting there (executor slurm). */
  | { type: "run-pending"; iteration: number; worker?: number; job: string }
  | { type: "run-metric"; iteration: number; value: number; worker?: number }
  | { type: "check"; iteration: number; command: string; ok: boolean; detail: string; worker?: number }
  /** `noise`: the session's noise floor after this experiment (pooled sd of repeated runs), null until measured. */
  /** `key`: what its run events called it while it was in flight (`iteration`); the record has its number. */
  | { type: "experiment"; key?: number; record: ExperimentRecord; best: ExperimentRecord; baseline: ExperimentRecord; noise?: number | null }
  | { type: "progress-report"; iteration: number; markdown: string }
  | { type: "warning"; message: string }
  | { type: "stop-requested"; mode: "graceful" | "abort" }
  | { type: "session-end"; reason: string; experiments: number; best: ExperimentRecord | null; baseline: ExperimentRecord | null };

export type EventSink = (event: SessionEvent) => void;

/**
 * An event as it may leave the process (NDJSON on stdout, events.jsonl for watchers): the
 * session's config holds the --notify URL, a credential, which is shown redacted.
 */
export function publicEvent(event: SessionEvent): SessionEvent {
  return event.type === "session-start" ? { ...event, session: { ...event.session, config: redactConfig(event.session.config) } } : event;
}
