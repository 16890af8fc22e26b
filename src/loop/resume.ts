import { join } from "node:path";
import { alternateName, REPORT_FILES } from "../file-names.js";
import { removeStaleTemps } from "../ledger/files.js";
import { sessionProtection } from "../executors/registry.js";
import { applyOverrides, LASTING_RESUME_KEYS, type ResumeOverrides } from "../config/resolve.js";
import { proposalSpend, spentLimit } from "../config/session-limits.js";
import { OPTION_DEFS } from "../config/options.js";
import { UsageError } from "../errors.js";
import { kindOf } from "../executors/registry.js";
import { type InFlight, Ledger, readSessionInfo, type SessionInfo } from "../ledger/ledger.js";
import { locateSession, migrateLegacy, sessionsHome, writeCurrent } from "../ledger/paths.js";
import { unknownSessionError } from "../ledger/sessions.js";
import { applyProposal } from "../proposers/apply.js";
import type { ResearchRepo } from "../workspace/research-repo.js";
import { headOf } from "../ledger/tree.js";
import { keepRuleOf } from "../search/keep-rule.js";
import { countedExperiments } from "../search/stop-reason.js";
import { readyEntry, type ReadyItem } from "../search/ready.js";
import { sha256 } from "../search/guards.js";
import type { ExperimentRecord, RunHandle } from "../types.js";
import type { Executor } from "../types.js";
import { killOrphanedRun } from "../runner/orphans.js";
import { openWorkspace, runSessionBaseline } from "./setup.js";
import { sessionSlots } from "../search/slots.js";
import { bestOf, type LoopDeps, measuredNode, type SessionState, trainTextAt } from "../search/session.js";

export type { ResumeOverrides };

/**
 * Finds the session `resume`, `show` and `report` work on: the current one (or `tag`), an
 * old-layout session in the checkout moved out of it first. Refuses with how to start one.
 */
export function loadSession(root: string, options: { tag?: string; migrate?: boolean } = {}): { info: SessionInfo; ledger: Ledger } {
  let paths = locateSession(root, options.tag);
  // (Outside a git checkout there is nowhere to move it: it is read where it is.)
  if (paths?.legacy && options.migrate !== false && sessionsHome(root)) {
    const legacyInfo = readSessionInfo(paths);
    if (legacyInfo) paths = migrateLegacy(root, legacyInfo.tag);
  }
  const info = paths ? new Ledger(paths, "", "").loadSession() : null;
  if (!paths || !info) {
    if (options.tag) throw unknownSessionError(root, options.tag);
    throw new UsageError(`no autoresearch session in ${root}`, "Start one with `autoresearch run` (or `autoresearch init` first).");
  }
  const ledger = new Ledger(paths, join(root, info.config.results), info.config.metric);
  ledger.loadSession();
  ledger.load();
  return { info, ledger };
}

/**
 * A session that already did all it was allowed to (its --max-iterations, its --max-cost spent,
 * its --stop-when met) and has nothing in flight would stop at once: say how to give it more
 * instead of "resuming" it to the same end. `config` is the session's config with the resume's
 * overrides; `tag` the one the user named (the fix then names it too).
 */
export function refuseFinished(config: SessionInfo["config"], ledger: Ledger, tag?: string): void {
  if (ledger.readInFlight().length > 0) return;
  const history = ledger.experiments();
  if (history.length === 0) return;
  const cost = proposalSpend([...history, ...ledger.rejected()]);
  const best = measuredNode(history, headOf(history, config.direction)).metric;
  const spent = spentLimit(config, { done: countedExperiments(history), cost, best }, tag);
  if (spent) throw new UsageError(`the session is done: ${spent.reached}; nothing is left to resume`, `Give it more, e.g. \`${spent.resume}\`${spent.resume.includes("--max-iterations") ? " (or --max-iterations unlimited)" : ""}.`);
}

/**
 * Brings a session back to a consistent state after any stop, including SIGKILL at any point:
 * what is left of an orphaned run is killed, results.tsv is made to match experiments.jsonl,
 * the research branch goes back to the best kept commit, the clone is made again at it, and an
 * experiment that was in flight is run again under its own number with the exact script it
 * had (it was never recorded). A session killed before its baseline was recorded runs it now.
 * The user's checkout is not touched.
 */
