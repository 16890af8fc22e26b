import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { listRunPids } from "../../src/runner/process-list.js";

const linux = process.platform === "linux";

/** A sleeping process in its own group (a run's root), killed by the test. */
function sleeper(): { pid: number; kill: () => void } {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });
  return { pid: child.pid as number, kill: () => child.kill("SIGKILL") };
}

describe.runIf(linux)("listRunPids: the memory samplers share one read of the process table", () => {
  it("a reader that accepts an older table gets the shared one; killing (no maxAgeMs) always reads afresh", async () => {
    const first = sleeper();
    const later: { pid: number; kill: () => void }[] = [];
    try {
      // A fresh read: the first run's root is in it, and it becomes the shared table.
      expect(await listRunPids({ rootPid: first.pid, runId: "r1" })).toEqual([first.pid]);
      const second = sleeper();
      later.push(second);
      // Within maxAgeMs the shared table is reused: a process started since is not in it yet
      // (16 runs sampling every 200 ms read /proc about twice a period, not 80 times a second).
      expect(await listRunPids({ rootPid: second.pid, runId: "r2" }, "linux", { maxAgeMs: 60_000 })).toEqual([]);
      // Killing reads afresh and sees it.
      expect(await listRunPids({ rootPid: second.pid, runId: "r2" })).toEqual([second.pid]);
      // An old table is never reused.
      const third = sleeper();
      later.push(third);
      await new Promise((r) => setTimeout(r, 30));
      expect(await listRunPids({ rootPid: third.pid, runId: "r3" }, "linux", { maxAgeMs: 10 })).toEqual([third.pid]);
    } finally {
      first.kill();
      for (const p of later) p.kill();
    }
  });
});
