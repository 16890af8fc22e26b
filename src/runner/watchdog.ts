/**
 * The run watchdog: a small detached process started with the session. The orchestrator tells
 * it over a pipe which runs are in flight (`run <runId> <graceMs> [deadline]` / `done <runId>`).
 * When the pipe closes without `exit` — the orchestrator died, even by SIGKILL — it kills every
 * such run's whole tree (by its marker) and exits (runs announced as `survives`, SLURM jobs, are
 * left to their own time limit and to `resume`, which follows them by job id), so no run outlives a killed orchestrator by more than its
 * grace. It also enforces each run's hard timeout by itself (a little after the orchestrator
 * would), so a stopped orchestrator (Ctrl-Z, SIGSTOP, a debugger) cannot let a run go on past it.
 * It holds no secrets: it is started with PATH only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { FROM_SOURCES, packagePath } from "../package-root.js";

export interface RunWatch {
  /**
   * `deadline`: wall-clock ms (Date.now()) of the run's hard timeout, if it has one. `survives`: a
   * run of a re-attachable executor (a SLURM job): left running when the orchestrator dies, for
   * `resume` to follow; its deadline is still enforced while the orchestrator lives.
   */
  running(runId: string, graceMs: number, deadline?: number, survives?: boolean): void;
  /** That run ended (the others in flight stay watched). */
  done(runId: string): void;
  /** The orchestrator is ending normally: the watchdog exits without killing anything. */
  close(): void;
}

/** Starts the watchdog, or returns null where it cannot run (sources run by a test runner, Windows). */
export function startWatchdog(): RunWatch | null {
  if (process.platform === "win32" || FROM_SOURCES) return null;
  // tsc's output, also from the bundled CLI (dist/cli-bundle): a process of its own, loaded alone.
  const script = packagePath("dist", "runner", "watchdog-main.js");
  if (!existsSync(script)) return null;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [script, String(process.pid)], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    });
  } catch {
    return null;
  }
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  child.unref();
  // The pipe must not keep the orchestrator's event loop alive.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  const send = (line: string) => {
    if (child.stdin && !child.stdin.destroyed) child.stdin.write(`${line}\n`);
  };
  return {
    running: (runId, graceMs, deadline, survives) =>
      send(`run ${runId} ${Math.max(0, Math.round(graceMs))} ${deadline !== undefined && Number.isFinite(deadline) ? Math.round(deadline) : "-"}${survives ? " survives" : ""}`),
    done: (runId) => send(`done ${runId}`),
    close: () => {
      send("exit");
      child.stdin?.end();
    },
  };
}
