/**
 * The scheduler: N workers (one clone and slot each), up to `lookahead` proposals made ahead
 * while runs train, and decisions one at a time in the order runs finish. Every session runs
 * through it; one worker with lookahead 0 is the plain serial loop.
 *
 * - The proposer is called one request at a time (proposers are not assumed re-entrant), told
 *   what is in flight so it does not propose it again. When several proposals are wanted (workers
 *   free) and the proposer can make them together (Proposer.proposeMany), one request asks for
 *   them all: k = the proposals wanted, at most one per worker and the --max-iterations left.
 * - A proposal waits in `ready` until a worker is free; when it starts it is applied to the best
 *   at that moment (re-applied when the best moved since it was made; if it no longer applies it
 *   is a rejected proposal, not a run).
 * - Decisions go through one Serial queue (src/search/experiment.ts): the research branch moves
 *   only there, so its head is the best kept commit whenever nothing is being decided.
 * - A worker whose run failed with `host-unreachable` rests (30 s, doubling, at most 10 min)
 *   before taking work again; the others go on.
 */
import type { InFlightSummary, Proposal, Proposer } from "../types.js";
import { nextNumber, runExperiment, type Rerun } from "./experiment.js";
import { stopReason } from "./stop-reason.js";
import { nextProposal, nextProposals, oomToRetry, reject as rejectProposal } from "./propose.js";
import { countedExperiments } from "./stop-reason.js";
import { rebaseChange } from "./rebase.js";
import { sha256 } from "./guards.js";
import { Serial } from "./serial.js";
import { waveHoldUntil } from "./waves.js";
import { combinationInFlight, nextCombination, proposalBase } from "./tree-moves.js";
import { combinationCandidates } from "../ledger/tree.js";
import { type ReadyItem, readyEntry } from "./ready.js";
import { sharedDataChange, sharedDataStop } from "./shared-change.js";
import { bestOf, type LoopDeps, type SessionState, trainTextAt, type Worker } from "./session.js";

/** The most proposals one batch request asks for, however many workers there are. */
export const MAX_BATCH = 16;

/** Iterations in a row with no valid proposal before the session gives up. */
export const MAX_SKIPPED_ITERATIONS = 5;
/** The end reason when it does: the proposer, not the research, failed (the run exits 1). */
export const PROPOSER_GAVE_UP = `no valid proposal in ${MAX_SKIPPED_ITERATIONS} iterations in a row`;

const BACKOFF_START_MS = 30_000;
const BACKOFF_MAX_MS = 10 * 60_000;

/**
 * The lookahead in force: the config's, or one proposal made ahead per worker, one worker
 * included (its device would otherwise wait for every proposal). What the proposer has not seen
 * yet when it proposes ahead (the runs in flight) it is told; an out-of-memory crash decided
 * meanwhile is offered for its retry at the next proposal.
 */
export function lookaheadOf(session: SessionState, proposer?: Pick<Proposer, "instant" | "inOrder">): number {
  const { lookahead, search } = session.info.config;
  if (lookahead !== undefined) return lookahead;
  // A plan's steps build on each other: with one worker each is proposed once the one before is decided.
  if (proposer?.inOrder && session.workers.length <= 1) return 0;
  // A proposer that answers in milliseconds (the builtin) hides no latency by proposing ahead; in
  // a tree with several workers what it would propose ahead is a whole wave chosen before the
  // results now running come in, so it proposes when a worker is free, with every result in.
  if (proposer?.instant && search !== "chain" && session.workers.length > 1) return 0;
  return session.workers.length;
}

/**
 * A key for something new in flight: unique among the keys in flight (`used`), and the number it
 * will get if the ones in flight are decided first and it next (with one worker, its number
 * exactly), so what the live view shows while it runs is what its row says after.
 */
export function nextKey(session: Pick<SessionState, "history">, used: ReadonlySet<number>, ahead = used.size): number {
  let key = nextNumber(session) + ahead;
  while (used.has(key)) key++;
  return key;
}

