/**
 * Runs the experiment command once on this machine: own process group, exactly the caller's
 * environment plus the run marker, output streamed to the capped log and scanned as it comes,
 * the whole tree killed at the hard timeout or on abort, and no process left when it returns.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Executor, RunResult, RunSpec } from "../types.js";
import { existsSync } from "node:fs";
import { cgroupEntered, cgroupMembers, cgroupShellArgs, createRunCgroup, type RunCgroup, removeRunCgroup, removeRunCgroupWhenEmpty } from "../runner/cgroup.js";
import { Launcher } from "../runner/launcher.js";
import { openRunLog } from "../runner/run-log.js";
import { OutputScanner } from "../runner/output-scanner.js";
import { listRunPids, RUN_ID_ENV, type RunTree } from "../runner/process-list.js";
import { killRunTree, type KillTreeResult } from "../runner/process-tree.js";
import { RssSampler } from "../runner/rss.js";
import { confine, readOnlyFailure } from "../sandbox/index.js";

export interface LocalExecutorDeps {
  platform?: NodeJS.Platform;
  /** Monotonic clock in ms, for durationSec. */
  now?: () => number;
  newRunId?: () => string;
  /** RSS sampling period (default 200 ms). */
  rssIntervalMs?: number;
  /** Survivor polling period while killing (default 50 ms). */
  pollMs?: number;
  /** How long to keep SIGKILLing survivors before giving up (default 10 s). */
  killWaitMs?: number;
  /** Called right after the process started (for tests and live displays). */
  onSpawn?: (info: RunTree) => void;
}

