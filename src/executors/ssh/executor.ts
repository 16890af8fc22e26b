/**
 * Runs the experiment on an ssh host (RunSpec.host): the worker clone's commit is pushed into a
 * persistent repo per worker on the host, the remote wrapper checks it out and runs the command
 * in its own process group there, and its output streams back line by line into the run log,
 * the scanner and the live view. The hard timeout and Ctrl-C kill the remote group over a second
 * connection and close the first (the wrapper kills on its input closing too). A connection that
 * fails or drops before the wrapper's status line arrived is the host's fault, not the
 * experiment's: the result carries `failure: host-unreachable` and the scheduler retries later.
 *
 * The host gets the local guarantees: the tool's git there runs without hooks, fsmonitor, filters
 * or system/global config (the push included); the commit's tracked files are compared by content
 * after every run (the read-only files and the training script among them) and a change is a
 * violation; a repo whose git state changed is made again; the run is sandboxed with bubblewrap
 * when the host has it (see wrapper.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { RuntimeFailure } from "../../errors.js";
import { type Exec, execWithTimeout } from "../../platform/exec.js";
import type { Executor, RunResult, RunSpec } from "../../types.js";
import { LineSplitter } from "../../runner/line-splitter.js";
import { openRunLog } from "../../runner/run-log.js";
import { OutputScanner } from "../../runner/output-scanner.js";
import { RUN_ID_ENV } from "../../runner/process-list.js";
import { sanitizeEnv } from "../../runner/run-env.js";
import { remoteEnv } from "./remote-env.js";
import { NO_GIT, type PreparedRepo, parsePrepared, prepareCommand, PUSH_REF, pushUrl } from "./remote-repo.js";
import { DEFAULT_CONNECT_TIMEOUT_SEC, gitSshCommand, SSH_CONNECTION_FAILED, sshArgv } from "./ssh-command.js";
import { trackedBlobs } from "../../workspace/push.js";
import { type ExitStatus, killCommand, parseExitLine, parseViolationLine, treeManifest, wrapperCommand } from "./wrapper.js";

export interface SshExecutorOptions {
  /** Folder on each host for the trees (`~/...` is the remote home). */
  remoteDir: string;
  /** Names the user's repository on the hosts: `<name>-<hash of its path>`. */
  repoKey: string;
  tag: string;
  /** Repo-relative paths the user prepared on the hosts (data/, .venv): never cleaned away. */
  keep?: readonly string[];
  /** Variables the user passes to runs even though they look machine-local or secret. */
  passEnv?: readonly string[];
  /** The orchestrator's environment: AUTORESEARCH_SSH and what the ssh client needs (agent socket). */
  env?: NodeJS.ProcessEnv;
  connectTimeoutSec?: number;
  /** The wrapper kills the run by itself this long after the hard timeout (default 60 s). */
  deadlineMarginSec?: number;
  /** git lives in the workspace layer: the caller hands in the push and the clone's HEAD. */
  push: (cloneDir: string, url: string, ref: string, env: Record<string, string>, receivePack?: string) => Promise<{ code: number; stderr: string }>;
  head: (cloneDir: string) => Promise<string>;
  /** The clone's tracked files and blob ids (default: read with git from the clone). */
  tree?: (cloneDir: string) => Promise<{ blob: string; path: string }[]>;
  /** auto: runs in bubblewrap on hosts that can run it (the default); off: never. */
  sandbox?: "auto" | "off";
  exec?: Exec;
  now?: () => number;
  newRunId?: () => string;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long to wait for ssh to end after the kill, before killing the local client itself. */
const CLIENT_EXIT_WAIT_MS = 5000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

/** ssh's stderr when the connection itself failed (git reports those with its own exit status). */
/**
 * The program the push starts on the host: git without hooks (post-receive, proc-receive ...),
 * without system or global config, and without an automatic gc after the objects arrive.
 */
export const RECEIVE_PACK = "env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c receive.autogc=false -c receive.denyCurrentBranch=refuse receive-pack";

