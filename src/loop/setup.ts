import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
import { executorOf, sessionProtection } from "../executors/registry.js";
import { basename, dirname, join, relative, sep } from "node:path";
import type { ResearchConfig } from "../config/options.js";
import { Interrupted, RuntimeFailure, UsageError } from "../errors.js";
import { alternateName, CONFIG_FILE, REPORT_FILES } from "../file-names.js";
import { Ledger, readSessionInfo, type SessionInfo } from "../ledger/ledger.js";
import { currentTag, FAILED_DIR, hasLegacySession, legacyPaths, lockPath, migrateLegacy, type SessionPaths, sessionPaths, writeCurrent } from "../ledger/paths.js";
import type { PlatformInfo } from "../types.js";
import type { WorkerClone } from "../workspace/clone.js";
import { excludeFromGit } from "../workspace/exclude.js";
import { checkShareRoots } from "../workspace/shared.js";
import type { Git } from "../workspace/git.js";
import { ResearchRepo } from "../workspace/research-repo.js";
import { baselineFailureHint } from "../report/hints.js";
import { recordBaseline, runBaseline } from "../search/experiment.js";
import { guardedFiles, hashGuarded } from "../search/guards.js";
import { keepRuleOf } from "../search/keep-rule.js";
import { isAlive, readLock } from "../ledger/lock.js";
import { readInFlightReadOnly } from "../ledger/read.js";
import type { LoopDeps, SessionState, Worker } from "../search/session.js";
import { cloneFor, type ResolvedSession, sessionSlots } from "../search/slots.js";
import { probeRemotePlatform } from "./remote-platform.js";
import { researchBranch } from "../workspace/branch-names.js";

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
  const lockFile = lockPath(root);
  const lock = lockFile ? readLock(lockFile) : null;
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
  // The git questions below, asked at once (four processes side by side rather than one after
  // another); their answers are read, and refused, in the order the checks are written.
  const branch = researchBranch(config.tag);
  const asked = {
    // One git call for every file whose being tracked matters below.
    tracked: git.trackedAmong([config.train, ...config.readonly, config.results]),
    dirty: git.trackedChanges(),
    validName: git.isValidBranchName(branch),
    exists: git.branchExists(branch),
  };
  // An answer not read because an earlier check refused is not an unhandled failure.
  for (const answer of Object.values(asked)) answer.catch(() => {});
  const tracked = await asked.tracked;
  if (!tracked.has(config.train)) {
    throw new UsageError(`training script ${config.train} is not committed`, `Commit it first: git add ${config.train} && git commit -m "add training script"`);
  }
  // Shared paths the user named: inside the checkout, untracked, not through a link (nothing of theirs is ever replaced by a link).
  if (Array.isArray(config.share)) await checkShareRoots(git, root, config.share);
  for (const file of config.readonly) {
    if (!existsSync(join(root, file))) {
      throw new UsageError(`read-only script ${file} not found in ${root}`, "Pass --readonly <path> (repeatable) for the scripts that must never change.");
    }
    if (file === config.train) throw new UsageError(`${file} is both the training script and a read-only script`, "The training script is the one file that may change; pick different paths.");
    // A run that changes it is put back from the base commit, so it must be in that commit.
    if (!tracked.has(file)) {
      throw new UsageError(`read-only script ${file} is not committed`, `Commit it first: git add ${file} && git commit -m "add ${file}"`);
    }
  }
  if (tracked.has(config.results)) throw trackedResultsError(config.results);
  const dirty = await asked.dirty;
  if (dirty.length > 0) {
    throw new UsageError(`the working tree has uncommitted changes:\n${dirty.join("\n")}`, "Commit or stash them first (git stash), so every experiment starts from a known commit.");
  }
  if (!(await asked.validName)) throw new UsageError(`invalid tag ${JSON.stringify(config.tag)}`, "Use letters, digits, '.', '_' or '-'.");
  if (await asked.exists) {
    throw new UsageError(`branch ${branch} already exists`, `Continue it with \`autoresearch resume\` (from that branch), or pick another --tag.`);
  }
}