/** The experiment id of the node at `commit`, for the brief's list of runs in flight. */
function parentOf(session: SessionState, commit: string): { parent?: number } {
  const node = session.history.find((e) => e.commit === commit);
  return node ? { parent: node.id } : {};
}

export class Scheduler {
  private readonly ready: ReadyItem[] = [];
  private readonly running = new Map<number, ReadyItem>();
  private readonly backoff = new Map<number, { until: number; ms: number }>();
  private readonly decisions = new Serial();
  private proposing: { key: number } | null = null;
  /** Keys given to proposals of a batch request not queued yet. */
  private readonly taken = new Set<number>();
  private skipped = 0;
  private endReason: string | null = null;
  /** The proposer said it has nothing more (it may still owe an out-of-memory retry). */
  private exhausted = false;
  private fatal: { error: unknown } | null = null;
  /** A decision was made whose progress report is not written yet (see reportSoon). */
  private reportQueued = false;
  private wake: () => void = () => {};
  private changed: Promise<void>;
  private lastPipeline = "";
  /** Combinations (node@head) already tried or dropped, so each is offered once per head. */
  private readonly combinationsSeen = new Set<string>();
  /** Proposals made away from a stagnating head so far (the rotation over strong nodes). */
  private awayTurns = 0;
  /** Experiments whose run has ended and whose decision comes next, with no more runs first (see holding()). */
  private readonly imminent = new Set<number>();
  /** When each running experiment's first run started (ms), and how long the latest first runs took: the waves (see holding()). */
  private readonly runStarts = new Map<number, number>();
  private readonly durations: number[] = [];

  constructor(
    private readonly session: SessionState,
    private readonly deps: LoopDeps,
    private readonly afterDecision: () => void,
    /** Experiments to start first (resume: those a killed orchestrator had in flight). */
    initial: ReadyItem[] = session.resumeQueue ?? [],
  ) {
    this.ready.push(...initial);
    session.resumeQueue = undefined;
    // A retry a killed orchestrator had proposed is not offered again.
    const retried = initial.flatMap((item) => (item.oomRetryOf === undefined ? [] : [item.oomRetryOf]));
    if (retried.length) session.oomRetried = new Set([...(session.oomRetried ?? []), ...retried]);
    this.changed = this.armed();
    deps.stop.signal.addEventListener("abort", () => this.wake(), { once: true });
  }

