import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalExecutor } from "../../src/executors/local.js";
import { createRunCgroup, removeRunCgroup } from "../../src/runner/cgroup.js";
import { type Launcher, launchLine } from "../../src/runner/launcher.js";
import type { RunTree } from "../../src/runner/process-list.js";
import { baseSpec, isRunning, makeTmp } from "./helpers.js";

const tmp = makeTmp("ar-launcher-");
afterAll(() => tmp.cleanup());

// What a run sees of itself: its environment, argv, directory, stdin and cgroup, as JSON on one line.
const SELF = `const fs = require("node:fs");
let stdin = null; try { stdin = fs.readlinkSync("/proc/self/fd/0"); } catch {}
let cgroup = null; try { cgroup = fs.readFileSync("/proc/self/cgroup", "utf8").split("\\n").find((l) => l.startsWith("0::")); } catch {}
console.log("SELF " + JSON.stringify({ env: process.env, argv: process.argv.slice(2), cwd: process.cwd(), stdin, cgroup, pid: process.pid, ppid: process.ppid }));
console.log("val_bpb: 1");`;
const selfScript = tmp.write("self.cjs", SELF);

function selfOf(log: string): { env: Record<string, string>; argv: string[]; cwd: string; stdin: string | null; cgroup: string | null; pid: number } {
  const line = readFileSync(log, "utf8")
    .split("\n")
    .find((l) => l.startsWith("SELF "));
  if (!line) throw new Error(`no SELF line in ${log}:\n${readFileSync(log, "utf8")}`);
  return JSON.parse(line.slice(5));
}

// A POSIX shell and /usr/bin/env run the line (a launcher exists on Linux only; macOS has both too).
describe.skipIf(process.platform === "win32")("launchLine", () => {
  it("sets exactly the run's environment, directory, stdin and argv, whatever their characters", () => {
    const dir = join(tmp.dir, "a dir with 'quotes' and $x");
    mkdirSync(dir, { recursive: true });
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", SPACES: "a b  c", QUOTES: `it's "x" $HOME \`id\``, LINES: "one\ntwo", EMPTY: "", SKIPPED: undefined };
    const argv = [process.execPath, selfScript, "x y", "$HOME", "*", "'", "a\nb"];
    const line = launchLine(dir, env, argv);
    expect(line.endsWith("\n")).toBe(true);
    // A shell reading the line on its stdin (as a launcher does) becomes the command.
    const out = spawnSync("/bin/sh", ["-s"], { input: line, encoding: "utf8", env: { JUNK: "not passed on" } });
    expect(out.status).toBe(0);
    const self = JSON.parse((out.stdout.split("\n").find((l) => l.startsWith("SELF ")) as string).slice(5));
    expect(self.argv).toEqual(argv.slice(2));
    expect(self.cwd).toBe(dir);
    // What stdin is, read from /proc (Linux).
    if (process.platform === "linux") expect(self.stdin).toBe("/dev/null");
    const { SKIPPED, ...expected } = env;
    expect(SKIPPED).toBeUndefined();
    expect(self.env).toEqual(expected);
  });
});

const probe = process.platform === "linux" ? createRunCgroup(`probe-l-${process.pid}`) : null;
if (probe) removeRunCgroup(probe.dir);
const available = probe !== null;

