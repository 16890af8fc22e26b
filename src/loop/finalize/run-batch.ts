/**
 * Runs one batch of finalize's runs through the session's own executor and worker slots, with the
 * loop's run machinery (src/search/experiment.ts runOnce: the session's environment contract, the
 * watchdog, the sandbox, the hard timeout), each run recorded (fsynced) the moment it ends. The
 * rounds are interleaved: in an even round the best runs before the batch's other variants, in an
 * odd round after them (ABBA), all with the round's seed, so a drift of the machine cancels in the
 * paired differences. Runs already recorded are skipped, so a finalize stopped or killed at any
 * point continues where it was: nothing lost, nothing run twice.
 */
import { randomUUID } from "node:crypto";
import { join, relative } from "node:path";
import type { FinalizeBatch, FinalizeLog, FinalizeRun, FinalizeVariant } from "../../ledger/finalize-records.js";
import { BEST_RUNS_PER_ROUND, variantKey } from "../../ledger/finalize-verdicts.js";
import { ensureRealDir } from "../../safe-fs.js";
import { decide } from "../../search/decide.js";
import { runOnce } from "../../search/experiment.js";
import type { LoopDeps, SessionState, Worker } from "../../search/session.js";

/** One run to make: a variant in a round, with the round's seed; `repeat` 1 is the best's second run of the round. */
export interface PlannedRun {
  batch: FinalizeBatch;
  variant: FinalizeVariant;
  round: number;
  repeat: number;
  seed: number;
}

/** The runs of a batch in the order they go to the workers: round by round, the best first and last, the other variants between. */
export function batchOrder(batch: FinalizeBatch, variants: readonly FinalizeVariant[], rounds: number, firstSeed: number): PlannedRun[] {
  const best = variants.filter((v) => v.kind === "best");
  const others = variants.filter((v) => v.kind !== "best");
  const out: PlannedRun[] = [];
  for (let round = 0; round < rounds; round++) {
    const seed = firstSeed + round;
    for (const variant of best) out.push({ batch, variant, round, repeat: 0, seed });
    for (const variant of others) out.push({ batch, variant, round, repeat: 0, seed });
    // The best's second run has a seed of its own: with code whose runs vary with the seed (as a
    // network's do), a repeat with the same seed would repeat its noise rather than average it out.
    for (let repeat = 1; repeat < BEST_RUNS_PER_ROUND; repeat++) for (const variant of best) out.push({ batch, variant, round, repeat, seed: repeatSeed(firstSeed, round, repeat) });
  }
  return out;
}

/** Seeds of the best's extra runs of a round start this far after the rounds' own (never one a round uses: --runs is at most 1000). */
export const REPEAT_SEED_OFFSET = 100_000;

/** AUTORESEARCH_SEED of the best's run `repeat` (> 0) of `round`. */
export function repeatSeed(firstSeed: number, round: number, repeat: number): number {
  return firstSeed + REPEAT_SEED_OFFSET * repeat + round;
}

/** The key of a recorded or planned run: which batch, variant, round and repeat (an attempt's runs are unique by it). */
export function runKey(run: { batch: FinalizeBatch; kind: FinalizeVariant["kind"]; removed: readonly number[]; round: number; repeat?: number }): string {
  return `${run.batch}/${variantKey(run.kind, run.removed)}/${run.round}/${run.repeat ?? 0}`;
}

/** The planned runs no run of `attempt` has recorded yet. */
export function remainingRuns(planned: readonly PlannedRun[], recorded: readonly FinalizeRun[], attempt: number): PlannedRun[] {
  const done = new Set(recorded.filter((r) => r.attempt === attempt).map(runKey));
  return planned.filter((p) => !done.has(runKey({ batch: p.batch, kind: p.variant.kind, removed: p.variant.removed, round: p.round, repeat: p.repeat })));
}

export interface BatchContext {
  session: SessionState;
  deps: LoopDeps;
  log: FinalizeLog;
  attempt: number;
  /** The experiment number runs get as AUTORESEARCH_EXPERIMENT (the best's: the code they run is built from it). */
  experiment: number;
  /** Told of each recorded run, with how many of the batch's runs are done. */
  onRun?: (run: FinalizeRun, done: number, of: number) => void;
  warn: (message: string) => void;
}

