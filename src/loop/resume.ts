import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../errors.js";
import { Ledger, readSessionInfo } from "../ledger/ledger.js";
import { sessionPaths } from "../ledger/paths.js";
import { applyProposal } from "../proposers/apply.js";
import type { ResearchConfig } from "../types.js";
import { runBaseline, runExperiment } from "./experiment.js";
import { bestOf, type LoopDeps, type SessionState } from "./state.js";

/** Settings a resumed session may change; everything else stays as confirmed at setup. */
export type ResumeOverrides = Partial<Pick<ResearchConfig, "maxIterations" | "maxTimeSec" | "maxCostUsd" | "stopWhen" | "reportEvery">>;

/** Loads the session in this repo for `resume` and `status`; refuses with how to start one. */
export function loadSession(root: string): { info: NonNullable<ReturnType<typeof readSessionInfo>>; ledger: Ledger } {
  const paths = sessionPaths(root);
  const info = readSessionInfo(paths);
  if (!info) {
    throw new UsageError(`no autoresearch session in ${root}`, "Start one with `autoresearch run` (or `autoresearch init` first).");
  }
  return { info, ledger: new Ledger(paths, join(root, info.config.results), info.config.metric) };
}

/**
 * Brings a session back to a consistent state after any stop, including SIGKILL at any point:
 * results.tsv gets any row it lacks, the branch head goes back to the best kept commit, and an
 * experiment that was in flight is run again under its own number (it was never recorded).
 */
export async function resumeSession(root: string, deps: LoopDeps, overrides: ResumeOverrides = {}): Promise<SessionState> {
  const { git } = deps;
  const { info, ledger } = loadSession(root);
  Object.assign(info.config, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));

  const current = await git.currentBranch();
  if (current !== info.branch) {
    const dirty = await git.run(["status", "--porcelain=v1", "--untracked-files=no"]);
    if (dirty.trim() !== "") {
      throw new UsageError(`you are on ${current ?? "a detached HEAD"} with uncommitted changes`, `Commit or stash them, then resume (the session's branch is ${info.branch}).`);
    }
    if (!(await git.branchExists(info.branch))) {
      throw new UsageError(`the session's branch ${info.branch} no longer exists`, "Start a new session with `autoresearch run`.");
    }
    await git.run(["checkout", "--quiet", info.branch]);
  }
  ledger.reconcile();
  const session: SessionState = { root, paths: ledger.paths, info, ledger, history: ledger.experiments(), invocationStartedAt: deps.now() };
  deps.emit({ type: "session-start", session: info, resumed: true });

  if (session.history.length === 0) {
    // Killed during the baseline: run it again.
    await git.resetHard(info.baseCommit);
    const baseline = await runBaseline(session, deps);
    ledger.record(baseline.record);
    session.history.push(baseline.record);
    return session;
  }

  const best = bestOf(session.history);
  await git.resetHard(best.commit);
  const inFlight = ledger.readInFlight();
  if (inFlight && inFlight.id === session.history.length) {
    const trainText = readFileSync(join(root, info.config.train), "utf8");
    const applied = applyProposal(trainText, inFlight.proposal);
    if (applied.ok) {
      deps.emit({ type: "warning", message: `experiment ${inFlight.id} was interrupted; running it again` });
      await runExperiment(session, deps, { id: inFlight.id, proposal: inFlight.proposal, newText: applied.text });
    }
  }
  ledger.clearInFlight();
  return session;
}