describe.skipIf(!available && !process.env.CI)("runs started by a launcher made ready during the run before (Linux, cgroup v2)", () => {
  const waitFor = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it("start in the cgroup of the id handed out ahead, with what a freshly spawned run gets", async () => {
    let tree: RunTree | null = null;
    const ex = new LocalExecutor({ onSpawn: (t) => (tree = t) });
    const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(selfScript)} arg`;
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", AUTORESEARCH_SEED: "7", ODD: "a 'b' $c\nd" };
    // The first id: nothing is ready yet, so this run is spawned afresh (and a launcher is made while it runs).
    const first = ex.newRunId();
    const one = await ex.run(baseSpec(tmp.dir, command, { runId: first, env, logPath: join(tmp.dir, "logs", "one.log") }));
    expect(one.exitCode).toBe(0);
    const spare = (ex as unknown as { spare: Launcher | null }).spare;
    expect(spare?.ready).toBe(true);
    // The second id is the launcher's; its shell is already in that id's cgroup before the run.
    const second = ex.newRunId();
    expect(second).toBe(spare?.runId);
    const spareCgroup = (spare as Launcher).cgroup.dir;
    await waitFor(() => readFileSync(join(spareCgroup, "cgroup.procs"), "utf8").trim() !== "");
    expect(readFileSync(join(spareCgroup, "cgroup.procs"), "utf8").trim()).toBe(String(spare?.child.pid));
    const two = await ex.run(baseSpec(tmp.dir, command, { runId: second, env, logPath: join(tmp.dir, "logs", "two.log") }));
    expect(two.exitCode).toBe(0);
    expect(two.metric).toBe(1);
    expect((tree as RunTree | null)?.rootPid).toBe(spare?.child.pid);
    const a = selfOf(join(tmp.dir, "logs", "one.log"));
    const b = selfOf(join(tmp.dir, "logs", "two.log"));
    // The run's cgroup is the one named by its id, and it is gone after the run.
    expect(b.cgroup).toMatch(new RegExp(`/autoresearch-run-${second}$`));
    expect(a.cgroup).toMatch(new RegExp(`/autoresearch-run-${first}$`));
    expect(existsSync(spareCgroup)).toBe(false);
    // The same environment (but each run's marker), directory, stdin and argv as the run spawned afresh.
    const { AUTORESEARCH_RUN_ID: idA, ...envA } = a.env;
    const { AUTORESEARCH_RUN_ID: idB, ...envB } = b.env;
    expect([idA, idB]).toEqual([first, second]);
    expect(envB).toEqual(envA);
    expect(envB.ODD).toBe(env.ODD);
    expect(b.cwd).toBe(a.cwd);
    expect(b.stdin).toBe(a.stdin);
    expect(b.argv).toEqual(["arg"]);
    // The session's end ends the launcher made during the second run, and removes its cgroup.
    const next = (ex as unknown as { spare: Launcher | null }).spare as Launcher;
    expect(next?.ready).toBe(true);
    await ex.close();
    await waitFor(() => !isRunning(next.child.pid as number));
    expect(isRunning(next.child.pid as number)).toBe(false);
    expect(existsSync(next.cgroup.dir)).toBe(false);
  }, 30_000);

  it("after warmUp (a session starting) the first run, too, starts in a launcher; one never used is ended by close", async () => {
    let tree: RunTree | null = null;
    const ex = new LocalExecutor({ onSpawn: (t) => (tree = t) });
    ex.warmUp();
    const spareOf = () => (ex as unknown as { spare: Launcher | null }).spare;
    await waitFor(() => spareOf()?.ready === true);
    const spare = spareOf() as Launcher;
    const id = ex.newRunId();
    expect(id).toBe(spare.runId);
    const result = await ex.run(baseSpec(tmp.dir, "true", { runId: id }));
    expect(result.exitCode).toBe(0);
    expect((tree as RunTree | null)?.rootPid).toBe(spare.child.pid);
    await ex.close();
    // A session that fails before its first run: the launcher made ready for it is ended with its cgroup.
    const unused = new LocalExecutor();
    unused.warmUp();
    await waitFor(() => (unused as unknown as { spare: Launcher | null }).spare?.ready === true);
    const waiting = (unused as unknown as { spare: Launcher | null }).spare as Launcher;
    expect(isRunning(waiting.child.pid as number)).toBe(true);
    await unused.close();
    await waitFor(() => !isRunning(waiting.child.pid as number));
    expect(isRunning(waiting.child.pid as number)).toBe(false);
    expect(existsSync(waiting.cgroup.dir)).toBe(false);
  }, 30_000);

  it("a run started by a launcher is killed with its whole tree at its hard timeout", async () => {
    const ex = new LocalExecutor();
    await ex.run(baseSpec(tmp.dir, "true", { runId: ex.newRunId() }));
    await new Promise((r) => setTimeout(r, 50));
    const id = ex.newRunId();
    const pids = join(tmp.dir, "pids");
    const result = await ex.run(baseSpec(tmp.dir, `sleep 30 & echo $! > ${pids}; sleep 30`, { runId: id, hardTimeoutSec: 1 }));
    expect(result.timedOut).toBe(true);
    const child = Number(readFileSync(pids, "utf8"));
    expect(isRunning(child)).toBe(false);
    await ex.close();
  }, 30_000);

  it("is not used for a run whose directory is gone (the run fails to start, as it would have) and is ended", async () => {
    const ex = new LocalExecutor();
    await ex.run(baseSpec(tmp.dir, "true", { runId: ex.newRunId() }));
    await new Promise((r) => setTimeout(r, 50));
    const spare = (ex as unknown as { spare: Launcher | null }).spare as Launcher;
    const id = ex.newRunId();
    expect(id).toBe(spare.runId);
    const result = await ex.run(baseSpec(join(tmp.dir, "missing"), "true", { runId: id, logPath: join(tmp.dir, "logs", "missing.log") }));
    expect(result.exitCode).toBeNull();
    expect(readFileSync(join(tmp.dir, "logs", "missing.log"), "utf8")).toMatch(/failed to start/);
    await new Promise((r) => setTimeout(r, 100));
    expect(isRunning(spare.child.pid as number)).toBe(false);
    await ex.close();
  }, 30_000);

  it("an unused launcher ends by itself when its orchestrator is gone (its stdin closes)", () => {
    // The built module (tests/global-setup.ts builds dist/), in a process that exits at once.
    const module = join(process.cwd(), "dist/runner/launcher.js");
    const script = `const { Launcher } = await import(${JSON.stringify(module)});
const l = Launcher.prepare();
console.log(l.child.pid, l.cgroup.dir);`;
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(out.status).toBe(0);
    const [pid, cgroup] = out.stdout.trim().split(" ");
    // The orchestrator exited at once: nothing it left waits.
    const deadline = Date.now() + 5000;
    while (isRunning(Number(pid)) && Date.now() < deadline) spawnSync("sleep", ["0.05"]);
    expect(isRunning(Number(pid))).toBe(false);
    // And it removed its cgroup on the way out (no watchdog knows of it).
    expect(existsSync(cgroup as string)).toBe(false);
  }, 30_000);
});
