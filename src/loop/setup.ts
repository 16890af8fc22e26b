import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { CheckedConfig } from "../config/resolve.js";
import { Interrupted, RuntimeFailure, UsageError } from "../errors.js";
import { Ledger, readSessionInfo, type SessionInfo } from "../ledger/ledger.js";
import { type SessionPaths, STATE_DIR, sessionPaths } from "../ledger/paths.js";
import type { PlatformInfo } from "../types.js";
import type { ResearchConfig } from "../config/options.js";
import { excludeFromGit } from "../workspace/exclude.js";
import type { Git } from "../workspace/git.js";
import { baselineFailureHint } from "../report/hints.js";
import { recordBaseline, runBaseline } from "./experiment.js";
import { guardedFiles, hashGuarded } from "./guards.js";
import { isAlive, readLock } from "../ledger/lock.js";
import type { LoopDeps, SessionState } from "./state.js";

/** Files the tool writes in the repo; excluded from git so they never dirty the tree. */
export const REPORT_FILES = ["autoresearch-summary.md", "progress.svg", "progress.png"];
export const CONFIG_FILE_NAME = "autoresearch.config.json";

/** Whether `path` (which may not exist yet) resolves, through any symbolic links, to inside `root`. */
export function resolvesInside(root: string, path: string): boolean {
  let target = path;
  while (!existsSync(target) && dirname(target) !== target) target = dirname(target);
  const real = realpathSync(target);
  const realRoot = realpathSync(root);
  return real === realRoot || real.startsWith(realRoot + sep);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every check that can refuse a new session, done before anything is changed. */
export async function validateNewSession(git: Git, root: string, config: ResearchConfig): Promise<void> {
  // First: while another loop runs, its tree may look dirty or its branch taken; name it instead.
  const lock = readLock(sessionPaths(root).lock);
  if (lock && lock.pid !== process.pid && isAlive(lock)) {
    throw new UsageError(`another autoresearch loop (pid ${lock.pid} on ${lock.host}) is running in this repo`, `Wait for it or stop it first (kill -INT ${lock.pid}).`);
  }
  const trainPath = join(root, config.train);
  if (!existsSync(trainPath) || !statSync(trainPath).isFile()) {
    throw new UsageError(`training script ${config.train} not found in ${root}`, "Pass --train <path> to the script the tool may modify.");
  }
  // The tool writes the training script and results file: neither may lead outside the repo.
  if (isSymlink(trainPath) || !resolvesInside(root, trainPath)) {
    throw new UsageError(`training script ${config.train} is a symbolic link or resolves outside ${root}`, "Point --train at the real file inside the repository.");
  }
  const resultsPath = join(root, config.results);
  if (isSymlink(resultsPath) || !resolvesInside(root, resultsPath)) {
    throw new UsageError(`results file ${config.results} is a symbolic link or resolves outside ${root}`, "Give --results a plain path inside the repository.");
  }
  if (!(await git.isTracked(config.train))) {
    throw new UsageError(`training script ${config.train} is not committed`, `Commit it first: git add ${config.train} && git commit -m "add training script"`);
  }
  for (const file of config.readonly) {
    if (!existsSync(join(root, file))) {
      throw new UsageError(`read-only script ${file} not found in ${root}`, "Pass --readonly <path> (repeatable) for the scripts that must never change.");
    }
    if (file === config.train) throw new UsageError(`${file} is both the training script and a read-only script`, "The training script is the one file that may change; pick different paths.");
    // A run that changes it is put back from the base commit, so it must be in that commit.
    if (!(await git.isTracked(file))) {
      throw new UsageError(`read-only script ${file} is not committed`, `Commit it first: git add ${file} && git commit -m "add ${file}"`);
    }
  }
  if (await git.isTracked(config.results)) {
    throw new UsageError(`results file ${config.results} is tracked by git`, `Results are never committed: run \`git rm --cached ${config.results}\` and commit, or pick another --results path.`);
  }
  const dirty = await git.run(["status", "--porcelain=v1", "--untracked-files=no"]);
  if (dirty.trim() !== "") {
    throw new UsageError(`the working tree has uncommitted changes:\n${dirty}`, "Commit or stash them first (git stash), so every experiment starts from a known commit.");
  }
  const branch = `autoresearch/${config.tag}`;
  if (!(await git.isValidBranchName(branch))) throw new UsageError(`invalid tag ${JSON.stringify(config.tag)}`, "Use letters, digits, '.', '_' or '-'.");
  if (await git.branchExists(branch)) {
    throw new UsageError(`branch ${branch} already exists`, `Continue it with \`autoresearch resume\` (from that branch), or pick another --tag.`);
  }
}

/** A previous session's files move to .autoresearch/archive/<tag>/ so nothing of it is lost. */
function archivePrevious(root: string, paths: SessionPaths, resultsPath: string): string | null {
  const previous = readSessionInfo(paths);
  const hasResults = existsSync(resultsPath) && statSync(resultsPath).size > 0;
  if (!previous && !hasResults && !existsSync(paths.experiments)) return null;
  const name = previous?.tag ?? "previous";
  let target = join(paths.dir, "archive", name);
  for (let n = 2; existsSync(target); n++) target = join(paths.dir, "archive", `${name}-${n}`);
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(paths.dir)) {
    if (entry === "archive" || entry === "lock") continue;
    renameSync(join(paths.dir, entry), join(target, entry));
  }
  if (hasResults) renameSync(resultsPath, join(target, "results.tsv"));
  for (const file of REPORT_FILES) if (existsSync(join(root, file))) renameSync(join(root, file), join(target, file));
  return relative(root, target);
}

