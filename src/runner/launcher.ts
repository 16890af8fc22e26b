/**
 * A run's process made ready before the run (Linux with a per-run cgroup). Moving a process into a
 * cgroup waits for the kernel's RCU grace period (cgroup_threadgroup_rwsem): 8-19 ms when runs are
 * a moment apart, every run, on the path from one run's end to the next one's start. A launcher is
 * a shell that was started, and moved itself into the cgroup of a run id chosen ahead, while the
 * previous run trained; at the run it reads one line on its stdin (the run's directory, environment
 * and argv) and becomes the run with `exec`: the same pid, process group, cgroup, environment
 * (exactly the run's: `env -i`), directory and stdin (/dev/null) as a run started afresh.
 *
 * A launcher nobody used ends by itself when this process goes, even killed: its stdin closes, the
 * shell reads the end, moves itself back to this process's cgroup and removes the run's (a killed
 * orchestrator's watchdog does not know of it); `dispose()` ends it at once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { shellQuote } from "../text.js";
import { createRunCgroup, type RunCgroup, removeRunCgroup, removeRunCgroupWhenEmpty } from "./cgroup.js";
import { RUN_ID_ENV } from "./process-list.js";

/** `env` by its full path: the launcher's own environment is not the run's, so nothing is looked up in it. */
const ENV_BIN = "/usr/bin/env";

/**
 * Pure: the line that turns a waiting launcher into the run. It drops the launcher's clean-up on
 * exit (the executor's from here), makes its stdin /dev/null (as a run started with stdin ignored
 * has), goes to its directory, and `env -i` sets exactly `env` and becomes `argv` (found on the
 * run's PATH, as spawn would). One line: the shell parses all of it before the first command runs,
 * so replacing its stdin does not cut it short.
 */
export function launchLine(cwd: string, env: NodeJS.ProcessEnv, argv: readonly string[]): string {
  const vars = Object.entries(env)
    .filter((e): e is [string, string] => e[1] !== undefined && e[0] !== "" && !e[0].includes("="))
    .map(([k, v]) => shellQuote(`${k}=${v}`));
  return `trap - EXIT; exec </dev/null; cd -- ${shellQuote(cwd)} || exit 127; exec ${ENV_BIN} -i ${vars.join(" ")} ${argv.map(shellQuote).join(" ")}\n`;
}

export class Launcher {
  private exitedEarly = false;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly runId: string,
    readonly cgroup: RunCgroup,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedEarly = true;
        resolve({ code, signal });
      });
      child.once("error", () => {
        this.exitedEarly = true;
        resolve({ code: null, signal: null });
      });
    });
  }

  /**
   * Starts a launcher for a new run id, or null where there is no per-run cgroup (nothing to gain:
   * without the move a fresh spawn costs what this would) or `env` is missing.
   */
  static prepare(platform: NodeJS.Platform = process.platform): Launcher | null {
    if (platform !== "linux" || !existsSync(ENV_BIN)) return null;
    const runId = randomUUID();
    const cgroup = createRunCgroup(runId, platform);
    if (!cgroup) return null;
    let child: ChildProcess;
    try {
      // Its own process group (as every run), at / so that it holds no directory of ours while it waits.
      // One shell reading its stdin: first it moves itself into the cgroup and sets what it does if
      // its stdin ends unused (leave the cgroup, remove it); the launch line, later, drops that.
      child = spawn("/bin/sh", ["-s", cgroup.procsFile, join(dirname(cgroup.dir), "cgroup.procs")], {
        cwd: "/",
        env: { [RUN_ID_ENV]: runId },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
      });
      // A launcher that died is seen by `ready`; a write to it must not throw (EPIPE) in this process.
      child.stdin?.on("error", () => {});
      child.stdin?.write(`{ echo $$ > "$1"; } 2>/dev/null; trap '{ echo $$ > "$2"; } 2>/dev/null; rmdir "\${1%/*}" 2>/dev/null' EXIT\n`);
    } catch {
      removeRunCgroup(cgroup.dir);
      return null;
    }
    const launcher = new Launcher(runId, cgroup, child);
    if (child.pid === undefined) {
      void launcher.dispose();
      return null;
    }
    // Waiting keeps nothing of this process alive: a session may end with a launcher unused.
    launcher.setRef(false);
    return launcher;
  }

  /** Still waiting for its run (not ended by anything). */
  get ready(): boolean {
    return !this.exitedEarly && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Becomes the run: from here the child is the run's process, kept alive and followed as one. */
  launch(cwd: string, env: NodeJS.ProcessEnv, argv: readonly string[]): ChildProcess {
    this.setRef(true);
    this.child.stdin?.end(launchLine(cwd, env, argv));
    return this.child;
  }

  /** Ends an unused launcher and removes its cgroup. */
  async dispose(): Promise<void> {
    const waiting = this.ready && this.child.pid !== undefined;
    if (waiting) {
      try {
        process.kill(-(this.child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    // Reaped, it has left its cgroup: the removal needs no polling (a session's end waits for it).
    // Waited for as a live child (kept referenced), at most a second.
    if (waiting) {
      this.child.ref();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
    }
    if (!removeRunCgroup(this.cgroup.dir)) await removeRunCgroupWhenEmpty(this.cgroup.dir);
  }

  private setRef(on: boolean): void {
    for (const handle of [this.child, this.child.stdin, this.child.stdout, this.child.stderr]) {
      const h = handle as { ref?: () => void; unref?: () => void } | null;
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}