/** A run's log, under <records>/finalize/a<attempt>/. */
function logPath(session: SessionState, attempt: number, run: PlannedRun): string {
  const name = run.variant.kind === "ablation" ? `without-${run.variant.removed.join("-")}` : run.variant.kind;
  return join(session.paths.dir, "finalize", `a${attempt}`, `${run.batch}-${name}-r${run.round}${run.repeat > 0 ? `-${run.repeat + 1}` : ""}.log`);
}

/** What a run is, for its live line and its log's first line. */
export function describeVariant(variant: Pick<FinalizeVariant, "kind" | "removed">): string {
  if (variant.kind === "ablation") return `the best without ${variant.removed.map((r) => `#${r}`).join(", ")}`;
  return variant.kind === "smallest-set" ? `the smallest set (the best without ${variant.removed.map((r) => `#${r}`).join(", ")})` : `the ${variant.kind}`;
}

/**
 * Makes `runs` on the session's workers, each worker taking the next run when its last one is
 * recorded. A first Ctrl-C lets the runs in flight end and be recorded and starts no more; a
 * second kills them (they are not recorded, and run again next time). Returns how many were recorded.
 */
export async function runBatch(ctx: BatchContext, runs: readonly PlannedRun[], alreadyDone: number, total: number): Promise<number> {
  let next = 0;
  let recorded = 0;
  const { session, deps } = ctx;
  await Promise.all(
    session.workers.map(async (worker) => {
      while (next < runs.length && !deps.stop.stopRequested) {
        const run = runs[next++] as PlannedRun;
        const record = await runOne(ctx, worker, run);
        if (!record) continue;
        recorded++;
        ctx.onRun?.(record, alreadyDone + recorded, total);
      }
    }),
  );
  return recorded;
}

/** One run in `worker`'s clone, inspected and recorded; null when it was killed by a second Ctrl-C (run again next time). */
async function runOne(ctx: BatchContext, worker: Worker, planned: PlannedRun): Promise<FinalizeRun | null> {
  const { session, deps, log } = ctx;
  const { config } = session.info;
  const { variant } = planned;
  const path = logPath(session, ctx.attempt, planned);
  ensureRealDir(join(session.paths.dir, "finalize"));
  ensureRealDir(join(session.paths.dir, "finalize", `a${ctx.attempt}`));
  await worker.clone.moveTo(variant.commit);
  const startedAt = deps.now().toISOString();
  const result = await runOnce(session, deps, worker, ctx.experiment, `finalize: ${describeVariant(variant)}, round ${planned.round + 1}`, variant.commit, randomUUID(), 0, {
    seed: planned.seed,
    logPath: path,
  });
  const interrupted = deps.stop.signal.aborted;
  // What the run did that it may not (the clone's git state, tracked and guarded files, shared
  // data), then the clone back at its commit; the records it could reach are put back.
  const inspection = await worker.clone.inspect(session.info.guardedHashes);
  await worker.clone.reset(variant.commit, inspection);
  if (log.verify()) ctx.warn("a run changed finalize.jsonl: it was put back as finalize wrote it");
  if (interrupted) return null;
  const decision = decide({ run: result, direction: config.direction, bestMetric: Number.NaN, lines: 0, bestLines: 0, violations: inspection.violations });
  const ok = decision.status !== "crash";
  const { slot } = worker;
  const record: FinalizeRun = {
    type: "run",
    attempt: ctx.attempt,
    batch: planned.batch,
    kind: variant.kind,
    removed: variant.removed,
    code: variant.code,
    commit: variant.commit,
    round: planned.round,
    ...(planned.repeat > 0 && { repeat: planned.repeat }),
    seed: planned.seed,
    status: ok ? "ok" : "crash",
    ...(!ok && { reason: decision.reason, detail: decision.detail }),
    metric: ok ? result.metric : null,
    memGb: result.memGb,
    params: result.params,
    ...(result.steps !== undefined && { steps: result.steps }),
    ...(result.trainingSec !== undefined && { trainingSec: result.trainingSec }),
    durationSec: Number(result.durationSec.toFixed(3)),
    ...(result.pendingSec !== undefined && { pendingSec: result.pendingSec }),
    worker: slot.worker,
    ...(slot.device !== null && { device: slot.device }),
    ...(slot.host !== undefined && { host: slot.host }),
    startedAt,
    finishedAt: deps.now().toISOString(),
    log: relative(session.paths.dir, path),
  };
  log.append(record);
  return record;
}
