/**
 * `autoresearch finalize`, the core: on a finished or stopped session, which kept changes of the
 * best matter, the smallest set that keeps the gain, and one branch per change for review.
 *
 * 1. The `changes` batch: the best, the baseline, and the best with each kept change of its
 *    lineage taken out (src/loop/finalize/changes.ts), N rounds each, interleaved (run-batch.ts).
 * 2. The `pairs` batch: two changes taken out together where the single removals look suspicious
 *    (src/ledger/finalize-verdicts.ts plannedPairs), with the best again.
 * 3. The `smallest-set` batch: the best without every change within noise or that hurts, with the
 *    best again; accepted as the final code when as good as the best within noise.
 * 4. The branches (branches.ts) and the result record; the table is rendered from the records.
 *
 * Its runs are their own record kind (finalize.jsonl): never experiments, never a move of the
 * research branch, never a row of results.tsv. It holds the repository's loop lock while it runs,
 * so no loop starts beside it (and it refuses to start beside one).
 */
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ResearchConfig } from "../../config/options.js";
import { keepRuleSettings } from "../../config/keep-rules.js";
import { UsageError } from "../../errors.js";
import { sessionProtection } from "../../executors/registry.js";
import { writeAtomic } from "../../ledger/files.js";
import {
  FINALIZE_FORMAT,
  type FinalizeAttempt,
  type FinalizeBatch,
  type FinalizeBatchRecord,
  type FinalizeHeader,
  FinalizeLog,
  type FinalizeResult,
  type FinalizeRun,
  type FinalizeVariant,
  finalizeAttempts,
  latestFinalize,
  readFinalizeEntries,
  type SmallestSet,
} from "../../ledger/finalize-records.js";
import { analyzeFinalize, BEST_RUNS_PER_ROUND, defaultRunsPerVariant, MAX_DEFAULT_RUNS, MAX_PAIRS, plannedPairs, pooledSpread, ROUND_LOSS_FACTOR, removalOf, smallestSetPlan, smallestSetVerdict, type SmallestSetVerdict, variantKey } from "../../ledger/finalize-verdicts.js";
import { takeKernelLock } from "../../ledger/kernel-lock.js";
import { Ledger } from "../../ledger/ledger.js";
import { loopLiveness } from "../../ledger/liveness.js";
import { acquireLock } from "../../ledger/lock.js";
import { locateSession, type SessionPaths, sessionTags } from "../../ledger/paths.js";
import { unknownSessionError } from "../../ledger/sessions.js";
import { readInFlightReadOnly, readRecordsReadOnly, readSessionReadOnly } from "../../ledger/read.js";
import type { SessionInfo } from "../../ledger/session-records.js";
import { headOf } from "../../ledger/tree.js";
import { noiseOfRecords, orient } from "../../metric/index.js";
import { renderFinalizeTable, withoutDelta } from "../../report/finalize-table.js";
import { startWatchdog, type RunWatch } from "../../runner/watchdog.js";
import { sha256 } from "../../search/guards.js";
import { keepRuleOf } from "../../search/keep-rule.js";
import type { LoopDeps, SessionState } from "../../search/session.js";
import { sessionSlots } from "../../search/slots.js";
import type { StopControl } from "../../search/stop.js";
import type { Executor, ExperimentRecord } from "../../types.js";
import type { Git } from "../../workspace/git.js";
import { firstFreshSeed } from "../confirm-command.js";
import { openWorkspace, removeClones } from "../setup.js";
import { writeBranches } from "./branches.js";
import { type ChangeSet, findCompanions, loadChanges, withoutChanges } from "./changes.js";
import { formatDuration } from "../../config/duration.js";
import { estimateCost, type FinalizeCost } from "./cost.js";
import { batchOrder, describeVariant, remainingRuns, runBatch } from "./run-batch.js";

export type { FinalizeCost } from "./cost.js";

