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
}

export interface AgentRunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Last lines of stdout and stderr together. */
  tail: string[];
  durationSec: number;
}

const TAIL_LINES = 20;

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
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tailText = (tailText + chunk.toString("utf8")).slice(-8_000);
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

    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
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
      const tail = tailText.split(/\r?\n/).filter((l) => l.trim().length > 0).slice(-TAIL_LINES);
      resolve({ exitCode, signal, timedOut, aborted, tail, durationSec: (Date.now() - started) / 1000 });
    };
    child.once("error", (error) => {
      tailText += `\n${error.message}`;
      void finish(null, null);
    });
    child.once("exit", (code, signal) => void finish(code, signal));
  });
}