/** What a new session set aside of the previous one, so a start that fails can put it back. */
interface SetAside {
  previousTag: string | null;
  moved: { from: string; to: string }[];
}

/**
 * A new session after the previous one was killed mid-experiment: that experiment's commit is
 * not the new baseline (the baseline is always the user's checkout, which no session changes),
 * and the old session is left exactly as it was, resumable. Says which, or null.
 */
function interruptedPrevious(root: string, home: string, tag: string, head: string): string | null {
  const previous = currentTag(home);
  if (!previous || previous === tag) return null;
  const inFlight = readInFlightReadOnly(sessionPaths(root, previous, home)).filter((e) => e.id !== 0 && e.phase !== "ready");
  if (inFlight.length === 0) return null;
  const ids = inFlight.map((e) => e.id).join(", ");
  return (
    `session ${previous} was stopped during experiment${inFlight.length > 1 ? "s" : ""} ${ids}, before ${inFlight.length > 1 ? "they were" : "it was"} decided: it is kept as it was, ` +
    `and \`autoresearch resume --tag ${previous}\` runs ${inFlight.length > 1 ? "them" : "that experiment"} again. This session starts from your checkout's commit ${head.slice(0, 7)}, not from that experiment.`
  );
}

/**
 * Before a new session writes its projections in the checkout: a results file or report left by
 * an earlier session (or the old in-checkout layout) is moved into that session's records, or
 * into <git dir>/autoresearch/archive when no session owns it, so nothing of it is lost. The
 * alternate names (`progress.autoresearch.png`, used when the user tracks `progress.png`) too.
 */
function setAsidePrevious(root: string, home: string, resultsPath: string, projections: string[]): SetAside {
  const previousTag = currentTag(home);
  const owner = previousTag ? sessionPaths(root, previousTag, home).dir : null;
  const target = owner && existsSync(owner) ? owner : join(home, "archive", `${Date.now()}`);
  const moved: SetAside["moved"] = [];
  // `projections` has the names this session writes: a file the user tracks under a projection's
  // name is theirs and stays where it is.
  for (const file of [resultsPath, ...projections.map((f) => join(root, f))]) {
    if (!existsSync(file)) continue;
    mkdirSync(target, { recursive: true });
    const to = uniquePath(join(target, basename(file)));
    renameSync(file, to);
    moved.push({ from: file, to });
  }
  return { previousTag, moved };
}

/**
 * A new session that did not really start (its baseline failed, it was stopped, setup broke):
 * the previous session is current again and its projections are back in the checkout, as if
 * this `run` had never happened. Best effort: a file the user has since written is not replaced.
 */
function restorePrevious(home: string, aside: SetAside): void {
  for (const { from, to } of aside.moved) {
    try {
      if (!existsSync(from) && existsSync(to)) renameSync(to, from);
    } catch {}
  }
  if (aside.previousTag && existsSync(join(home, aside.previousTag, "records", "session.json"))) writeCurrent(home, aside.previousTag);
}

function uniquePath(path: string): string {
  let candidate = path;
  for (let n = 2; existsSync(candidate); n++) candidate = `${path}.${n}`;
  return candidate;
}

/**
 * The workers' clones (one per slot; made on first use), the research branch in the user's repo
 * and the shared paths, for a session.
 */
export async function openWorkspace(
  root: string,
  info: SessionInfo,
  paths: SessionPaths,
  deps: LoopDeps,
): Promise<{ clone: WorkerClone; workers: Worker[]; repo: ResearchRepo; trainMode: string }> {
  const { git } = deps;
  // The training script's mode is asked while the clone is made.
  const mode = git.fileMode(info.baseCommit, info.config.train);
  mode.catch(() => {});
  const clone = await cloneFor(git, root, info.config, paths.workdir);
  if (clone.shared.length > 0) deps.emit({ type: "warning", message: `linked into the experiment clone (not copied; a run must not change them): ${clone.shared.map((e) => e.rel).join(", ")}` });
  const workers: Worker[] = [];
  for (const slot of sessionSlots(info)) {
    workers.push({ slot, clone: slot.worker === 0 ? clone : await cloneFor(git, root, info.config, paths.workerDir(slot.worker)) });
  }
  const trainMode = (await mode) ?? "100644";
  return { clone, workers, repo: new ResearchRepo(git, info.tag), trainMode };
}

