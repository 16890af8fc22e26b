import { proposalSpend } from "../config/session-limits.js";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeFailure } from "../errors.js";
import { applyProposal } from "../proposers/apply.js";
import { readMemory } from "../ledger/memory.js";
import { childrenOf } from "../ledger/tree.js";
import { ProposalFailed } from "../proposers/errors.js";
import type { ExperimentRecord, InFlightSummary, Proposal, ProposalContext, Proposer, RunFacts, Scope, SiblingSummary } from "../types.js";
import type { WorkerClone } from "../workspace/clone.js";
import { cloneFor } from "./slots.js";
import { delta, noiseOfRecords } from "../metric/index.js";
import { sha256 } from "./guards.js";
import { baselineOf, bestOf, failureStreak, type LoopDeps, type SessionState, trainTextAt } from "./session.js";

/** Attempts per iteration before the iteration is skipped (spec: the loop never stalls). */
export const ATTEMPTS_PER_ITERATION = 3;

export type ProposalOutcome =
  /** `base`: the commit `newText` is built on (the best when it was made; an OOM retry's: the crashed experiment's parent). */
  | { kind: "proposal"; proposal: Proposal; newText: string; base: string; oomRetryOf?: number }
  | { kind: "exhausted" }
  | { kind: "skipped"; reason: string };

function readIfExists(path: string): string | null {
  return existsSync(path) ? readFileSync(path, "utf8") : null;
}

/**
 * An OOM crash on a GPU platform (CUDA, MPS) that was not itself a retry gets one retry
 * (spec 2.4): the proposer is asked for the failed change with a smaller batch (the builtin
 * halves the batch constant; LLM and agent proposers are told to fix it). A second OOM stays
 * a crash. A plan replays fixed steps, so it gets no retry.
 *
 * Proposals are made while runs train, so the crash is not always the last record: another
 * experiment (one proposed before the crash was known, or another worker's) may have been
 * decided since. The latest OOM crash whose retry was neither proposed (recorded, waiting or
 * running) nor declined is offered at the next proposal.
 */
export function oomToRetry(session: SessionState, proposer?: Pick<Proposer, "canRetryOom">): ExperimentRecord | null {
  if (proposer?.canRetryOom === false || session.info.platform.kind === "cpu") return null;
  const retried = new Set(session.history.flatMap((e) => (e.oomRetryOf === undefined ? [] : [e.oomRetryOf])));
  for (let i = session.history.length - 1; i >= 0; i--) {
    const e = session.history[i] as ExperimentRecord;
    if (e.reason !== "oom" || e.oomRetryOf !== undefined) continue;
    if (retried.has(e.id) || session.oomRetried?.has(e.id) || session.oomRetryDeclined?.has(e.id)) continue;
    return e;
  }
  return null;
}

function outOfScope(proposal: Proposal, scope: Scope[]): boolean {
  if (scope.length === 4 || proposal.category === "other") return false;
  return !(scope as string[]).includes(proposal.category);
}

/** The session's limits as the brief states them: budget, iterations, time and cost left, keep rule. */
export function runFacts(session: SessionState, deps: Pick<LoopDeps, "now">): RunFacts {
  const { config } = session.info;
  const spentUsd = proposalSpend([...session.history, ...session.ledger.rejected()]);
  const elapsed = (deps.now().getTime() - session.invocationStartedAt.getTime()) / 1000;
  const noise = noiseOfRecords(session.history);
  return {
    budgetSec: config.budgetSec,
    timeoutSec: config.timeoutSec,
    maxIterations: config.maxIterations,
    ...(config.maxTimeSec !== undefined && { maxTimeSec: config.maxTimeSec, timeLeftSec: Math.max(0, config.maxTimeSec - elapsed) }),
    spentUsd,
    ...(config.maxCostUsd !== undefined && { maxCostUsd: config.maxCostUsd }),
    keepRule: session.keepRule.text,
    ...(noise && { noiseFloor: noise.sd }),
  };
}

/** The read-only scripts and README as the session's commits hold them, read once per session. */
const filesAt = new WeakMap<SessionState, Map<string, Promise<string | null>>>();

/**
 * A file other than the training script, as every commit of the session holds it: an experiment's
 * commit changes the training script alone (src/workspace/commit.ts), so the read-only scripts and
 * README of the best commit are those of the session's base commit. Read there once per session,
 * not from a clone a run may be using: a `git show` per file per new best was a process start each
 * on the orchestrator's one thread.
 */