export interface FinalizeOptions {
  tag?: string;
  /** N runs per variant (--runs); the default comes from the session's noise floor. */
  runs?: number;
  /** The budget per run (--budget); the session's when absent. */
  budgetSec?: number;
  /** Asked with the cost before anything runs or is written; false: nothing is done. */
  confirm: (cost: FinalizeCost, header: FinalizeHeader) => Promise<boolean>;
}

export type FinalizeEvent =
  | { type: "batch"; batch: FinalizeBatch; runs: number; todo: number; why?: string }
  | { type: "run"; run: FinalizeRun; done: number; of: number }
  | { type: "warning"; message: string };

export interface FinalizeDeps {
  git: Git;
  /** The session's executor, from its config (the CLI passes createExecutor; tests their own). */
  executorFor: (config: ResearchConfig) => Executor;
  now: () => Date;
  stop: StopControl;
  /** The environment runs start from (already stripped of secrets), or the orchestrator's own (sourceEnv). */
  baseEnv: Record<string, string>;
  sourceEnv?: NodeJS.ProcessEnv;
  graceMs?: number;
  /** Tests inject theirs; else one is started (kills the runs of a killed finalize). */
  runWatch?: RunWatch;
  onEvent?: (event: FinalizeEvent) => void;
}

export interface FinalizeOutcome {
  /** finished: the result is recorded; stopped: Ctrl-C (runs recorded so far are kept); declined: the cost was not confirmed. */
  state: "finished" | "stopped" | "declined";
  tag: string;
  attempt: number;
  header: FinalizeHeader;
  cost: FinalizeCost;
  result: FinalizeResult | null;
  /** The contribution table as text (finished only). */
  table: string | null;
  /** Where the markdown table was written (finished only). */
  tablePath: string | null;
}

/** A variant before its commit exists. */
interface VariantSpec {
  kind: FinalizeVariant["kind"];
  removed: number[];
  text: string;
  pair?: [number, number];
}

/** What finalize works on, read before anything is written. */
interface Prepared {
  paths: SessionPaths;
  info: SessionInfo;
  history: ExperimentRecord[];
  head: ExperimentRecord;
  set: ChangeSet;
  header: FinalizeHeader;
  changes: VariantSpec[];
  /** The attempt's result when it is already finished with these settings. */
  finished: FinalizeResult | null;
  /** N came from --runs (never raised). */
  runsGiven: boolean;
  cost: FinalizeCost;
}