/** A clone of the session's repository at `dir` (not created yet), with the session's shared paths. */

/** A results file tracked by git: refused by `run`, and by `init` before it writes a config `run` would refuse. */
export function trackedResultsError(results: string): UsageError {
  return new UsageError(`results file ${results} is tracked by git`, `Results are never committed: run \`git rm --cached ${results}\` and commit, or pick another --results path.`);
}

/**
 * Phase 1.3: session records, branch, clone, baseline. session.json is written before the
 * branch is created, so a kill at any point leaves something `resume` can finish. Nothing in
 * the user's checkout changes but the projections (results.tsv; summary and chart at the end).
 * On a baseline that crashes (or is aborted) the branch is deleted again and the failed
 * attempt's records are kept for reading.
 */
export async function startSession(root: string, checked: ResolvedSession, platform: PlatformInfo, deps: LoopDeps): Promise<SessionState> {
  const { git } = deps;
  const { config } = checked;
  // First, before anything is changed: a proposer that cannot work at all (an agent CLI that is
  // not installed) stops here with the fix.
  const proposerCheck = (await deps.proposer.check?.()) ?? {};
  for (const message of proposerCheck.warnings ?? []) deps.emit({ type: "warning", message });
  if (hasLegacySession(root)) {
    const legacy = readSessionInfo(legacyPaths(root));
    const moved = migrateLegacy(root, legacy?.tag ?? `legacy-${Date.now()}`);
    deps.emit({ type: "warning", message: `the previous session's records were moved out of the checkout to ${moved.dir}` });
  }
  const paths = sessionPaths(root, config.tag);
  const resultsPath = join(root, config.results);
  // What the checkout is (its tracked report files, its commit, its branch): asked at once.
  const [tracked, head, baseBranch] = await Promise.all([git.trackedAmong(REPORT_FILES), git.head(), git.currentBranch()]);
  const projections = REPORT_FILES.map((f) => (tracked.has(f) ? alternateName(f) : f));
  await excludeFromGit(git, [`/${config.results}`, `/${config.results}.*.tmp`, ...projections.flatMap((f) => [`/${f}`, `/${f}.*.tmp`]), `/${CONFIG_FILE}`]);
  const interrupted = interruptedPrevious(root, paths.home, config.tag, head);
  if (interrupted) deps.emit({ type: "warning", message: interrupted });
  const aside = setAsidePrevious(root, paths.home, resultsPath, projections);
  let session: SessionState;
  try {
    session = await setUpSession(root, checked, platform, deps, paths, proposerCheck, { baseBranch, baseCommit: head });
  } catch (error) {
    restorePrevious(paths.home, aside);
    throw error;
  }
  // Said once it is so: a start that fails puts the files back.
  if (aside.moved.length > 0) {
    deps.emit({ type: "warning", message: `${aside.moved.map((m) => basename(m.from)).join(", ")} of the previous session moved to ${dirname(aside.moved[0]?.to ?? "")}` });
  }
  return session;
}