function sessionFile(session: SessionState, deps: LoopDeps, path: string): Promise<string | null> {
  const cache = filesAt.get(session) ?? new Map<string, Promise<string | null>>();
  filesAt.set(session, cache);
  let text = cache.get(path);
  if (text === undefined) {
    text = deps.git.showFile(session.info.baseCommit, path);
    cache.set(path, text);
    // A failed read is not remembered: the next proposal tries again.
    text.catch(() => cache.delete(path));
  }
  return text;
}

/**
 * Reads now what the first proposal and its commit need and no run changes (the read-only scripts,
 * README, the committer's identity): runBaseline calls it once the baseline's run has started, so
 * these git calls run beside it instead of one after another once it has ended (or before it).
 */
export function prefetchProposalInputs(session: SessionState, deps: LoopDeps): void {
  // The same reads as the proposal's (cached by sessionFile); the training script is not needed for them.
  readonlyAndReadme(session, deps, "").catch(() => {});
  session.repo.prefetchIdentity();
}

/**
 * Where a proposal builds: `node` (the context's `best`) when it is not the head (`why` says why:
 * the head stagnating, see tree-moves.ts), or the head with a combination in flight applied on it
 * (`combining`: the context's script is that combination's code).
 */
export interface ProposalBase {
  node: ExperimentRecord;
  why: string | null;
  combining?: { ids: number[]; combination: number; text: string };
}

/**
 * What the proposer is shown. `on` is where the proposal builds when it is not the head alone
 * (see ProposalBase): `buildsOn` or `combining` say so.
 */
export async function buildContext(session: SessionState, deps: LoopDeps, iteration: number, inFlight: InFlightSummary[] = [], on?: ProposalBase): Promise<ProposalContext> {
  const { config, platform } = session.info;
  const retry = oomToRetry(session, deps.proposer);
  const best = on?.node ?? bestOf(session);
  const combining = !retry ? on?.combining : undefined;
  const trainText = combining ? combining.text : await trainTextAt(session, deps.git, retry ? retry.commit : best.commit);
  const workspace = deps.proposer.editsWorkspace ? await proposalWorkspace(session, deps, best.commit) : null;
  return {
    iteration,
    trainPath: config.train,
    trainText,
    ...(await readonlyAndReadme(session, deps, trainText)),
    metric: { name: config.metric, direction: config.direction },
    history: session.history,
    rejected: session.ledger.rejected(),
    baseline: baselineOf(session.history),
    best,
    failureStreak: failureStreak(session.history),
    platform,
    scope: config.scope,
    ...(config.hypothesis !== undefined && { hypothesis: config.hypothesis }),
    ...(config.plan !== undefined && { plan: readIfExists(join(session.root, config.plan)) ?? config.plan }),
    ...(workspace && { workspace: { dir: workspace.dir, scratchDir: session.paths.agent } }),
    run: runFacts(session, deps),
    notice: (message) => deps.emit({ type: "warning", message }),
    memory: readMemory(session.paths.memory),
    ...(inFlight.length > 0 && { inFlight }),
    ...(session.workers.length > 1 && { workers: session.workers.length }),
    ...(!retry && siblingsOf(session, best).length > 0 && { siblings: siblingsOf(session, best) }),
    ...(on?.why && !retry && { buildsOn: { id: on.node.id, why: on.why } }),
    ...(combining && { combining: { ids: combining.ids, combination: combining.combination } }),
    ...(retry && {
      oomRetry: { experiment: retry, logTail: (readIfExists(session.paths.runLog(retry.id)) ?? "").split("\n").slice(-30) },
    }),
  };
}

/** The read-only scripts and README, asked for at once (one git process each, side by side). */
async function readonlyAndReadme(session: SessionState, deps: LoopDeps, trainText: string): Promise<Pick<ProposalContext, "readonlyFiles" | "readme">> {
  const { config } = session.info;
  const readme = config.train === "README.md" ? Promise.resolve(trainText) : sessionFile(session, deps, "README.md");
  readme.catch(() => {});
  const readonlyFiles = await Promise.all(config.readonly.map(async (path) => ({ path, text: (await sessionFile(session, deps, path)) ?? "" })));
  return { readonlyFiles, readme: await readme };
}

/** The decided children of `node`: what each sibling of a proposal built on it gave. */
function siblingsOf(session: SessionState, node: ExperimentRecord): SiblingSummary[] {
  return childrenOf(session.history, node).map((c) => ({ id: c.id, description: c.description, status: c.status, delta: delta(c.metric, node.metric) }));
}

/** The coding agent's own clone at the best commit (never a clone a run is using), made when first needed. */
async function proposalWorkspace(session: SessionState, deps: LoopDeps, best: string): Promise<WorkerClone> {
  session.proposalClone ??= await cloneFor(deps.git, session.root, session.info.config, session.paths.proposalDir);
  await session.proposalClone.moveTo(best);
  return session.proposalClone;
}