/** Every refusal first (exit 2, nothing written), then the plan of the `changes` batch and its cost. */
async function prepare(root: string, options: FinalizeOptions, deps: FinalizeDeps): Promise<Prepared> {
  const paths = locateSession(root, options.tag);
  const info = paths ? readSessionReadOnly(paths) : null;
  if (!paths || !info) {
    if (options.tag) throw unknownSessionError(root, options.tag);
    throw new UsageError(`no autoresearch session in ${root}`, "List this repo's sessions with `autoresearch sessions`, and pass one with --tag.");
  }
  const loop = loopLiveness(paths.lock);
  if (loop.state === "running") {
    throw new UsageError(`a research loop is running in this repo (${loop.text})`, "Finalize works on a finished or stopped session: wait for it to end or stop it (Ctrl-C in its terminal), then run finalize again.");
  }
  if (options.runs !== undefined && !(Number.isInteger(options.runs) && options.runs >= 1)) {
    throw new UsageError(`--runs ${options.runs}: finalize needs at least 1 run of each variant`, "Pass --runs 2 or more (or leave it out: the default comes from the session's noise floor).");
  }
  if (options.budgetSec !== undefined && !(options.budgetSec > 0)) throw new UsageError(`--budget ${options.budgetSec}: not a positive duration`, "Pass e.g. --budget 5m.");
  const history = readRecordsReadOnly(paths);
  if (history.length === 0) throw new UsageError(`session ${info.tag} has no baseline recorded`, "Run the session first (`autoresearch resume`).");
  const { config } = info;
  const head = headOf(history, config.direction);
  const set = await loadChanges(deps.git, history, head, config.train);
  if (set.changes.length === 0) {
    throw new UsageError(`session ${info.tag} kept nothing: its best is the baseline, so there is no change to measure`, "Run the session longer (`autoresearch resume --max-iterations ...`) until it keeps a change, then finalize.");
  }
  for (const e of readInFlightReadOnly(paths)) {
    if (e.id > 0) deps.onEvent?.({ type: "warning", message: `experiment ${e.id} was in flight when the session stopped; finalize measures the recorded ones (\`autoresearch resume\` runs it)` });
  }
  const rule = keepRuleSettings(config);
  const noise = noiseOfRecords(history)?.sd ?? null;
  const budgetSec = options.budgetSec ?? config.budgetSec;
  const timeoutSec = options.budgetSec === undefined ? config.timeoutSec : Math.max(budgetSec, Math.round((config.timeoutSec * budgetSec) / config.budgetSec));
  const latest = latestFinalize(readFinalizeEntries(paths.finalize));
  // One best at one budget is one attempt: a finalize stopped (or asked for more runs) continues it.
  const continuing = latest !== null && latest.header.best.commit === head.commit && latest.header.budgetSec === budgetSec ? latest : null;
  const attempt = continuing ? continuing.attempt : (latest?.attempt ?? 0) + 1;
  if (latest && !continuing) deps.onEvent?.({ type: "warning", message: newAttemptText(latest, head, budgetSec, attempt) });
  const fallback = defaultRunsPerVariant(
    set.changes.map((c) => (c.keptDelta === null ? null : orient(c.keptDelta, config.direction))),
    noise,
    rule.confidence,
  );
  const runs = options.runs ?? continuing?.header.runsPerVariant ?? fallback.runs;
  const runsFrom = options.runs !== undefined ? "--runs" : continuing ? continuing.header.runsFrom : fallback.why;
  const raisedFrom = options.runs === undefined ? continuing?.header.raisedFrom : undefined;
  const { companions, unremovable } = findCompanions(set);
  const header: FinalizeHeader = {
    type: "header",
    format: FINALIZE_FORMAT,
    attempt,
    at: deps.now().toISOString(),
    metric: config.metric,
    direction: config.direction,
    best: { id: head.id, commit: head.commit },
    baseline: { id: 0, commit: (history[0] as ExperimentRecord).commit },
    changes: set.changes.map((c) => ({ id: c.id, commit: c.commit, description: c.description, keptDelta: c.keptDelta })),
    runsPerVariant: runs,
    runsFrom,
    ...(raisedFrom !== undefined && { raisedFrom }),
    plannedRuns: 0,
    budgetSec,
    timeoutSec,
    workers: sessionSlots(info).length,
    confidence: rule.confidence,
    noiseFloor: noise,
    firstSeed: continuing?.header.firstSeed ?? firstFreshSeed(history, keepRuleOf(config).seedOf(0)),
    companions,
    unremovable,
  };
  const changes = changesBatch(set, header);
  const planned = batchOrder("changes", changes.map(asVariant), runs, header.firstSeed);
  header.plannedRuns = planned.length;
  const todo = remainingRuns(planned, continuing?.runs ?? [], attempt);
  const finished = continuing?.result && sameSettings(continuing.header, header) ? continuing.result : null;
  const cost = estimateCost({
    runs: finished ? 0 : todo.length,
    planned: planned.length,
    variants: changes.length,
    rounds: runs,
    laterAtMost: finished ? 0 : (BEST_RUNS_PER_ROUND + 1) * smallestSetRounds(runs),
    ...(options.runs === undefined && raisedFrom === undefined && !finished && runs < MAX_DEFAULT_RUNS && { mayRiseTo: MAX_DEFAULT_RUNS }),
    budgetSec,
    sessionBudgetSec: config.budgetSec,
    workers: header.workers,
    history,
  });
  return { paths, info, history, head, set, header, changes, finished, cost, runsGiven: options.runs !== undefined };
}

