import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { LocalExecutor } from "../../src/executors/local.js";
import { listRunPids, type RunTree } from "../../src/runner/process-list.js";
import type { RunSandbox } from "../../src/types.js";
import { describeBwrap } from "../helpers/bwrap.js";
import { baseSpec, isRunning, makeTmp, NODE, pgidOf, pidsFrom } from "../runner/helpers.js";

const tmp = makeTmp("ar-bwrap-kill-");
afterAll(() => tmp.cleanup());

/**
 * A run that builds a tree and then hangs: a child that ignores SIGTERM, and a daemon (setsid, a
 * middle process that exits, a grandchild that calls setsid again and ignores SIGTERM: out of the
 * run's process group and re-parented). Each prints its pid; the daemon's also goes to a file.
 */
const TREE = `
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const pidFile = process.argv[2];
const stubborn = 'process.on("SIGTERM", () => {}); console.log("child pid " + process.pid); setInterval(() => {}, 1000)';
const grandchild = 'process.on("SIGTERM", () => {}); require("fs").writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)';
const middle = 'const { spawn } = require("node:child_process"); spawn(process.execPath, ["-e", process.argv[1], process.argv[2]], { detached: true, stdio: "inherit" }).unref(); process.exit(0)';
process.on("SIGTERM", () => console.log("parent got SIGTERM"));
try { fs.writeFileSync(process.argv[3], "x"); console.log("outside written"); } catch (e) { console.log("outside " + e.code); }
spawn(process.execPath, ["-e", stubborn], { stdio: "inherit" });
spawn(process.execPath, ["-e", middle, grandchild, pidFile], { detached: true, stdio: "inherit" }).unref();
console.log("parent pid " + process.pid);
const t = setInterval(() => {
  if (fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8")) {
    clearInterval(t);
    console.log("daemon pid " + fs.readFileSync(pidFile, "utf8"));
    // "exit": the main process ends once the daemon is up, leaving the rest behind.
    if (process.argv[4] === "exit") setTimeout(() => process.exit(0), 200);
  }
}, 20);
setInterval(() => {}, 1000);
`;

/** A confined run of TREE in its own clone-like folder; resolves once the daemon has escaped the group (checked), with the run's outcome to await. */
async function startTree(name: string, over: { hardTimeoutSec?: number; signal?: AbortSignal; exit?: boolean }) {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  const script = tmp.write(`${name}.cjs`, TREE);
  const pidFile = join(dir, "daemon.pid");
  let tree: RunTree | null = null;
  const ex = new LocalExecutor({ onSpawn: (t) => (tree = t) });
  const sandbox: RunSandbox = { kind: "bwrap", writable: [dir], hidden: [], scratch: `${dir}.scratch` };
  const outside = join(tmp.dir, `${name}.outside`);
  const spec = baseSpec(dir, `${NODE} ${JSON.stringify(script)} ${JSON.stringify(pidFile)} ${JSON.stringify(outside)}${over.exit ? " exit" : ""}`, {
    sandbox,
    hardTimeoutSec: over.hardTimeoutSec ?? 60,
    graceMs: 300,
    logPath: join(tmp.dir, `${name}.log`),
  });
  const running = ex.run(spec, over.signal);
  let daemon = 0;
  for (let i = 0; i < 1000 && !daemon; i++) {
    await new Promise((r) => setTimeout(r, 10));
    daemon = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) || 0 : 0;
  }
  expect(daemon).toBeGreaterThan(1);
  const root = (tree as RunTree | null)?.rootPid;
  expect(root).toBeGreaterThan(1);
  // The daemon really left the run's process group (the group kill alone would miss it).
  expect(pgidOf(daemon)).not.toBe(pgidOf(root as number));
  return { running, daemon, tree: () => tree as unknown as RunTree };
}

async function expectAllGone(lines: readonly string[], daemon: number, tree: RunTree): Promise<void> {
  // It was confined: a write outside its folder failed in the run.
  expect(lines).toContain("outside EROFS");
  const pids = pidsFrom(lines);
  expect([...pids.keys()].sort()).toEqual(["child", "daemon", "parent"]);
  for (const pid of [...pids.values(), daemon]) expect(isRunning(pid), `pid ${pid}`).toBe(false);
  expect(await listRunPids(tree)).toEqual([]);
}

describeBwrap("the tree kill of a run confined by bubblewrap", () => {
  it("on abort: the whole tree is killed, the setsid double-forked daemon included, nothing left", async () => {
    const ac = new AbortController();
    const { running, daemon, tree } = await startTree("abort", { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 200)); // the parent has printed the daemon's pid
    ac.abort();
    const r = await running;
    expect(r.timedOut).toBe(false);
    expect(r.tailLines).toContain("[autoresearch] run aborted: killing the process tree");
    await expectAllGone(r.tailLines, daemon, tree());
  }, 60_000);

  // The sweep after a confined run's main process exits reads the run's cgroup alone (it cannot
  // leave it in the sandbox), not every process of the machine: the same nothing left.
  it("when its main process exits: what it left (the setsid double-forked daemon, a child that ignores SIGTERM) is killed, nothing left", async () => {
    const { running, daemon, tree } = await startTree("exit", { exit: true });
    const r = await running;
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(0);
    await expectAllGone(r.tailLines, daemon, tree());
  }, 60_000);

  it("at the hard timeout: the whole tree is killed, the setsid double-forked daemon included, nothing left", async () => {
    const { running, daemon, tree } = await startTree("timeout", { hardTimeoutSec: 3 });
    const r = await running;
    expect(r.timedOut).toBe(true);
    await expectAllGone(r.tailLines, daemon, tree());
  }, 60_000);
});

describeBwrap("the grace of a run confined by bubblewrap", () => {
  // The SIGTERM reaches the trainer, whose handler gets its grace before the SIGKILL: the sandbox
  // must not end the run's processes when its own shell dies (a pid namespace of its own with
  // --die-with-parent would: the kernel empties it the moment bwrap's first child ends).
  it("at the hard timeout a trainer that saves on SIGTERM finishes saving", async () => {
    const dir = join(tmp.dir, "grace");
    mkdirSync(dir, { recursive: true });
    const script = tmp.write("grace.cjs", `process.on("SIGTERM", () => setTimeout(() => { require("fs").writeFileSync("saved", "ok"); process.exit(3); }, 300)); console.log("ready"); setInterval(() => {}, 1000);`);
    const sandbox: RunSandbox = { kind: "bwrap", writable: [dir], hidden: [], scratch: `${dir}.scratch` };
    const r = await new LocalExecutor().run(baseSpec(dir, `${NODE} ${JSON.stringify(script)}`, { sandbox, hardTimeoutSec: 1, graceMs: 3000, logPath: join(tmp.dir, "grace.log") }));
    expect(r.timedOut).toBe(true);
    expect(r.tailLines).toContain("ready");
    expect(existsSync(join(dir, "saved"))).toBe(true);
  }, 60_000);
});
