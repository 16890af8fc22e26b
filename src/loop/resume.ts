import { existsSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { applyOverrides, type ResumeOverrides } from "../config/resolve.js";
import { UsageError } from "../errors.js";
import { type InFlight, Ledger, type SessionInfo } from "../ledger/ledger.js";
import { sessionPaths } from "../ledger/paths.js";
import { applyProposal } from "../proposers/apply.js";
import { runExperiment } from "./experiment.js";
import { restoreGuarded } from "./guards.js";
import { killOrphanedRun } from "./orphans.js";
import { runSessionBaseline } from "./setup.js";
import { bestOf, type LoopDeps, type SessionState } from "./state.js";

export type { ResumeOverrides };

/** Loads the session in this repo for `resume` and `status`; refuses with how to start one. */
export function loadSession(root: string): { info: SessionInfo; ledger: Ledger } {
  const paths = sessionPaths(root);
  const probe = new Ledger(paths, "", "");
  const info = probe.loadSession();
  if (!info) {
    throw new UsageError(`no autoresearch session in ${root}`, "Start one with `autoresearch run` (or `autoresearch init` first).");
  }
  const ledger = new Ledger(paths, join(root, info.config.results), info.config.metric);
  ledger.loadSession();
  ledger.load();
  return { info, ledger };
}

/**
 * Brings a session back to a consistent state after any stop, including SIGKILL at any point:
 * what is left of an orphaned run is killed, results.tsv is made to match experiments.jsonl,
 * guarded files are put back, the branch head goes back to the best kept commit, and an
 * experiment that was in flight is run again under its own number with the exact script it
 * had (it was never recorded). A session killed before its baseline was recorded runs it now.
 */
export async function resumeSession(root: string, deps: LoopDeps, overrides: ResumeOverrides = {}): Promise<SessionState> {
  const { git } = deps;
  const { info, ledger } = loadSession(root);
  // The overrides go through the same checks as a new session's config, before anything changes.
  const checked = applyOverrides(info.config, overrides, root);
  info.config = checked.config;
  const inFlight = ledger.readInFlight();

  // Nothing of the killed orchestrator's run may still be running (or writing) while we restore.
  if (inFlight?.runId) {
    const killed = await killOrphanedRun(inFlight.runId, deps.graceMs ?? 5000);
    if (killed.length > 0) {
      deps.emit({ type: "warning", message: `killed ${killed.length} leftover process(es) of the interrupted run of experiment ${inFlight.id}: ${killed.join(", ")}` });
    }
  }
  for (const name of ledger.removeStaleTemps()) deps.emit({ type: "warning", message: `removed ${name}, left by an interrupted write` });
  await clearStaleGitLock(root, deps);

  const history = ledger.experiments();
  await checkoutSessionBranch(deps, info.branch, info.baseCommit, history.length === 0);
  ledger.reconcile();
  const session: SessionState = { root, paths: ledger.paths, info, ledger, history, stopCondition: checked.stopCondition, invocationStartedAt: deps.now() };
  deps.emit({ type: "session-start", session: info, resumed: true });

  if (history.length === 0) {
    // Killed before the baseline was recorded: run it now.
    await restoreGuardedFiles(session, deps);
    await git.resetHard(info.baseCommit);
    await runSessionBaseline(session, deps);
    return session;
  }

  const best = bestOf(history);
  await restoreGuardedFiles(session, deps); // before the reset, which would put tracked ones back silently
  await git.resetHard(best.commit);
  if (inFlight && inFlight.id === history.length && inFlight.phase !== "baseline") {
    await rerunInFlight(session, deps, inFlight);
  }
  ledger.clearInFlight();
  return session;
}

/** The in-flight experiment again, with the exact script it had (older state files: its proposal re-applied). */
async function rerunInFlight(session: SessionState, deps: LoopDeps, inFlight: InFlight): Promise<void> {
  const { config } = session.info;
  if (config.maxIterations !== null && inFlight.id > config.maxIterations) return;
  let newText = inFlight.newText;
  if (newText === undefined && inFlight.proposal) {
    const applied = applyProposal(readFileSync(join(session.root, config.train), "utf8"), inFlight.proposal);
    if (applied.ok) newText = applied.text;
  }
  if (newText === undefined || !inFlight.proposal) {
    deps.emit({ type: "warning", message: `experiment ${inFlight.id} was interrupted and cannot be rebuilt; it is dropped` });
    return;
  }
  deps.emit({ type: "warning", message: `experiment ${inFlight.id} was interrupted; running it again` });
  await runExperiment(session, deps, {
    id: inFlight.id,
    proposal: inFlight.proposal,
    newText,
    ...(inFlight.oomRetryOf !== undefined && { oomRetryOf: inFlight.oomRetryOf }),
  });
}

/** Onto the session's branch; created at the base commit when a kill came before setup made it. */
async function checkoutSessionBranch(deps: LoopDeps, branch: string, baseCommit: string, noBaselineYet: boolean): Promise<void> {
  const { git } = deps;
  const current = await git.currentBranch();
  if (current === branch) return;
  const exists = await git.branchExists(branch);
  const dirty = await git.run(["status", "--porcelain=v1", "--untracked-files=no"]);
  if (dirty.trim() !== "") {
    throw new UsageError(`you are on ${current ?? "a detached HEAD"} with uncommitted changes`, `Commit or stash them, then resume (the session's branch is ${branch}).`);
  }
  if (exists) {
    await git.run(["checkout", "--quiet", branch]);
    return;
  }
  if (!noBaselineYet) {
    throw new UsageError(`the session's branch ${branch} no longer exists`, "Start a new session with `autoresearch run`.");
  }
  await git.run(["checkout", "--quiet", "-b", branch, baseCommit]);
}

async function restoreGuardedFiles(session: SessionState, deps: LoopDeps): Promise<void> {
  const problems = await restoreGuarded(session.root, deps.git, session.info.baseCommit, session.info.guardedHashes);
  if (problems.length > 0) deps.emit({ type: "warning", message: `restored files the interrupted run had changed: ${problems.join("; ")}` });
}

/**
 * A git command killed with the orchestrator (a whole process group killed) leaves
 * `.git/index.lock` and every later git command fails. Resume holds the session lock, so a git
 * lock that stays for a few seconds is that leftover: it is removed, with a warning.
 */
async function clearStaleGitLock(root: string, deps: LoopDeps): Promise<void> {
  const rel = await deps.git.run(["rev-parse", "--git-path", "index.lock"]);
  const path = isAbsolute(rel) ? rel : join(root, rel);
  for (let i = 0; i < 30 && existsSync(path); i++) {
    if (Date.now() - mtimeMs(path) > 3000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!existsSync(path)) return;
  try {
    unlinkSync(path);
    deps.emit({ type: "warning", message: `removed ${path}, left by a git command killed with the previous run` });
  } catch {}
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