/**
 * Asks the proposer for one valid proposal: it must apply to the training script, stay in
 * scope and not repeat a configuration already run. Refusals go back to the proposer as
 * feedback, up to ATTEMPTS_PER_ITERATION times; each is recorded in rejected.jsonl.
 */
export async function nextProposal(
  session: SessionState,
  deps: LoopDeps,
  iteration: number,
  inFlight: (InFlightSummary & { trainHash: string })[] = [],
  on?: ProposalBase,
): Promise<ProposalOutcome> {
  const ctx = await buildContext(session, deps, iteration, summariesOf(inFlight), on);
  // Scripts run already, and those waiting or running, are not proposed again.
  const tried = new Set([...session.history.map((e) => e.trainHash), ...inFlight.map((e) => e.trainHash)]);
  let lastReason = "";
  for (let attempt = 1; attempt <= ATTEMPTS_PER_ITERATION; attempt++) {
    if (deps.stop.stopRequested) return { kind: "skipped", reason: "stop requested" };
    deps.emit({ type: "proposal-start", iteration });
    let proposal: Proposal | null;
    try {
      proposal = await deps.proposer.propose({ ...ctx, rejected: session.ledger.rejected(), ...(lastReason && { feedback: lastReason }) }, deps.stop.signal);
    } catch (error) {
      if (ctx.workspace) await cleanWorkspace(session);
      // Authentication and configuration failures end the session; anything else is one failed try.
      if (error instanceof RuntimeFailure) throw error;
      lastReason = `the proposer failed: ${(error as Error).message}`;
      // A failed agent run still cost tokens: they count towards --max-cost like any refusal.
      const spent = error instanceof ProposalFailed ? error.spent : {};
      reject(session, deps, iteration, { description: "(no proposal)", category: "other", ...spent }, lastReason);
      continue;
    }
    if (ctx.workspace) {
      // Whatever the agent did in the clone besides the training script is undone and named.
      const extra = await cleanWorkspace(session);
      if (proposal && extra.length > 0) proposal = { ...proposal, violations: [...(proposal.violations ?? []), ...extra] };
    }
    if (proposal === null) {
      if (!ctx.oomRetry) return { kind: "exhausted" };
      // The proposer has no fix for the out-of-memory crash: it stays discarded (spec 2.4).
      session.oomRetryDeclined ??= new Set();
      session.oomRetryDeclined.add(ctx.oomRetry.experiment.id);
      return { kind: "skipped", reason: "no fix proposed for the out-of-memory crash" };
    }
    deps.emit({ type: "proposal", iteration, proposal });
    const applied = applyProposal(ctx.trainText, proposal);
    let reason = applied.ok ? "" : applied.reason;
    if (applied.ok && tried.has(sha256(applied.text))) {
      reason = inFlight.some((e) => e.trainHash === sha256(applied.text))
        ? "this exact training script is already proposed and waiting or running (see the experiments in flight); propose something new"
        : "this exact training script was already run in an earlier experiment; propose something new";
    }
    if (!reason && outOfScope(proposal, session.info.config.scope)) {
      reason = `category "${proposal.category}" is outside the allowed scope (${session.info.config.scope.join(", ")})`;
    }
    if (applied.ok && !reason) {
      const base = ctx.oomRetry ? ctx.oomRetry.experiment.parent : ctx.best.commit;
      return { kind: "proposal", proposal, newText: applied.text, base, ...(ctx.oomRetry && { oomRetryOf: ctx.oomRetry.experiment.id }) };
    }
    lastReason = reason;
    reject(session, deps, iteration, proposal, reason);
  }
  return { kind: "skipped", reason: lastReason };
}

/** The proposals a batch request gave that may run, each with its key in flight. */
export type BatchOutcome =
  | { kind: "batch"; items: { key: number; proposal: Proposal; newText: string; base: string }[] }
  | { kind: "exhausted" }
  /** No usable proposal came back (or an out-of-memory retry is owed): ask one at a time instead. */
  | { kind: "none" };

/**
 * Asks the proposer for up to `k` proposals in one call (Proposer.proposeMany) and validates
 * each on its own, as nextProposal validates one: a proposal that does not apply, repeats a script
 * run, in flight or earlier in the same batch, or leaves the scope is refused and recorded; the
 * others are kept. `takeId` gives each kept proposal its key in flight, in order. An
 * out-of-memory retry is always asked for alone (it has its own base and brief).
 */