/**
 * Phase 1.3: session files, branch, baseline. session.json is written before the branch is
 * created, so a kill at any point leaves something `resume` can finish. On a baseline that
 * crashes (or is aborted), the repo goes back to the branch it was on and the failed
 * attempt's files are kept for reading.
 */
export async function startSession(root: string, checked: CheckedConfig, platform: PlatformInfo, deps: LoopDeps): Promise<SessionState> {
  const { git } = deps;
  const { config } = checked;
  // First, before anything is changed: a proposer that cannot work at all (an agent CLI that is
  // not installed) stops here with the fix.
  const proposerCheck = (await deps.proposer.check?.()) ?? {};
  const paths = sessionPaths(root);
  const resultsPath = join(root, config.results);
  await excludeFromGit(git, root, [
    `/${STATE_DIR}/`,
    `/${config.results}`,
    `/${config.results}.*.tmp`,
    ...REPORT_FILES.map((f) => `/${f}`),
    `/${CONFIG_FILE_NAME}`,
  ]);
  mkdirSync(paths.dir, { recursive: true });
  const archived = archivePrevious(root, paths, resultsPath);
  if (archived) deps.emit({ type: "warning", message: `the previous session's files were moved to ${archived}` });
  mkdirSync(paths.runs, { recursive: true });
  mkdirSync(paths.patches, { recursive: true });

  const baseBranch = await git.currentBranch();
  const baseCommit = await git.head();
  const branch = `autoresearch/${config.tag}`;
  const info: SessionInfo = {
    version: 1,
    tag: config.tag,
    branch,
    baseBranch,
    baseCommit,
    startedAt: deps.now().toISOString(),
    config,
    platform,
    guardedHashes: hashGuarded(root, guardedFiles(root, config.readonly)),
    ...(proposerCheck.agent && { agent: proposerCheck.agent }),
  };
  const ledger = new Ledger(paths, resultsPath, config.metric);
  ledger.load();
  ledger.writeSession(info);
  ledger.initResults();
  await git.run(["checkout", "--quiet", "-b", branch]);
  const session: SessionState = { root, paths, info, ledger, history: [], stopCondition: checked.stopCondition, invocationStartedAt: deps.now() };
  deps.emit({ type: "session-start", session: info, resumed: false });
  await runSessionBaseline(session, deps);
  return session;
}

/** Runs and records the baseline; a crash or an abort undoes the session (see abandonSession). */
export async function runSessionBaseline(session: SessionState, deps: LoopDeps): Promise<void> {
  const baseline = await runBaseline(session, deps);
  if (baseline.record.status === "crash") {
    const failedDir = await abandonSession(session, deps);
    if (baseline.decision.reason === "interrupted") {
      throw new Interrupted("stopped during the baseline run; nothing was kept (the session was undone)");
    }
    const logPath = relative(session.root, join(failedDir, "runs", "0.log"));
    const { config } = session.info;
    const log = existsSync(join(session.root, logPath)) ? readFileSync(join(session.root, logPath), "utf8") : "";
    const metric = { name: config.metric, ...(config.metricPattern !== undefined && { pattern: config.metricPattern }) };
    const hint = baselineFailureHint({ reason: baseline.decision.reason, durationSec: baseline.run.durationSec, budgetSec: config.budgetSec, timeoutSec: config.timeoutSec, metric, log, logPath });
    throw new RuntimeFailure(
      `the baseline run failed (${baseline.decision.detail}); nothing was changed`,
      hint ?? `Read its log in ${logPath}, fix the command (--command) or the script, and run again.`,
    );
  }
  recordBaseline(session, deps, baseline.record);
}

/** Back to the branch the session started from; the session's files go to .autoresearch/failed/. Returns that folder. */
async function abandonSession(session: SessionState, deps: LoopDeps): Promise<string> {
  const { git } = deps;
  const { info, paths } = session;
  await git.run(["checkout", "--quiet", info.baseBranch ?? info.baseCommit]);
  await git.run(["branch", "-D", info.branch]);
  rmSync(join(session.root, info.config.results), { force: true });
  const failed = join(paths.dir, "failed", `${info.tag}-${Date.now()}`);
  mkdirSync(failed, { recursive: true });
  for (const entry of ["session.json", "runs", "patches", "rejected.jsonl", "experiments.jsonl"]) {
    if (existsSync(join(paths.dir, entry))) renameSync(join(paths.dir, entry), join(failed, entry));
  }
  session.ledger.clearInFlight();
  return failed;
}