export async function resumeSession(root: string, deps: LoopDeps, overrides: ResumeOverrides = {}, tag?: string): Promise<SessionState> {
  const { info, ledger } = loadSession(root, tag === undefined ? {} : { tag });
  // The overrides go through the same checks as a new session's config, before anything changes.
  const checked = applyOverrides(info.config, overrides, root);
  refuseFinished(checked.config, ledger, tag);
  const stored = { ...info };
  info.config = checked.config;
  // This machine's sandbox, which may not be the one the session started on.
  info.protection = sessionProtection(info.config);
  if (deps.executorFor) deps.executor = deps.executorFor(info.config);
  const inFlightAll = ledger.readInFlight();
  const workerIds = new Set(sessionSlots(info).map((s) => s.worker));
  const recorded = recordedTest(ledger.experiments());
  const followed = (entry: InFlight) => !recorded(entry) && followable(entry, deps.executor, workerIds);

  // Nothing of the killed orchestrator's runs may still be running (or writing) while we restore,
  // but the runs resume follows (SLURM jobs): they go on, and are followed to their end.
  await Promise.all(
    inFlightAll.map(async (entry) => {
      if (!entry.runId || followed(entry)) return;
      const killed = await killOrphanedRun(entry.runId, deps.graceMs ?? 5000);
      if (killed.length > 0) {
        deps.emit({ type: "warning", message: `killed ${killed.length} leftover process(es) of the interrupted run of experiment ${entry.id}: ${killed.join(", ")}` });
      }
    }),
  );
  // The records' and the projections' (summary, chart: in the checkout) half-written files of the killed process.
  const projections = [...REPORT_FILES, ...REPORT_FILES.map(alternateName)].flatMap((name) => removeStaleTemps(join(root, name)));
  for (const name of [...ledger.removeStaleTemps(), ...projections]) deps.emit({ type: "warning", message: `removed ${name}, left by an interrupted write` });
  // As a new session does, before the records change: a proposer that cannot work (an LLM endpoint
  // that does not answer or refuses the key, an agent CLI logged out) stops here with the fix.
  // After the leftovers are killed: a stop here leaves no run of the interrupted session going.
  const proposerCheck = (await deps.proposer.check?.()) ?? {};
  for (const message of proposerCheck.warnings ?? []) deps.emit({ type: "warning", message });
  ledger.ensureDirs();
  // session.json says which protection is in force now (the dashboard and `status` read it), and
  // a --max-iterations given here is the session's limit from now on (status, the progress report
  // and the next resume count against it), as are a new model or endpoint for the LLM; the other
  // overrides stay this invocation's.
  const lasting = Object.fromEntries(
    LASTING_RESUME_KEYS.map((key) => OPTION_DEFS[key].field as keyof ResumeOverrides)
      .filter((field) => overrides[field] !== undefined && overrides[field] !== stored.config[field])
      .map((field) => [field, info.config[field]]),
  );
  if (stored.protection !== info.protection || Object.keys(lasting).length > 0) {
    ledger.writeSession({ ...stored, protection: info.protection, config: { ...stored.config, ...lasting } });
  }
  writeCurrent(ledger.paths.home, info.tag);

  const history = ledger.experiments();
  const workspace = await openWorkspace(root, info, ledger.paths, deps);
  const target = history.length === 0 ? info.baseCommit : headOf(history, info.config.direction).commit;
  await ensureBranch(workspace.repo, deps, target, history.length === 0);
  ledger.reconcile();
  // A clone left by the killed process (a lock file, a half-done run's outputs) is made again;
  // not while a run resume follows still runs in it (it is made again once that run has ended).
  const busy = new Set(inFlightAll.filter(followed).map((e) => e.worker ?? 0));
  const remade = busy.has(0) ? null : await workspace.clone.prepare(target);
  if (remade) deps.emit({ type: "warning", message: `the experiment clone was made again (${remade})` });
  const session: SessionState = { root, paths: ledger.paths, info, ledger, history, keepRule: keepRuleOf(info.config), stopCondition: checked.stopCondition, invocationStartedAt: deps.now(), trainTexts: new Map(), ...workspace };
  deps.emit({ type: "session-start", session: info, resumed: true });

  if (history.length === 0) {
    // Killed before the baseline was recorded: run it now.
    await runSessionBaseline(session, deps);
    return session;
  }
  // Every experiment the killed orchestrator had proposed or running runs again once, first
  // (its run followed to its end instead when the executor can attach to it).
  session.resumeQueue = await resumeQueue(session, deps, inFlightAll.map((e) => ({ entry: e, follow: followed(e) })));
  await workspace.repo.dropPendingRefs(new Set(session.resumeQueue.filter((item) => item.attach).map((item) => workspace.repo.pendingRef(item.key))));
  ledger.clearInFlight();
  for (const item of session.resumeQueue) ledger.writeInFlight(readyEntry(item));
  return session;
}

