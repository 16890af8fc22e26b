import type { SessionEvent } from "../ledger/events.js";

/**
 * What is happening right now, folded from the event stream. Pure and shared: the server folds
 * the tail of events.jsonl for a page's first view, the page folds each event it is sent.
 */
export type StampedEvent = SessionEvent & { at?: string };

export interface LiveRun {
  iteration: number;
  description: string;
  commit: string;
  budgetSec: number;
  timeoutSec: number;
  since: string | null;
  lastMetric: number | null;
  /** Where it runs (sessions with workers). */
  worker: number | null;
  device: string | null;
  host: string | null;
  /** The cluster job it waits for in the queue; null once it runs (or on a local executor). */
  pendingJob: string | null;
}

export interface LiveProposal {
  iteration: number;
  since: string | null;
  /** Set once the proposer answered (the proposal is then checked and applied). */
  description: string | null;
  /** The last refused attempt in this iteration. */
  rejected: string | null;
}

export interface LiveState {
  runs: LiveRun[];
  proposal: LiveProposal | null;
  /** The proposer's latest "current direction". */
  direction: string | null;
  ended: { reason: string; at: string | null } | null;
  warnings: string[];
  /** The proposal pipeline of a session with workers (absent before its first pipeline event). */
  pipeline: { proposing: number; ready: number; running: number; workers: number } | null;
}

export function emptyLive(): LiveState {
  return { runs: [], proposal: null, direction: null, ended: null, warnings: [], pipeline: null };
}

const MAX_WARNINGS = 5;

export function foldLive(state: LiveState, event: StampedEvent): LiveState {
  const at = event.at ?? null;
  switch (event.type) {
    case "session-start":
      return { ...emptyLive(), direction: state.direction };
    case "proposal-start":
      return { ...state, ended: null, proposal: { iteration: event.iteration, since: at, description: null, rejected: null } };
    case "proposal":
      return {
        ...state,
        direction: event.proposal.direction?.trim() ? event.proposal.direction : state.direction,
        proposal: { iteration: event.iteration, since: state.proposal?.since ?? at, description: event.proposal.description, rejected: state.proposal?.rejected ?? null },
      };
    case "proposal-rejected":
      return { ...state, proposal: { iteration: event.iteration, since: state.proposal?.since ?? at, description: null, rejected: event.description } };
    case "run-start": {
      const run: LiveRun = {
        iteration: event.iteration,
        description: event.description,
        commit: event.commit,
        budgetSec: event.budgetSec,
        timeoutSec: event.timeoutSec,
        since: at,
        lastMetric: null,
        worker: event.worker ?? null,
        device: event.device ?? null,
        host: event.host ?? null,
        pendingJob: null,
      };
      const proposal = state.proposal?.iteration === event.iteration ? null : state.proposal;
      return { ...state, proposal, runs: [...state.runs.filter((r) => r.iteration !== event.iteration), run] };
    }
    case "run-pending":
      return { ...state, runs: state.runs.map((r) => (r.iteration === event.iteration ? { ...r, pendingJob: event.job } : r)) };
    case "run-metric":
      // Output means the job left the queue.
      return { ...state, runs: state.runs.map((r) => (r.iteration === event.iteration ? { ...r, lastMetric: event.value, pendingJob: null } : r)) };
    case "pipeline": {
      const { proposing, ready, running, workers } = event;
      return { ...state, pipeline: { proposing, ready, running, workers } };
    }
    case "experiment": {
      // The key its run and proposal events used while in flight; the record has its number.
      const id = event.key ?? event.record.id;
      const proposal = state.proposal?.iteration === id ? null : state.proposal;
      const direction = event.record.direction?.trim() ? event.record.direction : state.direction;
      return { ...state, proposal, direction, runs: state.runs.filter((r) => r.iteration !== id) };
    }
    case "warning":
      return { ...state, warnings: [...state.warnings, event.message].slice(-MAX_WARNINGS) };
    case "session-end":
      return { ...state, runs: [], proposal: null, pipeline: null, ended: { reason: event.reason, at } };
    default:
      return state;
  }
}