  private armed(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  /** Runs until a stop condition holds and nothing is in flight. Returns why it stopped. */
  async run(): Promise<string> {
    for (;;) {
      const reason = this.fatal ? "error" : stopReason(this.session, this.deps, this.counted());
      // At --max-iterations, --max-time or --max-cost nothing more is proposed, but what was proposed
      // (and paid for) still runs. A first Ctrl-C or a met --stop-when starts no new proposal, but a
      // queued re-run of a stale candidate still runs: it finishes a decision already recorded
      // ("re-run as #m"); so is a run an earlier orchestrator started that resume follows (it runs
      // already). A second Ctrl-C or an error starts nothing.
      const halted = this.fatal !== null || this.deps.stop.signal.aborted;
      const stopping = halted || this.deps.stop.stopRequested || (reason?.startsWith("stop condition met") ?? false);
      const startable = (item: ReadyItem) => !halted && (!stopping || item.rebaseOf !== undefined || item.attach !== undefined);
      await this.startReady(startable);
      if (reason === null && this.ended() === null && this.proposing === null && this.wantsProposal()) this.propose();
      this.pipeline();
      const busy = this.running.size > 0 || this.proposing !== null;
      const ended = this.ended();
      if (!busy && !this.ready.some(startable) && (reason !== null || ended !== null || this.deps.stop.signal.aborted)) {
        this.dropReady(halted);
        this.pipeline();
        this.flushReport();
        if (this.fatal) throw this.fatal.error;
        if (this.deps.stop.signal.aborted) return "stopped by the user";
        return reason ?? (ended as string);
      }
      await this.waitForChange();
    }
  }

  /**
   * Why the proposer has ended the session, or null. A proposer out of ideas still owes the retry
   * of an out-of-memory crash decided after it said so (a run it proposed earlier): it is asked
   * for that first.
   */
  private ended(): string | null {
    if (this.endReason !== null) return this.endReason;
    // A proposer out of ideas still leaves the combinations of the winners it found to run.
    if (this.exhausted && oomToRetry(this.session, this.deps.proposer) === null && !this.combinationPending()) return `the ${this.deps.proposer.name} proposer has nothing more to propose`;
    return null;
  }

  /** Experiments in flight that count towards --max-iterations (re-runs of stale candidates do not). */
  private counted(): { count: number; costUsd: number } {
    const items = [...this.ready, ...this.running.values()].filter((i) => i.rebaseOf === undefined);
    return { count: items.length + (this.proposing ? 1 : 0), costUsd: items.reduce((sum, i) => sum + (i.proposal.costUsd ?? 0), 0) };
  }

  private freeWorkers(now = Date.now()): Worker[] {
    return this.session.workers.filter((w) => !this.running.has(w.slot.worker) && (this.backoff.get(w.slot.worker)?.until ?? 0) <= now);
  }

  /** Propose while there are fewer proposals waiting than free workers plus the lookahead. */
  private wantsProposal(): boolean {
    if (this.deps.stop.stopRequested || this.deps.stop.signal.aborted) return false;
    return this.wanted() > 0 && !this.holding();
  }

  /**
   * In the tree, when nothing is proposed ahead (lookaheadOf is 0), a free worker's proposal waits
   * for the rest of its wave (src/search/waves.ts): the decisions coming (runs ended, no more runs
   * first) and the runs expected to end about now. A decision that still runs something (a
   * confirmation run, a paired run) is not waited for, nor is a run that overruns its window.
   */
  private holding(now = Date.now()): boolean {
    return this.holdUntil(now) !== null;
  }

  private holdUntil(now: number): number | null {
    if (this.session.info.config.search === "chain" || lookaheadOf(this.session, this.deps.proposer) !== 0) return null;
    return waveHoldUntil({ now, runStarts: this.runStarts, durations: this.durations, imminent: this.imminent });
  }

  /** Proposals wanted now: free workers plus the lookahead, less those waiting (stale ones not counted: see stale()). */
  private wanted(): number {
    const idle = this.session.workers.length - this.running.size;
    return idle + lookaheadOf(this.session, this.deps.proposer) - this.ready.filter((i) => !this.stale(i)).length;
  }

  /**
   * In the tree, a proposal made on the head that is still waiting when the head has moved is
   * stale: it was chosen without the results that moved the head (with N workers, the lookahead
   * holds N of them, a whole wave run uninformed). New proposals are made on the new head and run
   * first; stale ones run when no fresh one waits, and those beyond max(lookahead, workers) are
   * refused (see dropStale). Combinations, re-runs and runs being followed are never stale.
   */
  private stale(item: ReadyItem): boolean {
    if (this.session.info.config.search === "chain" || !item.followHead || item.combines || item.rebaseOf !== undefined || item.attach) return false;
    // A plan's steps are fixed whatever the results: none goes stale (nor may one be lost).
    if (item.proposal.planStep !== undefined) return false;
    return item.base !== bestOf(this.session).commit;
  }

  /** Refuses the oldest stale proposals beyond max(lookahead, workers): they would only ever run last. */
  private dropStale(): void {
    const stale = this.ready.filter((i) => this.stale(i));
    const excess = stale.length - Math.max(lookaheadOf(this.session, this.deps.proposer), this.session.workers.length);
    if (excess <= 0) return;
    const head = bestOf(this.session);
    for (const item of stale.slice(0, excess)) {
      this.ready.splice(this.ready.indexOf(item), 1);
      const made = this.session.history.find((e) => e.commit === item.base);
      this.reject(item, `it was made on #${made?.id ?? "?"} and the best moved to #${head.id} before it started; newer proposals made on #${head.id} ran instead`);
    }
  }

  /**
   * How many proposals one request asks for: those wanted, at most one per worker (a batch larger
   * than that would only queue proposals made without the results about to come in), MAX_BATCH,
   * and the --max-iterations left (the proposal being asked for is counted in flight already).
   */
  private batchSize(): number {
    let k = Math.min(this.wanted(), this.session.workers.length, MAX_BATCH);
    const max = this.session.info.config.maxIterations;
    if (max !== null) k = Math.min(k, max - countedExperiments(this.session.history) - this.counted().count + 1);
    return Math.max(1, k);
  }

  private async waitForChange(): Promise<void> {
    // A worker resting after an unreachable host is woken when its rest ends.
    const rests = [...this.backoff.values()].map((b) => b.until - Date.now()).filter((ms) => ms > 0);
    // A free worker waiting for the rest of a wave is woken when the wave's window closes (a decision wakes it sooner).
    const wave = this.holdUntil(Date.now());
    if (wave !== null && Number.isFinite(wave) && wave > Date.now()) rests.push(wave - Date.now());
    const timer = rests.length ? setTimeout(() => this.wake(), Math.min(...rests) + 5) : null;
    await this.changed;
    if (timer) clearTimeout(timer);
    this.changed = this.armed();
  }

  private pipeline(): void {
    const event = { type: "pipeline" as const, proposing: this.proposing ? 1 : 0, ready: this.ready.length, running: this.running.size, workers: this.session.workers.length };
    const key = `${event.proposing}/${event.ready}/${event.running}`;
    if (key === this.lastPipeline) return;
    this.lastPipeline = key;
    this.deps.emit(event);
  }

  /**
   * Proposals never started (a stop came first) leave state.json: they were never experiments.
   * A re-run a second Ctrl-C or an error kept from starting stays there: `resume` runs it, so the
   * "re-run as #m" already recorded comes true; so does a run to follow (resume follows it again).
   */
  private dropReady(keepReruns: boolean): void {
    for (const item of this.ready.splice(0)) {
      if (keepReruns && item.rebaseOf !== undefined) {
        this.deps.emit({ type: "warning", message: `the re-run of experiment ${item.rebaseOf} was not started; \`autoresearch resume\` runs it` });
        continue;
      }
      if (keepReruns && item.attach) continue;
      this.session.ledger.removeInFlight(item.key);
    }
  }

  private summaries(): (InFlightSummary & { trainHash: string })[] {
    return [...this.running.values(), ...this.ready].map((i) => ({
      id: i.key,
      description: i.proposal.description,
      category: i.proposal.category,
      trainHash: sha256(i.newText),
      ...parentOf(this.session, i.base),
      ...(i.proposal.changes !== undefined && { changes: i.proposal.changes }),
      ...(i.proposal.planStep !== undefined && { planStep: i.proposal.planStep }),
    }));
  }

  private enqueue(item: ReadyItem, first = false): void {
    if (first) this.ready.unshift(item);
    else this.ready.push(item);
    this.session.ledger.writeInFlight(readyEntry(item));
  }

  /** A batch's proposals queued with one write of state.json (not one per proposal). */
  private enqueueAll(items: ReadyItem[]): void {
    this.ready.push(...items);
    this.session.ledger.writeInFlightMany(items.map(readyEntry));
  }

  /** A key for a new item in flight (see nextKey). */
  private newKey(): number {
    const used = new Set([...this.ready.map((i) => i.key), ...[...this.running.values()].map((i) => i.key), ...this.taken, ...(this.proposing ? [this.proposing.key] : [])]);
    return nextKey(this.session, used);
  }

  private propose(): void {
    // A key, not a number: the experiment is numbered when decided, so a proposal refused or
    // dropped on the way leaves no gap.
    const id = this.newKey();
    this.proposing = { key: id };
    const { session, deps } = this;
    void (async () => {
      // In the tree, a winner off the head's lineage is combined into the head before anything new is asked for.
      if (session.info.config.search !== "chain" && (await this.combine(id))) return;
      if (this.exhausted && oomToRetry(session, deps.proposer) === null) return;
      const base = proposalBase(session, this.awayTurns);
      if (base.rotating) this.awayTurns++;
      const found = base.why === null ? await this.stackToBuildOn() : null;
      const { stack, most } = found ? this.hedge(found) : { stack: null, most: Number.POSITIVE_INFINITY };
      const on = base.why ? { node: base.node, why: base.why } : stack ? { node: base.node, why: null, combining: stack } : undefined;
      // Made on a combination in flight: the record says so and its description names the combined nodes.
      const onStack = (item: { proposal: Proposal }) =>
        stack ? { proposal: { ...item.proposal, description: `${stack.combines.map((c) => `#${c} + `).join("")}${item.proposal.description}` }, combines: stack.combines, onCombination: true } : {};
      // A proposal away from a stagnating head is one of a wave, not the wave (see proposalBase).
      const k = base.why ? 1 : Math.min(most, this.batchSize());
      if (k > 1 && deps.proposer.proposeMany) {
        // The first proposal kept takes the key of this request, the others new ones.
        let first: number | null = id;
        const takeId = () => {
          const key = first ?? this.newKey();
          first = null;
          this.taken.add(key);
          return key;
        };
        const batch = await nextProposals(session, deps, id, k, takeId, this.summaries(), on).finally(() => this.taken.clear());
        if (batch.kind === "exhausted") {
          this.exhausted = true;
          return;
        }
        if (batch.kind === "batch") {
          this.skipped = 0;
          // Aborted (second Ctrl-C) while they were made: none runs, and nothing more is proposed.
          if (deps.stop.signal.aborted) return;
          const queuedAt = deps.now().toISOString();
          this.enqueueAll(batch.items.map((item) => ({ ...item, ...onStack(item), queuedAt, followHead: base.why === null && !stack })));
          return;
        }
        // Nothing usable came back: asked one at a time below, with the refusals as feedback.
      }
      const outcome = await nextProposal(session, deps, id, this.summaries(), on);
      if (outcome.kind === "exhausted") {
        this.exhausted = true;
        return;
      }
      if (outcome.kind === "skipped") {
        if (deps.stop.stopRequested) return;
        this.skipped++;
        deps.emit({ type: "warning", message: `no valid proposal (${outcome.reason}); asking again` });
        if (this.skipped >= MAX_SKIPPED_ITERATIONS) this.endReason = PROPOSER_GAVE_UP;
        return;
      }
      this.skipped = 0;
      // Aborted (second Ctrl-C) while the proposal was made: no run is started.
      if (deps.stop.signal.aborted) return;
      if (outcome.oomRetryOf !== undefined) {
        session.oomRetried ??= new Set();
        session.oomRetried.add(outcome.oomRetryOf);
      }
      this.enqueue({
        key: id,
        proposal: outcome.proposal,
        newText: outcome.newText,
        base: outcome.base,
        queuedAt: deps.now().toISOString(),
        followHead: base.why === null && !stack,
        ...(outcome.oomRetryOf !== undefined && { oomRetryOf: outcome.oomRetryOf }),
        ...(outcome.oomRetryOf === undefined && onStack(outcome)),
      });
    })()
      .catch((error: unknown) => {
        this.fatal ??= { error };
      })
      .finally(() => {
        this.proposing = null;
        this.wake();
      });
  }

  /**
   * The combination onto the head now waiting or running, to build new proposals on (see
   * tree-moves.ts). Only in waves (several workers, nothing proposed ahead: see holding()), where
   * a wave's proposals are made together with its combination, knowing every result before it;
   * proposals made ahead are made before the combination exists, on the head they follow. Not for
   * a coding agent (its workspace is a commit), nor while an out-of-memory retry is owed (that
   * builds on the crashed experiment's parent).
   */
  private async stackToBuildOn(): Promise<{ ids: number[]; combination: number; text: string; combines: number[] } | null> {
    const { session, deps } = this;
    if (session.info.config.search === "chain" || session.workers.length < 2 || lookaheadOf(session, deps.proposer) !== 0) return null;
    if (deps.proposer.editsWorkspace || oomToRetry(session, deps.proposer) !== null) return null;
    const found = await combinationInFlight(session, deps.git, [...this.ready, ...this.running.values()]);
    return found ? { ids: found.combines, combination: found.key, text: found.text, combines: found.combines } : null;
  }

  /**
   * A combination of ONE change is a bet on one measurement made on other code than the head's
   * (a sibling's winner, which may interact with the head's own change: a smaller batch that won
   * at the learning rate the head has since doubled), so at most half the wave's new proposals
   * build on it (`most` in this request) and the rest on the head: when it loses, the wave is not
   * lost with it; when it wins, the head's winners are stacked onto it next. A stack of several
   * winners holds the wave's results and the next wave builds on it whole.
   */
  private hedge<T extends { combines: number[] }>(found: T): { stack: T | null; most: number } {
    if (found.combines.length > 1) return { stack: found, most: Number.POSITIVE_INFINITY };
    const head = bestOf(this.session).commit;
    const items = [...this.ready, ...this.running.values()];
    const onIt = items.filter((i) => i.onCombination && i.combines?.length === 1 && i.combines[0] === found.combines[0]).length;
    const onHead = items.filter((i) => !i.combines && i.base === head).length;
    if (onIt > onHead) return { stack: null, most: Number.POSITIVE_INFINITY };
    return { stack: found, most: Math.max(1, Math.ceil(this.batchSize() / 2)) };
  }

  /** Whether a combination may still be offered on the head (tried and dropped ones left out). */
  private combinationPending(): boolean {
    if (this.session.info.config.search === "chain") return false;
    const head = bestOf(this.session);
    const inFlight = [...this.ready, ...this.running.values()].map((i) => ({ parent: i.base, ...(i.combines && { combines: i.combines }), ...(i.onCombination && { onCombination: true }) }));
    return combinationCandidates(this.session.history, head, inFlight, this.session.info.config.direction).some((n) => !this.combinationsSeen.has(`${n.id}@${head.commit}`));
  }

  /** Queues the next combination (in flight as `key`); false when there is none to run. */
  private async combine(key: number): Promise<boolean> {
    const { session, deps } = this;
    for (;;) {
      const next = await nextCombination(session, deps.git, [...this.ready, ...this.running.values()], this.combinationsSeen);
      if (next === null) return false;
      if (next.kind === "dropped") {
        deps.emit({ type: "warning", message: `combination dropped: ${next.reason}` });
        continue;
      }
      deps.emit({ type: "proposal", iteration: key, proposal: next.proposal });
      // Ahead of the proposals made ahead: those were made before this winner was known, and a
      // combination of winners is the run most likely to move the head.
      this.enqueue({ key, proposal: next.proposal, newText: next.newText, base: next.base, combines: next.combines, followHead: true, queuedAt: deps.now().toISOString() }, true);
      return true;
    }
  }

  /** Each free worker takes the next ready proposal that may start now. */
  private async startReady(startable: (item: ReadyItem) => boolean): Promise<void> {
    this.dropStale();
    for (const worker of this.freeWorkers()) {
      // A run being followed is taken by the worker whose clone it runs in, and by no other; a
      // proposal made on the head as it is now before one made on an earlier head.
      const fits = (it: ReadyItem) => startable(it) && (it.attach?.worker === undefined || it.attach.worker === worker.slot.worker);
      const fresh = this.ready.findIndex((it) => fits(it) && !this.stale(it));
      const index = fresh >= 0 ? fresh : this.ready.findIndex(fits);
      if (index < 0) continue;
      const [item] = this.ready.splice(index, 1);
      if (!item) return;
      if (!item.attach) this.rekey(item);
      this.running.set(worker.slot.worker, item);
      void this.work(worker, item);
    }
  }

  /**
   * As it starts, a run takes the key that is its likely number: the next one after those running
   * now (a proposal refused or decided out of order since it was made would leave its key off by
   * one). Its state.json entry moves to the new key in one write.
   */
  private rekey(item: ReadyItem): void {
    const used = new Set([...this.ready.map((i) => i.key), ...[...this.running.values()].map((i) => i.key), ...this.taken, ...(this.proposing ? [this.proposing.key] : [])]);
    const key = nextKey(this.session, used, this.running.size);
    if (key === item.key) return;
    const old = item.key;
    item.key = key;
    this.session.ledger.rekeyInFlight(old, readyEntry(item));
  }

  private async work(worker: Worker, item: ReadyItem): Promise<void> {
    const { session, deps } = this;
    try {
      const best = bestOf(session);
      // In the tree a proposal runs on the node it was made on, whatever the head is now. In a
      // chain it runs on the best (re-applied there when the best moved since it was made); a run
      // being followed measures the code it was started with: its parent stays its own.
      const tree = session.info.config.search !== "chain";
      const own = session.history.find((e) => e.commit === item.base);
      if (tree && !item.attach && own && item.followHead && own.commit !== best.commit) {
        // Made on the head, which has moved while it waited: it runs on the head as it is now when
        // its change applies there (and is new), else on the node it was made on, as a sibling.
        const moved = rebaseChange(await trainTextAt(session, deps.git, item.base), item.newText, await trainTextAt(session, deps.git, best.commit), item.proposal);
        const fresh = moved.ok && !session.history.some((e) => e.trainHash === sha256(moved.text)) && ![...this.running.values(), ...this.ready].some((r) => r !== item && sha256(r.newText) === sha256(moved.text));
        if (moved.ok && fresh) {
          item.base = best.commit;
          item.newText = moved.text;
          // A combination names the node it is combined into: the head it now runs on.
          if (item.combines) item.proposal = { ...item.proposal, description: item.proposal.description.replace(/^(combine [#\d, ]+ into )#\d+/, `$1#${best.id}`), rationale: `${item.proposal.rationale ?? ""} The best moved to #${best.id} before it started: applied there instead.`.trim() };
        }
      }
      const parent = (tree || item.attach ? session.history.find((e) => e.commit === item.base) : undefined) ?? best;
      let newText = item.newText;
      if (!item.attach && item.base !== parent.commit) {
        // Made (or re-run) on a best that has moved since: applied to the best as it is now.
        const rebased = rebaseChange(await trainTextAt(session, deps.git, item.base), item.newText, await trainTextAt(session, deps.git, parent.commit), item.proposal);
        const reason = !rebased.ok
          ? `it was made on an earlier best and no longer applies on the current best #${parent.id}: ${rebased.reason}`
          : session.history.some((e) => e.trainHash === sha256(rebased.text))
            ? `applied on the current best #${parent.id} it is a training script already run`
            : null;
        if (reason || !rebased.ok) {
          this.reject(item, reason ?? "");
          return;
        }
        newText = rebased.text;
      }
      // The same script never runs under two numbers: another item (a combination, a proposal that
      // followed the head) may have become this very script while this one waited.
      const hash = sha256(newText);
      if (item.oomRetryOf === undefined && (session.history.some((e) => e.trainHash === hash) || [...this.running.values()].some((r) => r !== item && sha256(r.newText) === hash))) {
        this.reject(item, "it is now a training script already run or running (another experiment made the same change)");
        return;
      }
      const record = await runExperiment(
        session,
        deps,
        worker,
        {
          key: item.key,
          proposal: item.proposal,
          newText,
          parent,
          queuedAt: item.queuedAt,
          ...(item.oomRetryOf !== undefined && { oomRetryOf: item.oomRetryOf }),
          ...(item.rebaseOf !== undefined && { rebaseOf: item.rebaseOf }),
          ...(item.combines !== undefined && { combines: item.combines }),
          ...(item.onCombination && { onCombination: true }),
          ...(item.attach && { attach: item.attach }),
        },
        {
          decisions: this.decisions,
          rerun: (make) => this.rerun(make),
          runStarted: () => this.runStarts.set(item.key, Date.now()),
          ranOnce: () => {
            const start = this.runStarts.get(item.key);
            this.runStarts.delete(item.key);
            if (start !== undefined) {
              this.durations.push(Date.now() - start);
              // The latest runs only: a wave's length follows the budget and the machine as they are now.
              if (this.durations.length > 2 * this.session.workers.length) this.durations.shift();
            }
            this.imminent.add(item.key);
          },
          runsAgain: () => this.imminent.delete(item.key),
        },
      );
      // null: cut off by a second Ctrl-C, left in state.json for resume (nothing was decided).
      if (record) {
        this.rest(worker, record.reason === "host-unreachable");
        this.reportSoon();
        // Shared data changed under the session: whatever is measured from here on is measured on
        // other data than the baseline and the best, so nothing more is started.
        const changed = sharedDataChange(record);
        const confined = (this.session.info.protection === "bwrap" || this.session.info.protection === "sandbox-exec") && this.session.workers.every((w) => w.slot.host === undefined);
        if (changed) this.fatal ??= { error: sharedDataStop(record.id, changed, confined) };
      }
    } catch (error) {
      this.fatal ??= { error };
    } finally {
      this.running.delete(worker.slot.worker);
      this.imminent.delete(item.key);
      this.runStarts.delete(item.key);
      this.wake();
    }
  }

  /**
   * The progress report after a decision (progress.md, the live report, the dashboard's views) is
   * written on the event loop's next turn: by then the next experiment has been started and waits on
   * git, so the report is written meanwhile instead of between one run's end and the next one's
   * start. It is a view of the records, which were written before; run() writes any still due
   * before it returns.
   */
  private reportSoon(): void {
    if (this.reportQueued) return;
    this.reportQueued = true;
    setImmediate(() => this.flushReport());
  }

  private flushReport(): void {
    if (!this.reportQueued) return;
    this.reportQueued = false;
    this.afterDecision();
  }

  /** A stale candidate that beat its parent: its change on the current best runs next, as a new experiment. */
  private rerun(make: (key: number) => Rerun): void {
    const rerun = make(this.newKey());
    this.enqueue(
      {
        key: rerun.key,
        proposal: rerun.proposal,
        newText: rerun.newText,
        base: rerun.base,
        queuedAt: this.deps.now().toISOString(),
        rebaseOf: rerun.rebaseOf,
        ...(rerun.oomRetryOf !== undefined && { oomRetryOf: rerun.oomRetryOf }),
      },
      true,
    );
  }

  /** A proposal that no longer applies when its turn comes: refused (the proposer reads why), not run. */
  private reject(item: ReadyItem, reason: string): void {
    // Recorded before it leaves state.json: a kill in between leaves its id explained either way.
    rejectProposal(this.session, this.deps, item.key, item.proposal, reason);
    this.session.ledger.removeInFlight(item.key);
  }

  /** After an unreachable host the worker rests, doubling each time in a row; any other outcome ends its rest. */
  private rest(worker: Worker, unreachable: boolean): void {
    if (!unreachable) {
      this.backoff.delete(worker.slot.worker);
      return;
    }
    const start = Number(process.env.AUTORESEARCH_HOST_BACKOFF_MS) || BACKOFF_START_MS;
    const previous = this.backoff.get(worker.slot.worker);
    const ms = previous ? Math.min(previous.ms * 2, BACKOFF_MAX_MS) : start;
    this.backoff.set(worker.slot.worker, { until: Date.now() + ms, ms });
    this.deps.emit({ type: "warning", message: `worker ${worker.slot.worker}${worker.slot.host ? ` (${worker.slot.host})` : ""}: host unreachable; it rests ${Math.round(ms / 1000)}s before taking work again` });
  }
}
