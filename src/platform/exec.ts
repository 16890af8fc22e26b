/**
 * Runs a short helper process (the Python probe, nvidia-smi) with a hard timeout. A probe that
 * hangs is killed with its whole process group (`uv run` starts Python as a child) and reported
 * as timed out; nothing here throws.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (e.g. "ENOENT"). */
  error?: string;
}

export interface ExecOptions {
  cwd: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the process (its group) and answers at once, as a timeout does but not marked as one. */
  signal?: AbortSignal;
}

export type Exec = (argv: string[], options: ExecOptions) => Promise<ExecResult>;

const MAX_OUTPUT = 1024 * 1024;

function quoteWindows(arg: string): string {
  return /[\s"&|<>^()]/.test(arg) ? `"${arg.replace(/"/g, '""')}"` : arg;
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    if (process.platform === "win32") {
      spawn("taskkill", ["/pid", String(child.pid), "/T", "/F"], { stdio: "ignore", windowsHide: true }).on("error", () => {});
    } else {
      process.kill(-child.pid, "SIGKILL");
    }
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

export const execWithTimeout: Exec = (argv, { cwd, timeoutMs, env, signal }) =>
  new Promise<ExecResult>((resolve) => {
    const [file, ...args] = argv;
    if (!file) {
      resolve({ code: null, signal: null, stdout: "", stderr: "", timedOut: false, error: "empty command" });
      return;
    }
    const windows = process.platform === "win32";
    let stdout = "";
    let stderr = "";
    let settled = false;
    let child: ChildProcess;
    const finish = (result: Omit<ExecResult, "stdout" | "stderr">): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve({ ...result, stdout, stderr });
    };
    try {
      // Windows resolves .cmd/.bat shims (poetry, uv) only through the shell.
      child = windows
        ? spawn([file, ...args].map(quoteWindows).join(" "), { cwd, env: env ?? process.env, shell: true, windowsHide: true, stdio: ["ignore", "pipe", "pipe"] })
        : spawn(file, args, { cwd, env: env ?? process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      resolve({ code: null, signal: null, stdout, stderr, timedOut: false, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message });
      return;
    }
    const stop = (timedOut: boolean): void => {
      // Once it has ended its pid (and group) may be another process's.
      if (settled) return;
      killTree(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish({ code: null, signal: "SIGKILL", timedOut, ...(!timedOut && { error: "aborted" }) });
    };
    const timer = setTimeout(() => stop(true), timeoutMs);
    const onAbort = (): void => stop(false);
    if (signal?.aborted) stop(false);
    else signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += chunk.toString("utf8");
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += chunk.toString("utf8");
    });
    child.on("error", (error: NodeJS.ErrnoException) => finish({ code: null, signal: null, timedOut: false, error: error.code ?? error.message }));
    child.on("close", (code, signal) => {
      // cmd.exe reports a missing program as exit 9009 (or 1 with "is not recognized").
      if (windows && (code === 9009 || /is not recognized as an internal or external command/.test(stderr))) {
        finish({ code, signal, timedOut: false, error: "ENOENT" });
        return;
      }
      finish({ code, signal: signal ?? null, timedOut: false });
    });
  });