const CONNECTION_TROUBLE = /ssh: |Connection (refused|closed|reset|timed out)|Could not resolve|No route to host|Network is unreachable|Host key verification failed|Permission denied \(|Broken pipe|Could not read from remote repository/i;

export class SshExecutor implements Executor {
  readonly kind = "ssh";
  private readonly prepared = new Map<string, PreparedRepo>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly exec: Exec;
  private readonly now: () => number;
  private readonly connectTimeoutSec: number;

  constructor(private readonly options: SshExecutorOptions) {
    this.env = options.env ?? process.env;
    this.exec = options.exec ?? execWithTimeout;
    this.now = options.now ?? (() => performance.now());
    this.connectTimeoutSec = options.connectTimeoutSec ?? DEFAULT_CONNECT_TIMEOUT_SEC;
  }

  // No attach(): a run in flight when the orchestrator was killed cannot be followed (its wrapper
  // killed it when the dead orchestrator's connection closed), so resume runs it again (DESIGN).

  async run(spec: RunSpec, signal?: AbortSignal): Promise<RunResult> {
    const host = spec.host;
    if (!host) throw new RuntimeFailure("the ssh executor got a run without a host", "Give the hosts with --hosts gpu1,gpu2 (names from your ssh config).");
    const scanner = new OutputScanner(spec.metric);
    const { sink, note, lines } = openRunLog(spec, scanner);
    const finish = (fields: Partial<RunResult>): RunResult => {
      sink.close();
      return { ...emptyResult(), ...scanner.result(), ...fields };
    };
    if (signal?.aborted) {
      note("run aborted before it started");
      return finish({});
    }

    const started = this.now();
    // 1. The worker's repo on the host, and the commit pushed into it.
    const worker = spec.worker ?? 0;
    const ready = await this.prepare(host, worker);
    if ("failure" in ready) {
      note(ready.failure.detail);
      return finish({ durationSec: (this.now() - started) / 1000, failure: ready.failure });
    }
    const sha = await this.options.head(spec.cwd);
    const files = (await (this.options.tree ?? trackedBlobs)(spec.cwd)).filter((f) => !this.kept(f.path));
    const pushed = await this.options.push(spec.cwd, pushUrl(host, ready.repoDir), PUSH_REF, this.pushEnv(), RECEIVE_PACK);
    if (pushed.code !== 0) {
      const detail = `pushing ${sha.slice(0, 12)} to ${host}:${ready.repoDir} failed: ${lastLine(pushed.stderr)}`;
      note(detail);
      const reason = CONNECTION_TROUBLE.test(pushed.stderr) ? "host-unreachable" : "host-setup";
      // A repo the host lost or broke is made again next time.
      this.prepared.delete(`${host}\0${worker}`);
      return finish({ durationSec: (this.now() - started) / 1000, failure: { reason, detail } });
    }
    if (signal?.aborted) {
      note("run aborted before it started");
      return finish({ durationSec: (this.now() - started) / 1000 });
    }

    // 2. The run, under the wrapper.
    const runId = spec.runId ?? (this.options.newRunId ?? randomUUID)();
    const nonce = randomBytes(12).toString("hex");
    const pidFile = `${ready.remoteDir}/runs/${runId}.pgid`;
    const graceSec = spec.graceMs / 1000;
    const hardMs = spec.hardTimeoutSec * 1000;
    const remote = wrapperCommand({
      dir: ready.repoDir,
      sha,
      command: spec.command,
      env: { ...remoteEnv(spec.env, this.options.passEnv), [RUN_ID_ENV]: runId },
      runId,
      pidFile,
      deadlineSec: Number.isFinite(hardMs) && hardMs > 0 ? spec.hardTimeoutSec + (this.options.deadlineMarginSec ?? 60) : 7 * 24 * 3600,
      graceSec,
      nonce,
      keep: this.options.keep ?? [],
      sandbox: this.options.sandbox ?? "auto",
    });
    const runStarted = this.now();
    const [file, ...args] = sshArgv(host, remote, this.env, this.connectTimeoutSec) as [string, ...string[]];
    let child: ChildProcess | null = null;
    let exited: Promise<Exit>;
    try {
      // Its own process group: the terminal's Ctrl-C reaches the orchestrator, which decides.
      child = spawn(file, args, { env: this.clientEnv(), stdio: ["pipe", "pipe", "pipe"], detached: process.platform !== "win32", windowsHide: true });
      const proc = child;
      exited = new Promise<Exit>((resolve) => {
        proc.once("exit", (code, sig) => resolve({ code, signal: sig }));
        proc.once("error", (error) => resolve({ code: null, signal: null, error }));
      });
      proc.stdin?.on("error", () => {}); // the connection may be gone when we close it
      // The commit's file list comes first on the wrapper's input; the input then stays open (its end kills the run).
      proc.stdin?.write(treeManifest(files, nonce));
    } catch (err) {
      exited = Promise.resolve({ code: null, signal: null, error: err as Error });
    }
    spec.onStart?.();
    spec.onHandle?.({ kind: "ssh", id: runId, host });

    let status: ExitStatus | null = null;
    const violations: string[] = [];
    const closed = child ? new Promise<void>((r) => child?.once("close", () => r())) : Promise.resolve();
    const outSplitter = lines();
    child?.stdout?.on("data", (chunk: Buffer) => {
      sink.write(chunk);
      outSplitter.push(chunk);
    });
    // stderr line by line: the wrapper's status line is taken out of it, never logged or scanned.
    const errSplitter = new LineSplitter((line) => {
      const parsed = parseExitLine(line, nonce);
      if (parsed) {
        status = parsed;
        return;
      }
      const violation = parseViolationLine(line, nonce);
      if (violation !== null) {
        violations.push(violation);
        return;
      }
      sink.write(`${line}\n`);
      scanner.line(line);
      spec.onLine?.(line);
    });
    child?.stderr?.on("data", (chunk: Buffer) => errSplitter.push(chunk));

    let timedOut = false;
    let killing: Promise<void> | null = null;
    const kill = (): Promise<void> => {
      if (!killing) {
        killing = (async () => {
          const second = this.exec(sshArgv(host, killCommand(pidFile, graceSec), this.env, this.connectTimeoutSec), {
            cwd: spec.cwd,
            timeoutMs: (graceSec + this.connectTimeoutSec + 5) * 1000,
            env: this.clientEnv(),
          });
          child?.stdin?.end();
          await second;
          // A connection that hangs is not waited for: the wrapper's own deadline is the backstop.
          const gone = await Promise.race([exited.then(() => true), sleep(CLIENT_EXIT_WAIT_MS).then(() => false)]);
          if (!gone && child?.pid) trySignal(child.pid, "SIGKILL");
        })();
      }
      return killing;
    };
    const timer =
      Number.isFinite(hardMs) && hardMs > 0
        ? setTimeout(() => {
            timedOut = true;
            note(`hard timeout (${spec.hardTimeoutSec}s) reached: killing the process tree on ${host}`);
            void kill();
          }, Math.min(hardMs, MAX_TIMER_MS))
        : null;
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      note(`run aborted: killing the process tree on ${host}`);
      void kill();
    };
    signal?.addEventListener("abort", onAbort, { once: true });

    const exit = await exited;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
    await Promise.race([closed, sleep(1000)]);
    outSplitter.end();
    errSplitter.end();
    if (killing) await killing;
    child?.stdin?.destroy();
    const durationSec = (this.now() - runStarted) / 1000;
    const final = status as ExitStatus | null;
    // A run whose wrapper did not finish its checks, or could not set up, leaves a repo the next
    // run must not trust: prepare() checks it again (and makes it again when it changed).
    if (final === null || final.setup) this.prepared.delete(`${host}\0${worker}`);

    if (exit.error) {
      note(`could not start ssh (${file}): ${exit.error.message}`);
      return finish({ durationSec, failure: { reason: "host-unreachable", detail: `could not start ssh: ${exit.error.message}` } });
    }
    if (final === null) {
      // Killed by us and the connection closed before the status line: a timeout or an abort, not the host.
      if (timedOut || aborted) return finish({ durationSec, timedOut });
      const detail = `the connection to ${host} ended before the run did (ssh exit ${exit.code ?? exit.signal})`;
      note(detail);
      return finish({ durationSec, failure: { reason: "host-unreachable", detail } });
    }
    if (violations.length > 0) {
      const detail = `violation: ${violations.join("; ")} (on ${host})`;
      note(detail);
      return finish({ durationSec, timedOut, exitCode: final.signal ? null : final.code, signal: final.signal ? `SIG${final.signal}` : null, failure: { reason: "violation", detail } });
    }
    if (final.setup) {
      return finish({ durationSec, exitCode: final.code, failure: { reason: "host-setup", detail: `could not prepare the tree on ${host} (see the run log)` } });
    }
    return finish({
      durationSec,
      timedOut,
      exitCode: final.signal ? null : final.code,
      signal: final.signal ? `SIG${final.signal}` : null,
    });
  }

  /** The worker's repo on `host`, made once per process (cached); a failure says whose fault it is. */
  private async prepare(host: string, worker: number): Promise<PreparedRepo | { failure: { reason: string; detail: string } }> {
    const key = `${host}\0${worker}`;
    const known = this.prepared.get(key);
    if (known) return known;
    const { remoteDir, repoKey, tag } = this.options;
    const result = await this.exec(sshArgv(host, prepareCommand({ remoteDir, repoKey, tag, worker }), this.env, this.connectTimeoutSec), {
      cwd: process.cwd(),
      timeoutMs: (this.connectTimeoutSec + 60) * 1000,
      env: this.clientEnv(),
    });
    const repo = result.code === 0 ? parsePrepared(result.stdout) : null;
    if (repo) {
      this.prepared.set(key, repo);
      return repo;
    }
    const why = lastLine(result.stderr) || result.error || (result.timedOut ? "timed out" : `exit ${result.code}`);
    if (result.code === SSH_CONNECTION_FAILED || result.timedOut || result.error) {
      return { failure: { reason: "host-unreachable", detail: `cannot reach ${host} over ssh: ${why}` } };
    }
    const fix = result.code === NO_GIT ? "install git on the host" : `make ${remoteDir} writable on the host or choose another --remote-dir`;
    return { failure: { reason: "host-setup", detail: `cannot prepare ${remoteDir} on ${host}: ${why} (${fix}; autoresearch doctor checks this)` } };
  }

  /** A path under one the user prepared on the host (data/, .venv): not part of the commit's check. */
  private kept(path: string): boolean {
    return (this.options.keep ?? []).some((k) => {
      const dir = k.replace(/^\/+|\/+$/g, "");
      return path === dir || path.startsWith(`${dir}/`);
    });
  }

  /**
   * The local ssh client's environment: the orchestrator's without secrets (so no SendEnv in an
   * ssh config can forward an API key), but with the agent socket ssh authenticates through.
   */
  private clientEnv(): Record<string, string> {
    return sanitizeEnv(this.env, ["SSH_AUTH_SOCK", "SSH_AGENT_PID", "AUTORESEARCH_SSH"]);
  }

  private pushEnv(): Record<string, string> {
    const auth = this.env.SSH_AUTH_SOCK;
    return { GIT_SSH_COMMAND: gitSshCommand(this.env, this.connectTimeoutSec), ...(auth && { SSH_AUTH_SOCK: auth }) };
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).slice(-1)[0]?.trim() ?? "";
}

function trySignal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function emptyResult(): RunResult {
  return { exitCode: null, signal: null, timedOut: false, durationSec: 0, metric: null, memGb: null, params: null, oom: false, tailLines: [] };
}
