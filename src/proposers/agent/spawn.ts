import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { killRunTree, RUN_ID_ENV } from "../../runner/process-tree.js";

export interface AgentRunSpec {
  command: string;
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  graceMs: number;
  logPath: string;
  signal?: AbortSignal;
  /**
   * Sees every complete output line (stdout and stderr) as it arrives; a string returned stops
   * the agent at once (its tree is killed) and comes back as `stoppedFor`.
   */
  watch?: (line: string) => string | null;
}

export interface AgentRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** What `watch` stopped the agent for, if it did. */
  stoppedFor: string | null;
  /** Everything the agent wrote to stdout (its structured output), up to the last 4 MB. */
  stdout: string;
  /** Last lines of stdout and stderr together. */
  tail: string[];
  durationSec: number;
}

const TAIL_LINES = 20;
const STDOUT_KEEP = 4 * 1024 * 1024;

/**
 * Runs the agent through the shell in its own process group (POSIX) with a marker in its
 * environment; on timeout or abort the whole tree is killed (SIGTERM, SIGKILL after the grace;
 * taskkill /T /F on Windows) by the runner's tree kill. Stragglers left after a normal exit are
 * killed too: an agent must not leave processes behind.
 */
export function runAgent(spec: AgentRunSpec): Promise<AgentRunResult> {
  const started = Date.now();
  const runId = `agent-${process.pid}-${randomBytes(6).toString("hex")}`;
  const log = createWriteStream(spec.logPath, { flags: "w" });
  let tailText = "";
  let stdoutText = "";
  let stoppedFor: string | null = null;
  let onStop: (() => void) | null = null;
  // Partial lines per stream, so a line split across chunks is watched whole.
  const pending = { out: "", err: "" };
  const watchLines = (stream: "out" | "err", text: string, flush = false) => {
    if (!spec.watch || stoppedFor !== null) return;
    const lines = (pending[stream] + text).split(/\r?\n/);
    pending[stream] = flush ? "" : (lines.pop() ?? "");
    for (const line of lines) {
      const reason = line.trim() ? spec.watch(line) : null;
      if (reason !== null) {
        stoppedFor = reason;
        onStop?.();
        return;
      }
    }
  };
  const keep = (stream: "out" | "err") => (chunk: Buffer) => {
    log.write(chunk);
    const text = chunk.toString("utf8");
    tailText = (tailText + text).slice(-8_000);
    if (stream === "out") stdoutText = (stdoutText + text).slice(-STDOUT_KEEP);
    watchLines(stream, text);
  };

  return new Promise<AgentRunResult>((resolve) => {
    const child = spawn(spec.command, {
      cwd: spec.cwd,
      env: { ...spec.env, [RUN_ID_ENV]: runId },
      shell: true,
      detached: process.platform !== "win32",
      windowsHide: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let timedOut = false;
    let aborted = false;
    let killing: Promise<unknown> | null = null;
    const killTree = () => {
      if (!killing && child.pid !== undefined) {
        killing = killRunTree({ rootPid: child.pid, runId, graceMs: spec.graceMs }).catch(() => undefined);
      }
      return killing ?? Promise.resolve();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      void killTree();
    }, spec.timeoutMs);
    const onAbort = () => {
      aborted = true;
      void killTree();
    };
    if (spec.signal?.aborted) onAbort();
    else spec.signal?.addEventListener("abort", onAbort, { once: true });
    onStop = () => void killTree();

    child.stdout?.on("data", keep("out"));
    child.stderr?.on("data", keep("err"));
    child.stdin?.on("error", () => {
      // The agent may exit without reading its stdin (EPIPE): not an error of ours.
    });
    child.stdin?.end(spec.stdin);

    let settled = false;
    const finish = async (exitCode: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      spec.signal?.removeEventListener("abort", onAbort);
      if (child.pid !== undefined) {
        // Anything still alive in the tree (a background helper, a hung grandchild) goes too.
        if (!killing) killing = killRunTree({ rootPid: child.pid, runId, graceMs: Math.min(spec.graceMs, 1_000) }).catch(() => undefined);
        await killing;
      }
      // Give the pipes a moment to drain, but never wait on a grandchild holding them open.
      await new Promise<void>((r) => {
        if (child.stdout?.readableEnded !== false && child.stderr?.readableEnded !== false) r();
        else {
          const t = setTimeout(r, 500);
          child.once("close", () => {
            clearTimeout(t);
            r();
          });
        }
      });
      child.stdout?.destroy();
      child.stderr?.destroy();
      await new Promise<void>((r) => log.end(r));
      // A last line without a newline is still evidence.
      watchLines("out", "", true);
      watchLines("err", "", true);
      const tail = tailText.split(/\r?\n/).filter((l) => l.trim().length > 0).slice(-TAIL_LINES);
      resolve({ exitCode, signal, timedOut, aborted, stoppedFor, stdout: stdoutText, tail, durationSec: (Date.now() - started) / 1000 });
    };
    child.once("error", (error) => {
      tailText += `\n${error.message}`;
      void finish(null, null);
    });
    child.once("exit", (code, signal) => void finish(code, signal));
  });
}