/** startSession after the previous session's projections were set aside. */
async function setUpSession(
  root: string,
  checked: ResolvedSession,
  platform: PlatformInfo,
  deps: LoopDeps,
  paths: SessionPaths,
  proposerCheck: { agent?: SessionInfo["agent"] },
  base: Pick<SessionInfo, "baseBranch" | "baseCommit">,
): Promise<SessionState> {
  const { config } = checked;
  const resultsPath = join(root, config.results);
  // A folder of this tag without its branch (deleted by hand): kept, under another name.
  const tagDir = dirname(paths.dir);
  if (existsSync(tagDir)) renameSync(tagDir, uniquePath(`${tagDir}.old-${Date.now()}`));

  const { baseBranch, baseCommit } = base;
  // Resolved (and refused when they cannot work) with the config, before anything was written.
  const resolved = checked.slots;
  for (const message of resolved.warnings) deps.emit({ type: "warning", message });
  const info: SessionInfo = {
    version: 1,
    tag: config.tag,
    branch: researchBranch(config.tag),
    baseBranch,
    baseCommit,
    startedAt: deps.now().toISOString(),
    config,
    platform,
    guardedHashes: hashGuarded(root, guardedFiles(root, config.readonly)),
    ...(proposerCheck.agent && { agent: proposerCheck.agent }),
    slots: resolved.slots,
    protection: sessionProtection(config),
  };
  const ledger = new Ledger(paths, resultsPath, config.metric);
  ledger.ensureDirs();
  ledger.load();
  ledger.writeSession(info);
  writeCurrent(paths.home, config.tag);
  ledger.reconcile();
  const workspace = await openWorkspace(root, info, paths, deps);
  await workspace.repo.createBranch(baseCommit);
  await workspace.clone.prepare(baseCommit);
  const session: SessionState = { root, paths, info, ledger, history: [], keepRule: keepRuleOf(config), stopCondition: checked.stopCondition, invocationStartedAt: deps.now(), trainTexts: new Map(), ...workspace };
  try {
    // A cluster whose nodes cannot see the clone would crash every experiment: refuse now.
    for (const message of (await deps.executor.check?.({ cwd: workspace.clone.dir, logDir: paths.runs }, deps.stop.signal)) ?? []) deps.emit({ type: "warning", message });
  } catch (error) {
    await abandonSession(session, deps);
    throw error;
  }
  // Runs on another machine (ssh host, SLURM node): the platform is that machine's.
  const remote = await probeRemotePlatform(session, deps, workspace.workers[0] as Worker);
  if (remote) {
    info.platform = remote;
    ledger.writeSession(info);
  }
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
    // A run the executor could not start or finish (its `failure`): the fix is where it runs, which the executor knows.
    const failure = baseline.run.failure ? (executorOf(config).failureHint?.(baseline.run.failure.reason, config) ?? null) : null;
    const hint = failure ?? baselineFailureHint({ reason: baseline.decision.reason, durationSec: baseline.run.durationSec, budgetSec: config.budgetSec, timeoutSec: config.timeoutSec, metric, direction: config.direction, log, logPath });
    throw new RuntimeFailure(
      `the baseline run failed (${baseline.decision.detail}); nothing was changed`,
      hint ?? `Read its log in ${logPath}, fix the command (--command) or the script, and run again.`,
    );
  }
  recordBaseline(session, deps, baseline.record);
}

/** Every clone of the session (the workers', the proposer's): throwaway, made again on resume. */
export function removeClones(session: Pick<SessionState, "clone" | "workers" | "proposalClone">): void {
  for (const clone of new Set([session.clone, ...session.workers.map((w) => w.clone), ...(session.proposalClone ? [session.proposalClone] : [])])) {
    try {
      clone.remove();
    } catch {}
  }
}

/** The research branch is deleted again; the session's records go to <home>/failed/<tag>-<time>/. Returns that folder. */
async function abandonSession(session: SessionState, deps: LoopDeps): Promise<string> {
  const { info, paths } = session;
  session.ledger.clearInFlight();
  if ((await session.repo.branchHead()) !== null) await session.repo.deleteBranch();
  rmSync(join(session.root, info.config.results), { force: true });
  removeClones(session);
  const failed = join(paths.home, FAILED_DIR, `${info.tag}-${Date.now()}`);
  mkdirSync(dirname(failed), { recursive: true });
  renameSync(paths.dir, failed);
  rmSync(dirname(paths.dir), { recursive: true, force: true });
  if (currentTag(paths.home) === info.tag) rmSync(join(paths.home, "current"), { force: true });
  void deps;
  return failed;
}