export async function nextProposals(
  session: SessionState,
  deps: LoopDeps,
  iteration: number,
  k: number,
  takeId: () => number,
  inFlight: (InFlightSummary & { trainHash: string })[] = [],
  on?: ProposalBase,
): Promise<BatchOutcome> {
  const proposer = deps.proposer;
  if (!proposer.proposeMany || oomToRetry(session, proposer) !== null) return { kind: "none" };
  const ctx = await buildContext(session, deps, iteration, summariesOf(inFlight), on);
  if (deps.stop.stopRequested) return { kind: "none" };
  deps.emit({ type: "proposal-start", iteration });
  let proposals: Proposal[];
  try {
    proposals = await proposer.proposeMany(ctx, k, deps.stop.signal);
  } catch (error) {
    if (error instanceof RuntimeFailure) throw error;
    // One failed try, as for a single proposal; the single path then asks again with the reason.
    const spent = error instanceof ProposalFailed ? error.spent : {};
    reject(session, deps, iteration, { description: "(no proposal)", category: "other", ...spent }, `the proposer failed: ${(error as Error).message}`);
    return { kind: "none" };
  }
  if (proposals.length === 0) return { kind: "exhausted" };
  const tried = new Set([...session.history.map((e) => e.trainHash), ...inFlight.map((e) => e.trainHash)]);
  const inBatch = new Set<string>();
  const items: { key: number; proposal: Proposal; newText: string; base: string }[] = [];
  for (const proposal of proposals.slice(0, k)) {
    const applied = proposal.refused === undefined ? applyProposal(ctx.trainText, proposal) : ({ ok: false, reason: proposal.refused } as const);
    const hash = applied.ok ? sha256(applied.text) : "";
    let reason = applied.ok ? "" : applied.reason;
    if (applied.ok && inBatch.has(hash)) reason = "it gives the same training script as another experiment of the same batch; propose something new";
    else if (applied.ok && tried.has(hash)) {
      reason = inFlight.some((e) => e.trainHash === hash)
        ? "this exact training script is already proposed and waiting or running (see the experiments in flight); propose something new"
        : "this exact training script was already run in an earlier experiment; propose something new";
    }
    if (!reason && outOfScope(proposal, session.info.config.scope)) {
      reason = `category "${proposal.category}" is outside the allowed scope (${session.info.config.scope.join(", ")})`;
    }
    if (!applied.ok || reason) {
      deps.emit({ type: "proposal", iteration, proposal });
      reject(session, deps, iteration, proposal, reason);
      continue;
    }
    inBatch.add(hash);
    const key = takeId();
    deps.emit({ type: "proposal", iteration: key, proposal });
    items.push({ key, proposal, newText: applied.text, base: ctx.best.commit });
  }
  return items.length > 0 ? { kind: "batch", items } : { kind: "none" };
}

/** A refused proposal: in rejected.jsonl (it counts towards --max-cost, the proposer reads why) and announced. */
export function reject(
  session: SessionState,
  deps: LoopDeps,
  iteration: number,
  proposal: Pick<Proposal, "description" | "category" | "planStep" | "usage" | "costUsd" | "changes">,
  reason: string,
): void {
  session.ledger.recordRejected({
    iteration,
    description: proposal.description,
    reason,
    at: deps.now().toISOString(),
    ...(proposal.planStep !== undefined && { planStep: proposal.planStep }),
    ...(proposal.usage !== undefined && { usage: proposal.usage }),
    ...(proposal.costUsd !== undefined && { costUsd: proposal.costUsd }),
    ...(proposal.changes !== undefined && { changes: proposal.changes }),
  });
  deps.emit({ type: "proposal-rejected", iteration, description: proposal.description, reason });
}

/** The clone back at the best commit after a proposer worked in it; returns what it had done besides editing the training script. */
async function cleanWorkspace(session: SessionState): Promise<string[]> {
  const train = session.info.config.train;
  const clone = session.proposalClone;
  if (!clone) return [];
  const inspection = await clone.inspect(session.info.guardedHashes);
  await clone.reset(bestOf(session).commit, inspection);
  // An agent, unlike a run, has no business leaving files: each one it created is named too.
  const created = inspection.created.map((path) => `created ${path}`);
  return [...inspection.violations.filter((v) => v !== `modified ${train}`), ...created].map((v) => `${v} (undone)`);
}

/** What the proposer is told of the experiments in flight (their scripts' hashes are the scheduler's). */
function summariesOf(inFlight: readonly (InFlightSummary & { trainHash: string })[]): InFlightSummary[] {
  return inFlight.map(({ trainHash: _, ...summary }) => summary);
}