/**
 * Whether a state.json entry was recorded already (a kill between its record and its removal):
 * the number its decision gave it is recorded with its commit. An entry is keyed by a key, not a
 * number (older sessions' entries by the number they had: the same test finds them by commit).
 */
function recordedTest(history: readonly ExperimentRecord[]): (entry: InFlight) => boolean {
  const byId = new Map(history.map((e) => [e.id, e.commit]));
  const commits = new Set(history.map((e) => e.commit));
  const scripts = new Set(history.map((e) => e.trainHash).filter((h): h is string => typeof h === "string"));
  return (entry) => {
    // A script already decided is never run again under a new number: an entry re-run by an
    // earlier resume is committed anew (another commit for the same script), so its first commit
    // alone does not find the record that run made. An OOM retry runs its script again on purpose.
    if (entry.newText !== undefined && entry.oomRetryOf === undefined && scripts.has(sha256(entry.newText))) return true;
    if (entry.commit === undefined) return false;
    return entry.number !== undefined ? byId.get(entry.number) === entry.commit : commits.has(entry.commit);
  };
}

/** state.json's entries as the scheduler's first items, in id order; ones already recorded or that cannot be rebuilt are dropped (said). */
async function resumeQueue(session: SessionState, deps: LoopDeps, entries: { entry: InFlight; follow: boolean }[]): Promise<ReadyItem[]> {
  const recorded = recordedTest(session.history);
  const items: ReadyItem[] = [];
  for (const { entry, follow } of entries) {
    if (entry.phase === "baseline" || entry.id === 0 || recorded(entry)) continue;
    let newText = entry.newText;
    let base = entry.parent;
    if (newText === undefined && entry.proposal) {
      // Older state files: the proposal re-applied on the best.
      base = bestOf(session).commit;
      const applied = applyProposal(await trainTextAt(session, deps.git, base), entry.proposal);
      if (applied.ok) newText = applied.text;
    }
    if (newText === undefined || !entry.proposal) {
      deps.emit({ type: "warning", message: `experiment ${entry.id} was interrupted and cannot be rebuilt; it is dropped` });
      continue;
    }
    if (entry.phase !== "ready") deps.emit({ type: "warning", message: `experiment ${entry.id} was interrupted; ${follow ? "following its run again" : "running it again"}` });
    items.push({
      key: entry.id,
      proposal: entry.proposal,
      newText,
      base,
      queuedAt: entry.queuedAt ?? entry.startedAt,
      ...(entry.oomRetryOf !== undefined && { oomRetryOf: entry.oomRetryOf }),
      ...(entry.rebaseOf !== undefined && { rebaseOf: entry.rebaseOf }),
      ...(entry.combines !== undefined && { combines: entry.combines }),
      ...(entry.onCombination && { onCombination: true }),
      ...(follow && { attach: { handle: entry.handle as RunHandle, commit: entry.commit as string, runId: entry.runId as string, worker: entry.worker ?? 0 } }),
    });
  }
  return items;
}

/**
 * Whether resume follows the run of this state.json entry instead of running it again: a run of
 * an executor whose runs outlive the orchestrator (a SLURM job, by its id), on a worker this
 * session still has (it runs in that worker's clone). A run that has vanished by then is run
 * again (attach answers null).
 */
function followable(entry: InFlight, executor: Executor, workers: Set<number>): boolean {
  return (
    entry.handle !== undefined &&
    entry.commit !== undefined &&
    entry.runId !== undefined &&
    entry.handle.kind === kindOf(executor) &&
    executor.reattachable === true &&
    executor.attach !== undefined &&
    workers.has(entry.worker ?? 0)
  );
}

/**
 * The research branch at the best commit: created at the base when a kill came before setup
 * made it; refused when it was deleted after experiments were kept. An old-layout session's
 * branch may still be checked out in the user's checkout: it is not moved then (that would
 * change what the user's checkout shows); the user is told to switch away.
 */
async function ensureBranch(repo: ResearchRepo, deps: LoopDeps, best: string, noBaselineYet: boolean): Promise<void> {
  const head = await repo.branchHead();
  if (head === null) {
    if (!noBaselineYet) throw new UsageError(`the session's branch ${repo.branch} no longer exists`, "Start a new session with `autoresearch run`.");
    await repo.createBranch(best);
    return;
  }
  if (head === best) return;
  if (await repo.checkedOut()) {
    throw new UsageError(
      `the session's branch ${repo.branch} is checked out in your checkout, at a commit that is not the session's best`,
      `Experiments now run in their own clone and your checkout is never changed: switch to your own branch first (git switch main, or git switch -), then resume.`,
    );
  }
  await repo.moveBranch(best);
  void deps;
}