/**
 * Why these settings start a new attempt rather than continue (or print) the latest: its best moved, or another
 * --budget. Said before anything runs: a finished table and its branches are replaced once the new one finishes.
 */
function newAttemptText(latest: FinalizeAttempt, head: ExperimentRecord, budgetSec: number, attempt: number): string {
  const was = latest.header;
  const why = was.best.commit !== head.commit ? `the best is now #${head.id} (it measured #${was.best.id})` : `--budget ${formatDuration(budgetSec)} is not its ${formatDuration(was.budgetSec)}`;
  const state = latest.result ? "finished" : "stopped";
  const keep = was.best.commit === head.commit ? ` (--budget ${formatDuration(was.budgetSec)} ${latest.result ? "prints its table again" : "continues it"})` : "";
  const replaced = latest.result ? "; its verdicts and branches are replaced once this one finishes" : "";
  return `finalize attempt ${latest.attempt} ${state} at --budget ${formatDuration(was.budgetSec)}, but ${why}: this is attempt ${attempt}, its runs made afresh${replaced}${keep}`;
}

/** The variants of the `changes` batch: the best, the baseline, each change taken out (with its companions), and each companion set alone (the reference). */
function changesBatch(set: ChangeSet, header: FinalizeHeader): VariantSpec[] {
  const specs: VariantSpec[] = [
    { kind: "best", removed: [], text: set.bestText },
    { kind: "baseline", removed: [], text: set.baseText },
  ];
  const seen = new Set(specs.map((s) => variantKey(s.kind, s.removed)));
  const add = (removed: number[]) => {
    const key = variantKey("ablation", removed);
    if (removed.length === 0 || seen.has(key)) return;
    const text = withoutChanges(set, removed);
    if (text === null) return;
    seen.add(key);
    specs.push({ kind: "ablation", removed, text });
  };
  for (const change of set.changes) {
    if (header.unremovable.some((u) => u.change === change.id)) continue;
    const { removed, reference } = removalOf(header, change.id);
    add(removed);
    add(reference);
  }
  return specs;
}

/** A spec as a planned variant (its commit is made only once the user confirmed). */
function asVariant(spec: VariantSpec): FinalizeVariant {
  return { kind: spec.kind, removed: spec.removed, code: sha256(spec.text), commit: "", ...(spec.pair && { pair: spec.pair }) };
}

/** Two headers that plan the same runs (their time aside), whatever the order of their fields. */
function sameSettings(a: FinalizeHeader, b: FinalizeHeader): boolean {
  const strip = ({ at: _at, ...rest }: FinalizeHeader) => canonical(rest);
  return strip(a) === strip(b);
}

/** JSON with every object's keys sorted. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Finalizes the session (its current one, or `options.tag`): refuses bad input first (exit 2,
 * nothing written), says the cost and asks `options.confirm`, then runs what is not recorded yet.
 */
