import { describe, expect, it } from "vitest";
import { parsePsListing, selectRunPids } from "../../src/runner/process-list.js";
import { killRunTree, trySignal, windowsKillCommand } from "../../src/runner/process-tree.js";

describe("windowsKillCommand", () => {
  it("kills the tree forcefully by pid", () => {
    expect(windowsKillCommand(4242)).toEqual({ file: "taskkill", args: ["/T", "/F", "/PID", "4242"] });
  });
  it("refuses a non-pid", () => {
    expect(() => windowsKillCommand(0)).toThrow(RangeError);
    expect(() => windowsKillCommand(1.5)).toThrow(RangeError);
  });
});

describe("selectRunPids", () => {
  const tree = { rootPid: 100, runId: "abc" };
  const e = (pid: number, ppid: number, pgid: number, runId: string | null = null, zombie = false) => ({
    pid,
    ppid,
    pgid,
    runId,
    zombie,
  });
  it("takes the group, marked processes and their descendants; not zombies, others or itself", () => {
    const entries = [
      e(1, 0, 1),
      e(100, 50, 100, "abc"),
      e(101, 100, 100, "abc"),
      e(102, 101, 100, null, true), // zombie
      e(200, 1, 200, "abc"), // escaped with setsid, still marked
      e(201, 200, 201, null), // its child that cleared its env
      e(300, 1, 300, "other-run"),
      e(301, 1, 301, null),
      e(400, 1, 100, null), // group member without marker
      e(process.pid, 1, 999, "abc"),
    ];
    expect(selectRunPids(entries, tree)).toEqual([100, 101, 200, 201, 400]);
  });
});

describe("parsePsListing", () => {
  it("reads pid, ppid, pgid, zombie state and the marker from `ps -E` output", () => {
    const text = [
      "  501     1   501 Ss   /bin/zsh -l TERM=xterm HOME=/Users/me",
      "  777   501   777 S+   python train.py PATH=/usr/bin AUTORESEARCH_RUN_ID=abc-123 HOME=/x",
      "  778   777   777 Z    (python)",
      "  900     1   900 S    sleep 60 AUTORESEARCH_RUN_ID=zzz",
      "  901     1   901 S    sleep 60 MY_AUTORESEARCH_RUN_ID=abc-123",
      "garbage",
    ].join("\n");
    expect(parsePsListing(text)).toEqual([
      { pid: 501, ppid: 1, pgid: 501, zombie: false, runId: null },
      { pid: 777, ppid: 501, pgid: 777, zombie: false, runId: "abc-123" },
      { pid: 778, ppid: 777, pgid: 777, zombie: true, runId: null },
      { pid: 900, ppid: 1, pgid: 900, zombie: false, runId: "zzz" },
      { pid: 901, ppid: 1, pgid: 901, zombie: false, runId: null },
    ]);
  });
});

describe("trySignal", () => {
  it("never signals pid 0, 1, -1 or this process", () => {
    let calls = 0;
    const original = process.kill;
    process.kill = ((..._args: unknown[]) => {
      calls++;
      return true;
    }) as typeof process.kill;
    try {
      for (const pid of [0, 1, -1, process.pid, -process.pid, 1.5]) trySignal(pid, "SIGKILL");
      trySignal(2 ** 22 + 7, "SIGTERM");
    } finally {
      process.kill = original;
    }
    expect(calls).toBe(1);
  });
});

describe("killRunTree", () => {
  it("sends nothing when the run has no live process", async () => {
    const r = await killRunTree({ rootPid: 2 ** 22 + 12345, runId: "none", graceMs: 100, list: async () => [] });
    expect(r).toEqual({ survivors: [], signalled: false });
  });

  it("gives up after killWaitMs and reports survivors it cannot kill", async () => {
    // A pid above pid_max: signals fail with ESRCH, and the fake list keeps reporting it.
    const started = Date.now();
    const r = await killRunTree({
      rootPid: 2 ** 22 + 12346,
      runId: "x",
      graceMs: 50,
      killWaitMs: 100,
      pollMs: 10,
      list: async () => [2 ** 22 + 54321],
      platform: "linux",
    });
    expect(r).toEqual({ survivors: [2 ** 22 + 54321], signalled: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
