import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { cgroupEntered, cgroupShellArgs, createRunCgroup, parseCgroup2Mount, parseCgroup2Path, removeRunCgroup, runIdOfCgroup } from "../../src/runner/cgroup.js";
import { LocalExecutor } from "../../src/executors/local.js";
import { type RunTree, selectRunPids } from "../../src/runner/process-list.js";
import { baseSpec, isRunning, makeTmp, NODE } from "./helpers.js";

const tmp = makeTmp("ar-cgroup-");
afterAll(() => tmp.cleanup());

describe("cgroup v2 parsing", () => {
  it("finds the cgroup2 mount among v1 mounts, and a process's v2 path", () => {
    const mountinfo = [
      "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
      "35 25 0:31 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw",
    ].join("\n");
    expect(parseCgroup2Mount(mountinfo)).toBe("/sys/fs/cgroup/unified");
    expect(parseCgroup2Mount("30 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory")).toBeNull();
    expect(parseCgroup2Path("4:memory:/x\n0::/user.slice/session-2.scope\n")).toBe("/user.slice/session-2.scope");
    expect(parseCgroup2Path("4:memory:/x\n")).toBeNull();
    expect(runIdOfCgroup("/a/autoresearch-run-1234-abcd")).toBe("1234-abcd");
    expect(runIdOfCgroup("/a/other")).toBeNull();
  });

  it("selects cgroup members (listed, or found by their cgroup) and their descendants", () => {
    const entries = [
      { pid: 10, ppid: 1, pgid: 10, zombie: false, runId: null },
      { pid: 11, ppid: 10, pgid: 11, zombie: false, runId: null },
      { pid: 20, ppid: 1, pgid: 20, zombie: false, runId: null, cgroupRunId: "r1" },
      { pid: 30, ppid: 1, pgid: 30, zombie: false, runId: null, cgroupRunId: "other" },
    ];
    expect(selectRunPids(entries, { rootPid: -1, runId: "r1" }, 999, [10])).toEqual([10, 11, 20]);
    expect(selectRunPids(entries, { rootPid: -1, runId: "r1" }, 999)).toEqual([20]);
  });

  it("moves the shell into the cgroup before it becomes the command, keeping the command verbatim", () => {
    const { file, args } = cgroupShellArgs("/sys/fs/cgroup/x/cgroup.procs", ["/bin/sh", "-c", "python train.py --name 'a b' && echo \"$HOME\""]);
    expect(file).toBe("/bin/sh");
    expect(args[1]).toContain('exec "$@"');
    expect(args.slice(2)).toEqual(["/sys/fs/cgroup/x/cgroup.procs", "/bin/sh", "-c", "python train.py --name 'a b' && echo \"$HOME\""]);
    // The shell moves itself in, then becomes the argv as given (no word of it split or expanded).
    const out = spawnSync(file, ["-c", args[1] as string, "/dev/null", "printf", "%s|", "a b", "$HOME", "*"], { encoding: "utf8" });
    expect(out.stdout).toBe("a b|$HOME|*|");
  });
});

// A process that leaves every other trace: a double fork, setsid, non-dumpable, and an exec with
// an empty environment (no run marker), re-parented to init while the run exits normally.
const ESCAPE = `
const { spawn } = require("node:child_process");
const token = process.argv[2];
const py = [
  "import os, ctypes, time",
  "if os.fork() == 0:",
  "    os.setsid()",
  "    if os.fork() == 0:",
  "        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)",
  "        os.execve('/bin/sleep', ['sleep', '" + "' + token + '" + "'], {})",
  "    os._exit(0)",
  "os.wait()",
].join("\\n");
const c = spawn("python3", ["-c", py], { stdio: "ignore" });
c.on("exit", () => console.log("val_bpb: 0.5"));
`;

function sleepersWith(token: string): number[] {
  const { readdirSync, readFileSync } = require("node:fs") as typeof import("node:fs");
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "latin1").split("\0");
      if (cmd[0] === "sleep" && cmd[1] === token && isRunning(Number(name))) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

const probe = process.platform === "linux" ? createRunCgroup(`probe-${process.pid}`) : null;
if (probe) removeRunCgroup(probe.dir);
const available = probe !== null;
if (!available && !process.env.CI) console.warn("skipping cgroup tracking tests: no writable cgroup v2 here (Linux with cgroup v2 delegation needed)");

describe.skipIf(!available && !process.env.CI)("a run's own cgroup (Linux, cgroup v2)", () => {
  it("is available where CI runs, and AUTORESEARCH_CGROUP=off turns it off", () => {
    expect(available).toBe(true);
    expect(createRunCgroup(`off-${process.pid}`, "linux", { AUTORESEARCH_CGROUP: "off" })).toBeNull();
  });

  it("says whether the run's shell entered it (the sweep after a confined run reads its members alone only then)", () => {
    const cgroup = createRunCgroup(`entered-${process.pid}`, "linux") as NonNullable<ReturnType<typeof createRunCgroup>>;
    expect(cgroup).not.toBeNull();
    expect(cgroupEntered(cgroup.dir)).toBe(false);
    const { file, args } = cgroupShellArgs(cgroup.procsFile, ["true"]);
    expect(spawnSync(file, args).status).toBe(0);
    expect(cgroupEntered(cgroup.dir)).toBe(true);
    expect(removeRunCgroup(cgroup.dir)).toBe(true);
    expect(cgroupEntered(cgroup.dir)).toBe(false);
  });

  it("kills a process that double-forked, called setsid, became non-dumpable and dropped the marker", async () => {
    const token = `${600 + (process.pid % 100)}.${Date.now() % 1000}`;
    const script = tmp.write("escape.cjs", ESCAPE);
    let tree: RunTree | null = null;
    const ex = new LocalExecutor({ onSpawn: (t) => (tree = t) });
    const result = await ex.run(baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)} ${token}`));
    expect(result.exitCode).toBe(0);
    expect(result.metric).toBe(0.5);
    const t = tree as RunTree | null;
    expect(t?.cgroupDir).toMatch(/autoresearch-run-/);
    // Nothing of the run is left, and its cgroup was removed.
    expect(sleepersWith(token)).toEqual([]);
    expect(existsSync(t?.cgroupDir ?? "/nonexistent")).toBe(false);
  }, 30_000);
});