export async function finalizeSession(root: string, options: FinalizeOptions, deps: FinalizeDeps): Promise<FinalizeOutcome> {
  const prepared = await prepare(root, options, deps);
  const { paths, info, header, cost } = prepared;
  const outcome = (state: FinalizeOutcome["state"], result: FinalizeResult | null, table: string | null = null, tablePath: string | null = null): FinalizeOutcome => ({
    state,
    tag: info.tag,
    attempt: header.attempt,
    header,
    cost,
    result,
    table,
    tablePath,
  });
  if (prepared.finished) {
    // Everything is recorded already: the table again, from the records.
    const table = renderFinalizeTable(prepared.finished, { format: "text", tag: info.tag, runsPerVariant: header.runsPerVariant });
    return outcome("finished", prepared.finished, table, paths.finalizeTable);
  }
  if (!(await options.confirm(cost, header))) return outcome("declined", null);

  mkdirSync(dirname(paths.lock), { recursive: true });
  const kernel = await takeKernelLock(dirname(paths.lock));
  if (!kernel) throw new UsageError("a research loop (or another finalize) is running in this repo", "Wait for it to end or stop it, then run finalize again.");
  let lock: ReturnType<typeof acquireLock>;
  try {
    lock = acquireLock(paths.lock, deps.now());
  } catch (error) {
    kernel.release();
    throw error;
  }
  const watch = deps.runWatch ? null : startWatchdog();
  let session: SessionState | null = null;
  try {
    // The session's config with finalize's budget, its protection on this machine, its executor.
    const config = { ...info.config, budgetSec: header.budgetSec, timeoutSec: header.timeoutSec };
    const running: SessionInfo = { ...info, config, protection: sessionProtection(config) };
    const loopDeps = loopDepsOf(running, deps, watch ?? deps.runWatch);
    session = await openSession(root, prepared, running, loopDeps);
    const result = await runAttempt(session, prepared, deps, loopDeps);
    if (!result) return outcome("stopped", null);
    const table = renderFinalizeTable(result, { format: "text", tag: info.tag, runsPerVariant: header.runsPerVariant });
    writeAtomic(paths.finalizeTable, renderFinalizeTable(result, { format: "markdown", tag: info.tag, runsPerVariant: header.runsPerVariant }));
    return outcome("finished", result, table, paths.finalizeTable);
  } finally {
    if (session) removeClones(session);
    watch?.close();
    lock.release();
    kernel.release();
  }
}

/** The loop's run machinery around the session's executor: what runOnce needs (the proposer is never asked). */
function loopDepsOf(info: SessionInfo, deps: FinalizeDeps, runWatch: RunWatch | null | undefined): LoopDeps {
  return {
    git: deps.git,
    executor: deps.executorFor(info.config),
    proposer: { name: "finalize", propose: async () => null },
    emit: (event) => {
      if (event.type === "warning") deps.onEvent?.({ type: "warning", message: event.message });
    },
    now: deps.now,
    stop: deps.stop,
    baseEnv: deps.baseEnv,
    ...(deps.sourceEnv && { sourceEnv: deps.sourceEnv }),
    ...(runWatch && { runWatch }),
    ...(deps.graceMs !== undefined && { graceMs: deps.graceMs }),
  };
}

/** The session as the loop's run machinery needs it, its workers' clones made at the best. */
async function openSession(root: string, prepared: Prepared, info: SessionInfo, loopDeps: LoopDeps): Promise<SessionState> {
  const { paths, header } = prepared;
  const workspace = await openWorkspace(root, info, paths, loopDeps);
  for (const worker of workspace.workers) await worker.clone.prepare(header.best.commit);
  return {
    root,
    paths,
    info,
    ledger: new Ledger(paths, join(root, info.config.results), info.config.metric),
    history: prepared.history,
    keepRule: keepRuleOf(info.config),
    stopCondition: null,
    invocationStartedAt: loopDeps.now(),
    trainTexts: new Map(),
    ...workspace,
  };
}