const GB = 1024 ** 3;
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * `closed`, or `ms` if it takes longer; the timer is cleared when `closed` comes first (a timer
 * left running kept the process alive for up to `ms` after the session's last run).
 */
async function closedWithin(closed: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  try {
    await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export class LocalExecutor implements Executor {
  private readonly platform: NodeJS.Platform;
  private readonly now: () => number;
  /** A launcher made ready for the next run id asked for (src/runner/launcher.ts); none until one is asked for. */
  private spare: Launcher | null = null;
  /** Launchers whose run ids were handed out, waiting for their runs. */
  private readonly reserved = new Map<string, Launcher>();
  private wantsLaunchers = false;
  private noLaunchers = false;

  constructor(private readonly deps: LocalExecutorDeps = {}) {
    this.platform = deps.platform ?? process.platform;
    this.now = deps.now ?? (() => performance.now());
  }

  /**
   * The id of the next run (recorded before it starts, so a killed session's run can be found):
   * the id of a launcher made ready during the previous run when there is one, so the run starts
   * already in its cgroup. Callers that ask for ids this way get launchers from their second run on.
   */
  newRunId(): string {
    this.wantsLaunchers = true;
    const spare = this.spare;
    this.spare = null;
    if (spare?.ready) {
      this.reserved.set(spare.runId, spare);
      return spare.runId;
    }
    if (spare) void spare.dispose();
    return (this.deps.newRunId ?? randomUUID)();
  }

  /**
   * A launcher for the session's first run (its baseline), made ready while the session is set up:
   * moving a process into a new cgroup waits on the kernel (~12 ms), off the path to that run too.
   */
  warmUp(): void {
    this.wantsLaunchers = true;
    this.prepareSpare();
  }

  /** Ends the launchers nobody used (the session is over). */
  async close(): Promise<void> {
    const unused = [...this.reserved.values(), ...(this.spare ? [this.spare] : [])];
    this.reserved.clear();
    this.spare = null;
    this.wantsLaunchers = false;
    await Promise.all(unused.map((l) => l.dispose()));
  }

  /** The next launcher, made while this run goes on (off the path between two runs). */
  private prepareSpare(): void {
    if (!this.wantsLaunchers || this.noLaunchers || this.spare) return;
    setImmediate(() => {
      if (!this.wantsLaunchers || this.spare) return;
      this.spare = Launcher.prepare(this.platform);
      if (!this.spare) this.noLaunchers = true;
    });
  }

  async run(spec: RunSpec, signal?: AbortSignal): Promise<RunResult> {
    const scanner = new OutputScanner(spec.metric); // throws on a bad pattern, before anything starts
    const { sink, note, lines } = openRunLog(spec, scanner);
    const started = this.now();
    if (signal?.aborted) {
      note("run aborted before it started");
      sink.close();
      return { ...emptyResult(), ...scanner.result() };
    }

    const runId = spec.runId ?? (this.deps.newRunId ?? randomUUID)();
    const posix = this.platform !== "win32";
    let child: ChildProcess;
    let exited: Promise<Exit>;
    // A launcher made ready for this id is already in the run's cgroup; one that died, or a directory
    // that is gone (a fresh spawn reports that), is not used.
    let launcher = this.reserved.get(runId) ?? null;
    this.reserved.delete(runId);
    if (launcher && !(launcher.ready && existsSync(spec.cwd))) {
      void launcher.dispose();
      launcher = null;
    }
    // Linux with a writable cgroup v2: the run gets its own cgroup, which nothing it starts can leave.
    const cgroup: RunCgroup | null = launcher ? launcher.cgroup : posix ? createRunCgroup(runId, this.platform) : null;
    // A confined run (src/sandbox/): the same shell command, started inside the sandbox.
    const confined = spec.sandbox ? confine(spec.sandbox, spec.cwd, spec.command) : null;
    const command = confined?.command ?? spec.command;
    // The command's own argv (bwrap's under bubblewrap, else the shell's), started directly or by
    // the shell that moves itself into the cgroup first: no other shell in between.
    const argv = confined?.argv ?? (posix ? ["/bin/sh", "-c", command] : null);
    const launch = argv === null ? null : cgroup ? cgroupShellArgs(cgroup.procsFile, argv) : { file: argv[0] as string, args: argv.slice(1) };
    const env = { ...spec.env, ...confined?.env, [RUN_ID_ENV]: runId };
    try {
      child =
        launcher && argv
          ? launcher.launch(spec.cwd, env, argv)
          : spawn(launch?.file ?? command, launch?.args ?? [], {
              shell: launch === null,
              cwd: spec.cwd,
              env,
              stdio: ["ignore", "pipe", "pipe"],
              detached: posix,
              windowsHide: true,
            });
      this.prepareSpare();
      // spawn() returns once the child has exec'd in its own process group: from here on a
      // Ctrl-C sent to the terminal's group cannot reach the run.
      spec.onStart?.();
      exited = new Promise<Exit>((resolve) => {
        child.once("exit", (code, sig) => resolve({ code, signal: sig }));
        child.once("error", (error) => resolve({ code: null, signal: null, error }));
      });
    } catch (err) {
      exited = Promise.resolve({ code: null, signal: null, error: err as Error });
      child = null as unknown as ChildProcess;
    }
    const closed = child ? new Promise<void>((r) => child.once("close", () => r())) : Promise.resolve();
    const splitters = [child?.stdout, child?.stderr].map((stream) => {
      const splitter = lines();
      stream?.on("data", (chunk: Buffer) => {
        sink.write(chunk);
        splitter.push(chunk);
      });
      return splitter;
    });

    const pid = child?.pid;
    const tree: RunTree | null = pid ? { rootPid: pid, runId, ...(cgroup && { cgroupDir: cgroup.dir }) } : null;
    if (tree) this.deps.onSpawn?.(tree);
    let timedOut = false;
    let killing: Promise<KillTreeResult> | null = null;
    // If even SIGKILL cannot end the tree (a process stuck in the kernel), stop waiting for it.
    let giveUp: (exit: Exit) => void = () => {};
    const gaveUp = new Promise<Exit>((r) => (giveUp = r));
    const kill = () => {
      if (tree && !killing) {
        killing = this.killTree(tree, spec.graceMs).then((res) => {
          if (res.survivors.length > 0) {
            giveUp({ code: null, signal: null, error: new Error(`pids ${res.survivors.join(", ")} survived SIGKILL`) });
          }
          return res;
        });
      }
      return killing;
    };
    const hardMs = spec.hardTimeoutSec * 1000;
    const timer =
      Number.isFinite(hardMs) && hardMs > 0
        ? setTimeout(() => {
            timedOut = true;
            note(`hard timeout (${spec.hardTimeoutSec}s) reached: killing the process tree`);
            void kill();
          }, Math.min(hardMs, MAX_TIMER_MS))
        : null;
    const onAbort = () => {
      note("run aborted: killing the process tree");
      void kill();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    // The samplers of concurrent runs share one read of the process table per half period.
    const rssIntervalMs = this.deps.rssIntervalMs ?? 200;
    // With a cgroup of its own, the run's processes are listed by the kernel (cgroup.procs): no walk
    // of every process on the machine five times a second. (Killing still looks wider: see process-list.)
    const sampler = tree
      ? new RssSampler(async () => (tree.cgroupDir ? cgroupMembers(tree.cgroupDir) : listRunPids(tree, this.platform, { maxAgeMs: rssIntervalMs / 2 })), {
          intervalMs: rssIntervalMs,
          platform: this.platform,
        })
      : null;
    sampler?.start();

    const exit = await Promise.race([exited, gaveUp]);
    const durationSec = (this.now() - started) / 1000;
    // Killed by a signal after its hard timeout had passed, though not by us: our timer could not
    // fire (this process was stopped) and the watchdog enforced the deadline instead.
    if (!timedOut && exit.signal && Number.isFinite(hardMs) && hardMs > 0 && durationSec * 1000 >= hardMs) {
      timedOut = true;
      note(`hard timeout (${spec.hardTimeoutSec}s) passed while this process was stopped: the run was killed by the watchdog`);
    }
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    if (exit.error) note(`${tree ? "gave up waiting for" : "failed to start"} ${JSON.stringify(spec.command)}: ${exit.error.message}`);

    // The main process is gone; nothing it started may outlive the run.
    if (killing) await killing;
    // A run confined by bubblewrap that entered its cgroup cannot leave it (the cgroup file system
    // is read-only inside the sandbox): the cgroup's members are all that can be left of it, read
    // from one file rather than from every process of the machine.
    const members = tree?.cgroupDir !== undefined && spec.sandbox?.kind === "bwrap" && cgroupEntered(tree.cgroupDir) ? tree.cgroupDir : null;
    const sweep = tree ? await this.killTree(tree, spec.graceMs, members ? async () => cgroupMembers(members) : undefined) : null;
    if (sweep?.survivors.length) note(`processes still alive after SIGKILL: ${sweep.survivors.join(", ")}`);
    // Output still in the pipes arrives before "close"; a holder we could not find must not hang us.
    if (tree) await closedWithin(closed, 1000);
    child?.stdout?.destroy();
    child?.stderr?.destroy();
    for (const s of splitters) s.end();
    const peakRss = sampler?.stop() ?? null;
    // Usually empty by now; when the last members are still leaving, it is removed in the background
    // (and any left by a killed orchestrator is swept later), so the next experiment need not wait.
    if (cgroup && !removeRunCgroup(cgroup.dir)) void removeRunCgroupWhenEmpty(cgroup.dir);
    sink.close();

    const scan = scanner.result();
    // A write the sandbox refused: the crash names the path and the fix.
    const refused = spec.sandbox && exit.code !== 0 && !timedOut ? readOnlyFailure(scan.tailLines) : null;
    return {
      ...(refused && { failure: refused }),
      exitCode: exit.code,
      signal: exit.signal,
      timedOut,
      durationSec,
      metric: scan.metric,
      memGb: scan.memGb ?? (peakRss !== null ? peakRss / GB : null),
      params: scan.params,
      ...(scan.steps !== undefined && { steps: scan.steps }),
      ...(scan.trainingSec !== undefined && { trainingSec: scan.trainingSec }),
      oom: scan.oom,
      tailLines: scan.tailLines,
    };
  }

  private killTree(tree: RunTree, graceMs: number, list?: () => Promise<number[]>): Promise<KillTreeResult> {
    return killRunTree({
      ...tree,
      graceMs,
      ...(list && { list }),
      platform: this.platform,
      pollMs: this.deps.pollMs,
      killWaitMs: this.deps.killWaitMs,
    });
  }
}

function emptyResult(): RunResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    durationSec: 0,
    metric: null,
    memGb: null,
    params: null,
    oom: false,
    tailLines: [],
  };
}
