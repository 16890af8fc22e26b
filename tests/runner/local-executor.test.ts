import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalExecutor } from "../../src/executors/local.js";
import { listRunPids, type RunTree } from "../../src/runner/process-list.js";
import { baseSpec, isRunning, makeTmp, NODE, pgidOf, pidsFrom } from "./helpers.js";

const posix = process.platform !== "win32";
const tmp = makeTmp("ar-exec-");
afterAll(() => tmp.cleanup());

/** An executor that records the run's root pid and marker. */
function recording(): { ex: LocalExecutor; tree: () => RunTree } {
  let tree: RunTree | null = null;
  const ex = new LocalExecutor({ onSpawn: (t) => (tree = t) });
  return {
    ex,
    tree: () => {
      if (!tree) throw new Error("not spawned");
      return tree;
    },
  };
}

// Ignores SIGTERM, starts a child that ignores SIGTERM too, both print their pid and hang.
const STUBBORN = `
const { spawn } = require("node:child_process");
process.on("SIGTERM", () => console.log("parent got SIGTERM"));
const c = spawn(process.execPath, ["-e", 'process.on("SIGTERM", () => {}); console.log("child pid " + process.pid); setInterval(() => {}, 1000)'], { stdio: "inherit" });
console.log("parent pid " + process.pid);
setInterval(() => {}, 1000);
`;

// Leaves a daemon behind: middle (setsid) starts a grandchild (setsid again) and exits; the
// grandchild ignores SIGTERM and keeps the output pipe open. The top process waits for the
// grandchild's pid, prints it, and exits 0.
const DAEMONIZE = `
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const pidFile = process.argv[2];
const grandchild = 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)';
const middle = 'const { spawn } = require("node:child_process"); spawn(process.execPath, ["-e", process.argv[1], process.argv[2]], { detached: true, stdio: "inherit" }).unref(); process.exit(0)';
spawn(process.execPath, ["-e", middle, grandchild, pidFile], { detached: true, stdio: "inherit" }).unref();
const t = setInterval(() => {
  if (fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8")) {
    clearInterval(t);
    console.log("daemon pid " + fs.readFileSync(pidFile, "utf8"));
    console.log("val_bpb: 0.5");
  }
}, 20);
`;