/** The attempt's batches, then its result; null when stopped before the end. */
async function runAttempt(session: SessionState, prepared: Prepared, deps: FinalizeDeps, loopDeps: LoopDeps): Promise<FinalizeResult | null> {
  const { header, set } = prepared;
  const log = new FinalizeLog(session.paths.finalize);
  const mine = () => finalizeAttempts(log.all()).find((a) => a.attempt === header.attempt) as FinalizeAttempt;
  const previous = finalizeAttempts(log.all()).find((a) => a.attempt === header.attempt);
  if (!previous || !sameSettings(previous.header, header)) log.append(header);
  const warn = (message: string) => deps.onEvent?.({ type: "warning", message });

  /** A variant with its commit: the one recorded for this attempt when the code is the same, else a new one on top of the best. */
  const materialize = async (spec: VariantSpec): Promise<FinalizeVariant> => {
    const code = sha256(spec.text);
    const recorded = Object.values(mine().batches)
      .flatMap((b) => b?.variants ?? [])
      .find((v) => v.kind === spec.kind && v.code === code && variantKey(v.kind, v.removed) === variantKey(spec.kind, spec.removed));
    const pair = spec.pair ? { pair: spec.pair } : {};
    if (recorded) return { ...recorded, ...pair };
    if (spec.kind === "best") return { kind: "best", removed: [], code, commit: header.best.commit };
    if (spec.kind === "baseline") return { kind: "baseline", removed: [], code, commit: header.baseline.commit };
    const name = `a${header.attempt}/${spec.kind === "smallest-set" ? "smallest-set" : `without-${spec.removed.join("-")}`}`;
    const message = `autoresearch finalize: ${describeVariant(spec)} (best #${header.best.id})\n\n${spec.removed.map((r) => `#${r}: ${set.changes.find((c) => c.id === r)?.description ?? ""}`).join("\n")}\n`;
    const commit = await session.repo.commitAt(session.repo.finalizeRef(name), header.best.commit, session.info.config.train, session.trainMode, spec.text, message, deps.now());
    return { kind: spec.kind, removed: spec.removed, code, commit, ...pair };
  };

  /** Plans (records) a batch and runs what is not recorded of it; false when stopped. */
  const runPhase = async (batch: FinalizeBatch, specs: VariantSpec[], why?: string, rounds = header.runsPerVariant): Promise<boolean> => {
    const variants: FinalizeVariant[] = [];
    for (const spec of specs) variants.push(await materialize(spec));
    const planned = batchOrder(batch, variants, rounds, header.firstSeed);
    const record: FinalizeBatchRecord = {
      type: "batch",
      attempt: header.attempt,
      batch,
      at: deps.now().toISOString(),
      variants,
      rounds,
      plannedRuns: planned.length,
      ...(why !== undefined && { why }),
    };
    const known = mine().batches[batch];
    if (!known || canonical({ ...known, at: "" }) !== canonical({ ...record, at: "" })) log.append(record);
    const todo = remainingRuns(planned, mine().runs, header.attempt);
    deps.onEvent?.({ type: "batch", batch, runs: planned.length, todo: todo.length, ...(why !== undefined && { why }) });
    if (todo.length > 0) {
      await runBatch(
        { session, deps: loopDeps, log, attempt: header.attempt, experiment: header.best.id, warn, onRun: (run, done, of) => deps.onEvent?.({ type: "run", run, done, of }) },
        todo,
        planned.length - todo.length,
        planned.length,
      );
    }
    return remainingRuns(planned, mine().runs, header.attempt).length === 0;
  };

  if (!(await runPhase("changes", prepared.changes))) return null;
  // The default N rests on the session's noise floor; once these rounds measured the noise, it is
  // raised (once) when the kept changes' deltas need more rounds to be told from it.
  const raised = raisedRuns(mine(), prepared.runsGiven);
  if (raised) {
    Object.assign(header, raised, { at: deps.now().toISOString(), plannedRuns: batchOrder("changes", prepared.changes.map(asVariant), raised.runsPerVariant, header.firstSeed).length });
    log.append({ ...header });
    deps.onEvent?.({ type: "warning", message: `${header.raisedFrom} rounds measured the noise: ${raised.runsFrom}` });
    if (!(await runPhase("changes", prepared.changes))) return null;
  }

  // Pairs whose single removals look suspicious, taken out together.
  const pairs = plannedPairs(mine());
  if (pairs.length > 0) {
    const specs: VariantSpec[] = [{ kind: "best", removed: [], text: set.bestText }];
    const why: string[] = [];
    for (const { pair, why: reason } of pairs.slice(0, MAX_PAIRS)) {
      const removed = [...new Set([...removalOf(header, pair[0]).removed, ...removalOf(header, pair[1]).removed])].sort((a, b) => a - b);
      const text = withoutChanges(set, removed);
      if (text === null) {
        warn(`#${pair[0]} and #${pair[1]} cannot be taken out together (their reverts do not apply): not measured`);
        continue;
      }
      specs.push({ kind: "ablation", removed, text, pair });
      why.push(reason);
    }
    if (specs.length > 1 && !(await runPhase("pairs", specs, why.join("; ")))) return null;
  }

  // The smallest set: every change within noise or that hurts taken out together.
  const analysis = analyzeFinalize(mine());
  const plan = smallestSetPlan(mine(), analysis);
  const notes = [...plan.notes];
  // Latest first: a change that comes out only with later ones (its companions) finds them out already.
  const removed: number[] = [];
  for (const id of [...plan.removed].reverse()) {
    if (withoutChanges(set, [...removed, id]) !== null) removed.unshift(id);
    else notes.push(`#${id} stays: its revert does not apply with the others taken out`);
  }
  removed.sort((a, b) => set.changes.findIndex((c) => c.id === a) - set.changes.findIndex((c) => c.id === b));
  const smallestText = withoutChanges(set, removed) as string;
  let smallestCommit: string | null = removed.length === 0 ? header.best.commit : null;
  let verdict = smallestSetVerdict(mine(), removed, analysis);
  if (removed.length > 0) {
    const spec: VariantSpec = { kind: "smallest-set", removed, text: smallestText };
    const specs: VariantSpec[] = [{ kind: "best", removed: [], text: set.bestText }, spec];
    const why = `taking out ${removed.map((r) => `#${r}`).join(", ")} (within noise or hurting)`;
    // N rounds; while the answer is not clear, once more up to smallestSetRounds (its decision picks the final code).
    const known = mine().batches["smallest-set"]?.rounds ?? header.runsPerVariant;
    if (!(await runPhase("smallest-set", specs, why, known))) return null;
    verdict = smallestSetVerdict(mine(), removed, analysis);
    const most = smallestSetRounds(header.runsPerVariant);
    if (!verdict.decided && known < most) {
      if (!(await runPhase("smallest-set", specs, `${why}; more rounds: the first ${known} did not tell`, most))) return null;
      verdict = smallestSetVerdict(mine(), removed, analysis);
    }
    smallestCommit = mine().batches["smallest-set"]?.variants.find((v) => v.kind === "smallest-set")?.commit ?? null;
  }
  const final = mine();
  const kept = set.changes.map((c) => c.id).filter((id) => !removed.includes(id));
  const smallestSet: SmallestSet = {
    removed,
    kept,
    loss: verdict.loss,
    accepted: verdict.accepted,
    commit: smallestCommit,
    why: smallestWhy(removed, verdict, header.direction, notes),
    ...(verdict.margin !== null && { margin: verdict.margin }),
  };
  const matters = analysis.verdicts.filter((v) => v.verdict === "matters");
  const branches = await writeBranches({
    git: deps.git,
    repo: session.repo,
    set,
    baseCommit: prepared.info.baseCommit,
    train: session.info.config.train,
    mode: session.trainMode,
    now: deps.now,
    final:
      verdict.accepted && removed.length > 0
        ? { holds: kept, text: smallestText, what: `the smallest set of ${prepared.info.tag} (${kept.map((k) => `#${k}`).join(" ")}; without ${removed.map((r) => `#${r}`).join(" ")})` }
        : { holds: set.changes.map((c) => c.id), text: set.bestText, what: `every kept change of ${prepared.info.tag} (the best, #${header.best.id})` },
    matters: matters.map((v) => ({
      change: v.change,
      together: analysis.pairs.filter((p) => p.kind === "together" && p.changes.includes(v.change)).map((p) => (p.changes[0] === v.change ? p.changes[1] : p.changes[0])),
    })),
    sessionTags: sessionTags(session.paths.home),
  });
  const result: FinalizeResult = {
    type: "result",
    attempt: header.attempt,
    at: deps.now().toISOString(),
    metric: header.metric,
    direction: header.direction,
    best: { id: header.best.id, commit: header.best.commit, mean: analysis.bestMean },
    baseline: { mean: analysis.baselineMean },
    gain: analysis.gain,
    critical: analysis.spread.critical,
    verdicts: analysis.verdicts,
    pairs: analysis.pairs,
    smallestSet,
    branches,
    runs: final.runs.length,
    crashed: final.runs.filter((r) => r.status === "crash").length,
  };
  log.append(result);
  return result;
}

/**
 * The default N raised after the `changes` batch: the noise its rounds measured (the spread of one
 * round's loss, over ROUND_LOSS_FACTOR) when it is more than the session's noise floor. Null when --runs was given,
 * when it was raised already, or when the measured noise asks for no more rounds.
 */
function raisedRuns(attempt: FinalizeAttempt, runsGiven: boolean): Pick<FinalizeHeader, "runsPerVariant" | "runsFrom" | "raisedFrom"> | null {
  const { header } = attempt;
  if (runsGiven || header.raisedFrom !== undefined) return null;
  const spread = pooledSpread(attempt);
  if (spread.source !== "rounds" || spread.sd === null) return null;
  const measured = spread.sd / ROUND_LOSS_FACTOR;
  const noise = Math.max(measured, header.noiseFloor ?? 0);
  const gains = header.changes.map((c) => (c.keptDelta === null ? null : orient(c.keptDelta, header.direction)));
  const wanted = defaultRunsPerVariant(gains, noise, header.confidence);
  if (wanted.runs <= header.runsPerVariant) return null;
  return { runsPerVariant: wanted.runs, runsFrom: `${wanted.why.replace(/^\d+ /, `${wanted.runs} `)}, raised from ${header.runsPerVariant} once its rounds measured the noise (${measured.toPrecision(3)})`, raisedFrom: header.runsPerVariant };
}

/** Rounds the smallest-set batch may grow to when its first N do not tell: twice N, at least MAX_DEFAULT_RUNS. */
export function smallestSetRounds(runs: number): number {
  return Math.max(2 * runs, MAX_DEFAULT_RUNS);
}

/** Why the smallest set is (or is not) the final code, in one line. */
function smallestWhy(removed: readonly number[], verdict: SmallestSetVerdict, direction: "min" | "max", notes: readonly string[]): string {
  const extra = notes.length ? ` (${notes.join("; ")})` : "";
  if (removed.length === 0) return `no change can be left out: the best is already the smallest set${extra}`;
  const loss = verdict.loss;
  if (!loss) return `its runs did not measure (they or the best's crashed): the best is kept as the final code${extra}`;
  const change = withoutDelta(loss.mean, direction);
  const { critical } = verdict;
  const bound = withoutDelta(loss.mean + critical * (verdict.se ?? loss.se), direction);
  const line = verdict.margin === null ? "" : ` (the within-noise line: ${verdict.margin.toPrecision(3)})`;
  const text = `${change >= 0 ? "+" : ""}${change.toPrecision(3)} against the best over ${loss.rounds} rounds, at most ${bound >= 0 ? "+" : ""}${bound.toPrecision(3)} at ${critical.toFixed(1)} standard errors${line}`;
  if (verdict.accepted) return `as good as the best within noise (${text}): it is the final code${extra}`;
  if (verdict.decided) return `not as good as the best (${text}: it loses more than noise): the best is kept as the final code${extra}`;
  return `not shown to be as good as the best within noise (${text}): the best is kept as the final code${extra}`;
}
