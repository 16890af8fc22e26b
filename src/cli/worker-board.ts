import pc from "picocolors";
import { formatDuration } from "../config/duration.js";
import { cleanField } from "../ledger/results-tsv.js";
import type { SessionEvent } from "../ledger/events.js";
import { budgetProgress, formatMetric, formatPlace } from "../report/format.js";

/**
 * What the terminal shows of a session with several workers: one line per worker (its
 * experiment, description, budget bar, last metric; idle; or waiting in a cluster queue) and
 * one line for the proposal pipeline. Folded from the event stream; the reporter draws it.
 */

interface Slot {
  iteration: number;
  description: string;
  device: string | null;
  host: string | null;
  budgetSec: number;
  startedMs: number;
  lastMetric: number | null;
  /** The cluster job it waits for while queued; null once it runs. */
  pendingJob: string | null;
}

type Pipeline = Extract<SessionEvent, { type: "pipeline" }>;

const BAR_WIDTH = 16;
const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

export class WorkerBoard {
  /** Workers the session has, once known (config, a pipeline event, or the highest worker seen). */
  workers = 0;
  private readonly slots = new Map<number, Slot>();
  private pipeline: Pipeline | null = null;
  /** A proposal being made, for sessions whose scheduler sends no pipeline events. */
  private proposing: number | null = null;
  private readonly descriptions = new Map<number, string>();

  /** More than one worker: the board replaces the single live line. */
  get multi(): boolean {
    return this.workers > 1;
  }

  /** Whether anything on the board moves with the clock (a run, a queue wait, a proposal). */
  get active(): boolean {
    return this.slots.size > 0 || this.proposing !== null || (this.pipeline?.proposing ?? 0) > 0;
  }

  apply(event: SessionEvent, nowMs: number): void {
    switch (event.type) {
      case "session-start": {
        const configured = event.session.config.workers;
        this.workers = typeof configured === "number" ? configured : 0;
        this.slots.clear();
        this.pipeline = null;
        this.proposing = null;
        break;
      }
      case "pipeline":
        this.pipeline = event;
        this.workers = Math.max(this.workers, event.workers);
        if (event.proposing === 0) this.proposing = null;
        break;
      case "proposal-start":
        this.proposing = event.iteration;
        break;
      case "proposal":
        this.descriptions.set(event.iteration, event.proposal.description);
        if (this.proposing === event.iteration) this.proposing = null;
        break;
      case "run-start": {
        const worker = event.worker ?? 0;
        this.seen(worker);
        if (this.proposing === event.iteration) this.proposing = null;
        this.slots.set(worker, {
          iteration: event.iteration,
          description: event.description,
          device: event.device ?? null,
          host: event.host ?? null,
          budgetSec: event.budgetSec,
          startedMs: nowMs,
          lastMetric: null,
          pendingJob: null,
        });
        break;
      }
      case "run-pending": {
        const worker = event.worker ?? 0;
        this.seen(worker);
        const slot = this.slots.get(worker);
        if (slot && slot.iteration === event.iteration) slot.pendingJob = event.job;
        else {
          const description = this.descriptions.get(event.iteration) ?? "";
          this.slots.set(worker, { iteration: event.iteration, description, device: null, host: null, budgetSec: 0, startedMs: nowMs, lastMetric: null, pendingJob: event.job });
        }
        break;
      }
      case "run-metric": {
        const slot = this.slotOf(event.worker, event.iteration);
        if (slot) {
          // Output means the job left the queue: the budget clock starts there.
          if (slot.pendingJob !== null) slot.startedMs = nowMs;
          slot.pendingJob = null;
          slot.lastMetric = event.value;
        }
        break;
      }
      case "experiment": {
        // Its slot is known by the key its run events used (the record has its number).
        const { worker } = event.record;
        const id = event.key ?? event.record.id;
        for (const [k, slot] of this.slots) if (slot.iteration === id && (worker === undefined || worker === k)) this.slots.delete(k);
        this.descriptions.delete(id);
        break;
      }
      case "session-end":
        this.slots.clear();
        this.proposing = null;
        this.pipeline = null;
        break;
      default:
        break;
    }
  }

  /** The lines to draw now: one per worker, then the pipeline (followed by `suffix`: progress, ETA). */
  lines(nowMs: number, metricName: string, suffix = ""): string[] {
    const ids = new Set<number>([...Array.from({ length: this.workers }, (_, k) => k), ...this.slots.keys()]);
    const out = [...ids].sort((a, b) => a - b).map((k) => this.workerLine(k, nowMs, metricName));
    out.push(`${this.pipelineLine(nowMs)}${suffix}`);
    return out;
  }

  private workerLine(k: number, nowMs: number, metricName: string): string {
    const slot = this.slots.get(k);
    const name = pc.cyan(`w${k}`);
    if (!slot) return `${name} ${pc.dim("idle")}`;
    const where = slot.host || slot.device !== null ? ` ${pc.dim(`[${cleanField(formatPlace(slot.host, slot.device))}]`)}` : "";
    const description = cleanField(slot.description).slice(0, 40);
    const head = `${name}${where} #${slot.iteration}${description ? ` ${description}` : ""}`;
    const t = Math.max(0, (nowMs - slot.startedMs) / 1000);
    if (slot.pendingJob !== null) return `${head} ${pc.yellow(`pending in queue (job ${cleanField(slot.pendingJob)})`)} ${t.toFixed(0)}s`;
    const seen = slot.lastMetric === null ? "" : ` ${metricName} ${formatMetric(slot.lastMetric)}`;
    return `${head} ${budgetProgress(t, slot.budgetSec, BAR_WIDTH, formatDuration)}${seen}`;
  }

  private pipelineLine(nowMs: number): string {
    // Runs are counted here, not taken from the last pipeline event: a run that just ended leaves at once.
    const running = this.slots.size;
    const workers = Math.max(this.workers, this.pipeline?.workers ?? 0);
    const proposing = this.pipeline?.proposing ?? (this.proposing === null ? 0 : 1);
    const ready = this.pipeline?.ready ?? 0;
    const spinner = proposing > 0 ? `${pc.cyan(FRAMES[Math.floor(nowMs / 125) % FRAMES.length] ?? "")} ` : "  ";
    return `${spinner}${pc.dim(`proposing ${proposing} · ready ${ready} · running ${running}/${workers}`)}`;
  }

  private seen(worker: number): void {
    this.workers = Math.max(this.workers, worker + 1);
  }

  private slotOf(worker: number | undefined, iteration: number): Slot | undefined {
    if (worker !== undefined) {
      const slot = this.slots.get(worker);
      return slot?.iteration === iteration ? slot : undefined;
    }
    for (const slot of this.slots.values()) if (slot.iteration === iteration) return slot;
    return undefined;
  }
}