describe.skipIf(!posix)("LocalExecutor", () => {
  it("runs a command: exit 0, metric, memory and params read, log written", async () => {
    const script = tmp.write(
      "ok.cjs",
      `console.log("step 1 loss 3.0"); console.error("a warning"); console.log("---");
       console.log("val_bpb:          0.997900"); console.log("peak_vram_mb:     45060.2"); console.log("num_params_M:     50.3");`,
    );
    const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`, { logPath: join(tmp.dir, "ok", "run.log") });
    const r = await new LocalExecutor().run(spec);
    expect(r).toMatchObject({ exitCode: 0, signal: null, timedOut: false, metric: 0.9979, params: 50_300_000, oom: false });
    expect(r.memGb?.toFixed(1)).toBe("44.0");
    expect(r.durationSec).toBeGreaterThan(0);
    expect(r.durationSec).toBeLessThan(10);
    expect(r.tailLines).toContain("num_params_M:     50.3");
    const log = readFileSync(spec.logPath, "utf8");
    expect(log).toContain("step 1 loss 3.0\n");
    expect(log).toContain("a warning\n");
    expect(log).toContain("val_bpb:          0.997900\n");
  });

  it("reports a non-zero exit and still reads the metric printed before it; detects OOM", async () => {
    const script = tmp.write(
      "fail.cjs",
      `console.log("val_bpb: 1.25"); console.error("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"); process.exit(3);`,
    );
    const r = await new LocalExecutor().run(baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`));
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, metric: 1.25, oom: true });
    expect(r.tailLines.at(-1)).toContain("CUDA out of memory");
  });

  it("uses a custom metric pattern and reports no metric when none is printed", async () => {
    const ex = new LocalExecutor();
    const cmd = `echo "acc=0.5%"; echo "acc=0.75%"`;
    const withPattern = await ex.run(baseSpec(tmp.dir, cmd, { metric: { name: "acc", pattern: "^acc=([0-9.]+)%" } }));
    expect(withPattern.metric).toBe(0.75);
    const none = await ex.run(baseSpec(tmp.dir, cmd));
    expect(none).toMatchObject({ exitCode: 0, metric: null });
  });

  it("passes exactly spec.env plus the run marker, nothing else from process.env", async () => {
    process.env.AUTORESEARCH_TEST_SECRET = "leaked";
    try {
      const script = tmp.write("env.cjs", `console.log("ENV " + JSON.stringify(process.env));`);
      const { ex, tree } = recording();
      const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`);
      spec.env = { PATH: spec.env.PATH as string, ONLY_THIS: "yes" };
      const r = await ex.run(spec);
      const line = r.tailLines.find((l) => l.startsWith("ENV "));
      const env = JSON.parse((line ?? "ENV {}").slice(4)) as Record<string, string>;
      expect(env.AUTORESEARCH_TEST_SECRET).toBeUndefined();
      expect(env.HOME).toBeUndefined();
      expect(env.ONLY_THIS).toBe("yes");
      expect(env.AUTORESEARCH_RUN_ID).toBe(tree().runId);
      expect(Object.keys(env).filter((k) => !["PATH", "ONLY_THIS", "AUTORESEARCH_RUN_ID", "PWD", "SHLVL", "_"].includes(k))).toEqual([]);
    } finally {
      delete process.env.AUTORESEARCH_TEST_SECRET;
    }
  });

  it("kills a hanging run at the hard timeout within grace + 1 s", async () => {
    const spec = baseSpec(tmp.dir, `${NODE} -e "console.log('val_bpb: 2'); setInterval(() => {}, 1000)"`, {
      hardTimeoutSec: 1,
      graceMs: 300,
    });
    const started = Date.now();
    const r = await new LocalExecutor().run(spec);
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.exitCode === null ? r.signal : null).toBe("SIGTERM");
    expect(r.metric).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(1000 + 300 + 1000);
    expect(readFileSync(spec.logPath, "utf8")).toContain("hard timeout (1s) reached");
  });

  it("kills a tree that ignores SIGTERM (parent and child): zero survivors", async () => {
    const script = tmp.write("stubborn.cjs", STUBBORN);
    const { ex, tree } = recording();
    const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`, { hardTimeoutSec: 1.5, graceMs: 300 });
    const started = Date.now();
    const r = await ex.run(spec);
    const elapsed = Date.now() - started;
    const pids = pidsFrom(r.tailLines);
    expect([...pids.keys()].sort()).toEqual(["child", "parent"]);
    expect(r.tailLines).toContain("parent got SIGTERM"); // SIGTERM came first and was ignored
    expect(r.timedOut).toBe(true);
    expect(elapsed).toBeLessThan(1500 + 300 + 1000);
    for (const pid of pids.values()) expect(isRunning(pid), `pid ${pid}`).toBe(false);
    // The root is reaped by us, so it is gone for good. (Orphans reparented to a PID 1 that does
    // not reap — as in some containers/VMs — stay as zombies: isRunning counts those as gone.)
    expect(() => process.kill(tree().rootPid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    expect(await listRunPids(tree())).toEqual([]);
  });

  it("kills a shell that traps SIGTERM and its background children", async () => {
    const { ex, tree } = recording();
    const spec = baseSpec(tmp.dir, `trap '' TERM; sleep 30 & sleep 30 & echo "bg pid $!"; wait`, {
      hardTimeoutSec: 0.5,
      graceMs: 200,
    });
    const started = Date.now();
    const r = await ex.run(spec);
    expect(Date.now() - started).toBeLessThan(500 + 200 + 1000);
    expect(r.timedOut).toBe(true);
    const bg = pidsFrom(r.tailLines).get("bg");
    expect(bg).toBeDefined();
    expect(isRunning(bg as number)).toBe(false);
    expect(await listRunPids(tree())).toEqual([]);
  });

  it("kills a grandchild that left the group (setsid + double fork) when the run ends", async () => {
    const script = tmp.write("daemonize.cjs", DAEMONIZE);
    const pidFile = join(tmp.dir, "daemon.pid");
    const { ex, tree } = recording();
    let seenPgid: number | null = null;
    const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)} ${JSON.stringify(pidFile)}`, {
      hardTimeoutSec: 20,
      graceMs: 200,
    });
    const running = ex.run(spec);
    // While the run is alive, check the daemon really escaped the run's process group.
    for (let i = 0; i < 200 && seenPgid === null; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const text = existsSync(pidFile) ? readFileSync(pidFile, "utf8") : "";
      if (text) seenPgid = pgidOf(Number(text));
    }
    const r = await running;
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, metric: 0.5 });
    const daemon = pidsFrom(r.tailLines).get("daemon") as number;
    expect(daemon).toBeGreaterThan(1);
    if (process.platform === "linux") {
      expect(seenPgid).not.toBeNull();
      expect(seenPgid).not.toBe(tree().rootPid);
    }
    expect(isRunning(daemon)).toBe(false);
    expect(await listRunPids(tree())).toEqual([]);
  });

  it("stops on abort: tree killed, timedOut false", async () => {
    const script = tmp.write("stubborn2.cjs", STUBBORN);
    const { ex, tree } = recording();
    const ac = new AbortController();
    const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`, { hardTimeoutSec: 30, graceMs: 200 });
    const running = ex.run(spec, ac.signal);
    await new Promise((r) => setTimeout(r, 800));
    const abortedAt = Date.now();
    ac.abort();
    const r = await running;
    expect(Date.now() - abortedAt).toBeLessThan(200 + 1000);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBeNull();
    expect(await listRunPids(tree())).toEqual([]);
    for (const pid of pidsFrom(r.tailLines).values()) expect(isRunning(pid)).toBe(false);
    expect(r.tailLines).toContain("[autoresearch] run aborted: killing the process tree");
  });

  it("does not start when the signal is already aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    let spawned = false;
    const ex = new LocalExecutor({ onSpawn: () => (spawned = true) });
    const r = await ex.run(baseSpec(tmp.dir, "echo val_bpb: 1"), ac.signal);
    expect(spawned).toBe(false);
    expect(r).toMatchObject({ exitCode: null, metric: null, timedOut: false });
  });

  it("caps the log under an output flood and still reads the final metric", async () => {
    const script = tmp.write(
      "flood.cjs",
      `const chunk = ("x".repeat(99) + "\\n").repeat(10486);
       console.log("val_bpb: 9.9");
       for (let i = 0; i < 30; i++) process.stdout.write(chunk);
       process.stdout.write("val_bpb: 0.25\\npeak_vram_mb: 2048\\n");`,
    );
    const cap = 1024 * 1024;
    const spec = baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`, {
      maxLogBytes: cap,
      logPath: join(tmp.dir, "flood", "run.log"),
    });
    const r = await new LocalExecutor().run(spec);
    expect(r).toMatchObject({ exitCode: 0, metric: 0.25, memGb: 2 });
    const size = statSync(spec.logPath).size;
    expect(size).toBeLessThanOrEqual(cap + 100);
    expect(size).toBeGreaterThan(cap - 200);
    const log = readFileSync(spec.logPath, "utf8");
    expect(log.startsWith("val_bpb: 9.9\n")).toBe(true);
    expect(log).toMatch(/\n\[\.\.\. \d+ bytes elided \.\.\.\]\n/);
    expect(log.endsWith("val_bpb: 0.25\npeak_vram_mb: 2048\n")).toBe(true);
  });

  it("measures peak RSS of the tree when the output has no peak_vram_mb line", async () => {
    const script = tmp.write(
      "rss.cjs",
      `const b = Buffer.alloc(96 * 1024 * 1024, 1); setTimeout(() => console.log("val_bpb: 1 " + b[5]), 700);`,
    );
    const r = await new LocalExecutor({ rssIntervalMs: 100 }).run(baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`));
    expect(r.exitCode).toBe(0);
    expect(r.memGb).not.toBeNull();
    expect(r.memGb as number).toBeGreaterThan(96 / 1024);
    expect(r.memGb as number).toBeLessThan(2);
  });

  it("counts the memory of the run's children too (with a cgroup: its members, read from the kernel)", async () => {
    const child = tmp.write("child.cjs", `const b = Buffer.alloc(128 * 1024 * 1024, 1); setTimeout(() => process.exit(b[3] - 1), 900);`);
    const script = tmp.write(
      "parent.cjs",
      `const c = require("node:child_process").spawn(process.execPath, [${JSON.stringify(child)}], { stdio: "ignore", detached: true });
c.on("exit", (code) => console.log("val_bpb: " + (1 + code)));`,
    );
    const r = await new LocalExecutor({ rssIntervalMs: 100 }).run(baseSpec(tmp.dir, `${NODE} ${JSON.stringify(script)}`));
    expect(r.exitCode).toBe(0);
    expect(r.metric).toBe(1);
    expect(r.memGb as number).toBeGreaterThan(128 / 1024);
  });

  it("reports a command that cannot start (missing cwd) without hanging", async () => {
    const r = await new LocalExecutor().run(baseSpec(join(tmp.dir, "missing"), "echo hi", { logPath: join(tmp.dir, "m.log") }));
    expect(r.exitCode).toBeNull();
    expect(r.tailLines.join("\n")).toContain("failed to start");
  });
});
