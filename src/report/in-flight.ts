import type { InFlight, WorkerSlot } from "../ledger/ledger.js";
import { escapeMarkdown, formatElapsed, formatPlace, MISSING, markdownTable } from "./format.js";

/**
 * What `status` shows of the experiments in flight (state.json), from another terminal: each
 * one's worker and device, what it is doing and for how long, and one line per worker slot of
 * the session (idle ones too). Pure: the command reads the files and the clock.
 */

export interface InFlightRun {
  id: number;
  worker: number | null;
  device: string | null;
  host: string | null;
  /** running | pending (waiting in a cluster queue) | ready (waiting for a free worker) | starting | baseline. */
  state: "running" | "pending" | "ready" | "starting" | "baseline";
  description: string | null;
  /** Seconds in its state until now: running since its run started, pending/ready since queued. */
  forSec: number | null;
  /** The cluster job or remote run it is attached to, when the executor gave one. */
  job: string | null;
  rebaseOf: number | null;
}

export interface WorkerNow {
  worker: number;
  device: string | null;
  host: string | null;
  /** The experiment it has in flight, null when idle. */
  experiment: number | null;
  state: InFlightRun["state"] | "idle";
  forSec: number | null;
}

function seconds(nowMs: number, iso: string | undefined): number | null {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isNaN(t) ? null : Math.max(0, (nowMs - t) / 1000);
}

export function inFlightRuns(entries: readonly InFlight[], nowMs: number): InFlightRun[] {
  return entries.map((e) => {
    // Only runs elsewhere have a handle (a job id, a remote run); it says whether it can be queued.
    const view = e.handle ? { job: e.handle.id, queues: e.handle.queues === true } : null;
    const job = view?.job ?? null;
    let state: InFlightRun["state"];
    let since: string | undefined;
    if (e.phase === "baseline") [state, since] = ["baseline", e.runStartedAt ?? e.startedAt];
    else if (e.phase === "ready") [state, since] = ["ready", e.queuedAt ?? e.startedAt];
    else if (e.phase === "proposed") [state, since] = ["starting", e.startedAt];
    // A cluster job with no run start yet is still waiting in the queue.
    else if (view?.queues && !e.runStartedAt) [state, since] = ["pending", e.startedAt];
    else [state, since] = ["running", e.runStartedAt ?? e.startedAt];
    return {
      id: e.id,
      worker: typeof e.worker === "number" ? e.worker : null,
      device: e.device ?? null,
      host: e.host ?? null,
      state,
      description: e.proposal?.description ?? (e.phase === "baseline" ? "baseline" : null),
      forSec: seconds(nowMs, since),
      job,
      rebaseOf: typeof e.rebaseOf === "number" ? e.rebaseOf : null,
    };
  });
}

/** One line per worker slot of the session (and any worker seen in flight that is not among them). */
export function workersNow(runs: readonly InFlightRun[], slots: readonly WorkerSlot[] | undefined): WorkerNow[] {
  const byWorker = new Map<number, WorkerNow>();
  for (const slot of slots ?? []) {
    byWorker.set(slot.worker, { worker: slot.worker, device: slot.device, host: slot.host ?? null, experiment: null, state: "idle", forSec: null });
  }
  for (const run of runs) {
    if (run.worker === null || run.state === "ready") continue;
    const known = byWorker.get(run.worker);
    byWorker.set(run.worker, {
      worker: run.worker,
      device: run.device ?? known?.device ?? null,
      host: run.host ?? known?.host ?? null,
      experiment: run.id,
      state: run.state,
      forSec: run.forSec,
    });
  }
  return [...byWorker.values()].sort((a, b) => a.worker - b.worker);
}

const STATE_WORDS: Record<InFlightRun["state"], string> = {
  running: "running for",
  baseline: "baseline, running for",
  pending: "pending in queue for",
  ready: "ready, waiting for a worker for",
  starting: "starting, for",
};

/** The markdown `status` prints under **In flight:**; nothing when nothing is in flight. */
export function renderInFlight(runs: readonly InFlightRun[]): string[] {
  if (runs.length === 0) return [];
  const rows = runs.map((r) => {
    const where = formatPlace(r.host, r.device);
    const state = `${STATE_WORDS[r.state]} ${formatElapsed(r.forSec)}${r.job !== null ? ` (job ${escapeMarkdown(r.job, 40)})` : ""}`;
    const description = `${r.description ? escapeMarkdown(r.description, 100) : MISSING}${r.rebaseOf !== null ? ` (re-run of #${r.rebaseOf})` : ""}`;
    return [r.worker === null ? MISSING : `w${r.worker}`, where ? escapeMarkdown(where, 40) : MISSING, `#${r.id}`, state, description];
  });
  const table = markdownTable(["Worker", "Device", "Experiment", "State", "Description"], rows, "|--------|--------|------------|-------|-------------|");
  // Several at once end in any order: the number each goes by here is the order it started in, not yet its own.
  const note = runs.length > 1 ? ["", "_In flight each goes by the order it started in; experiments are numbered when decided, in the order they end, so `show` may find it under another number then._"] : [];
  return [`**In flight (${runs.length}):**`, "", table, ...note];
}
