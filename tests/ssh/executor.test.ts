/**
 * The ssh executor against real sshd's on loopback ports (tests/helpers/sshd.ts): the "hosts"
 * are this machine, so every check of what is left running looks at the real process table.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN_ID_ENV } from "../../src/runner/process-list.js";
import { SshExecutor } from "../../src/executors/ssh/executor.js";
import type { Executor, RunSpec } from "../../src/types.js";
import { WorkerClone } from "../../src/workspace/clone.js";
import { Git } from "../../src/workspace/git.js";
import { cloneHead, pushHead } from "../../src/workspace/push.js";
import { createRepo, git } from "../helpers/repo.js";
import { pidsWithEnv, type SshdFixture, sessionPids, sshdAvailable, startSshd, waitFor } from "../helpers/sshd.js";

const available = sshdAvailable();

const TRAIN = `#!/bin/sh
# prints its environment facts, a metric computed from a constant, and optionally waits
LR=1
echo "step 1"
echo "host_port: \${SSH_CONNECTION##* }"
echo "device: \${CUDA_VISIBLE_DEVICES:-none}"
echo "secret: \${ANTHROPIC_API_KEY:-absent}"
echo "local_path_leaked: $( [ "$PATH" = "/nonexistent/local/bin" ] && echo yes || echo no )"
echo "budget: \${AUTORESEARCH_TIME_BUDGET:-none}"
echo "pycache: \${PYTHONPYCACHEPREFIX:-none}"
if [ -n "$WAIT_FOR" ]; then while [ ! -e "$WAIT_FOR" ]; do sleep 0.05; done; fi
echo "val_bpb: $LR.5" >&2
`;

describe.skipIf(!available)("ssh executor (real sshd on loopback)", () => {
  let sshd: SshdFixture;
  let repo: string;
  let remoteDir: string;
  let work: string;
  let n = 0;

  beforeAll(async () => {
    sshd = await startSshd(2);
    repo = createRepo({ "train.sh": TRAIN, "prepare.sh": "echo prepared\n", "README.md": "# ssh\n" });
    remoteDir = mkdtempSync(join(tmpdir(), "ar-remote-"));
    work = mkdtempSync(join(tmpdir(), "ar-ssh-work-"));
  });
  afterAll(() => {
    sshd?.stop();
    for (const dir of [repo, remoteDir, work]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function executor(over: Partial<ConstructorParameters<typeof SshExecutor>[0]> = {}): SshExecutor {
    return new SshExecutor({
      remoteDir,
      repoKey: "repo-1234",
      tag: "t1",
      keep: ["data"],
      env: { ...process.env, AUTORESEARCH_SSH: sshd.sshCommand },
      connectTimeoutSec: 3,
      push: pushHead,
      head: cloneHead,
      ...over,
    });
  }

  /** A worker clone (as the loop makes them) at a new commit of the repo with `train.sh` changed by `edit`. */
  async function cloneAt(worker: number, edit?: (text: string) => string): Promise<{ clone: WorkerClone; sha: string }> {
    if (edit) {
      writeFileSync(join(repo, "train.sh"), edit(readFileSync(join(repo, "train.sh"), "utf8")));
      git(repo, "commit", "-qam", `experiment ${++n}`);
    }
    const sha = git(repo, "rev-parse", "HEAD");
    const clone = new WorkerClone(join(work, `w${worker}`), new Git(repo), join(repo, ".git", "objects"), []);
    await clone.prepare(sha);
    return { clone, sha };
  }

  function spec(cwd: string, over: Partial<RunSpec> = {}): RunSpec {
    return {
      cwd,
      command: "sh train.sh",
      env: { PATH: "/nonexistent/local/bin", HOME: "/nonexistent/home", ANTHROPIC_API_KEY: "sk-ant-test", CUDA_VISIBLE_DEVICES: "1", AUTORESEARCH_TIME_BUDGET: "5" },
      budgetSec: 5,
      hardTimeoutSec: 30,
      graceMs: 500,
      logPath: join(work, "logs", `run-${++n}.log`),
      metric: { name: "val_bpb" },
      host: "h1",
      worker: 0,
      ...over,
    };
  }

  it("runs the commit on the host, reads the metric, exports the run's variables only", async () => {
    const { clone, sha } = await cloneAt(0);
    const handles: unknown[] = [];
    const s = spec(clone.dir, { onHandle: (h) => handles.push(h), runId: "run-metric-1" });
    const result = await executor().run(s);
    const log = readFileSync(s.logPath, "utf8");
    expect(result.failure, log).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(result.metric).toBe(1.5);
    expect(log).toContain(`host_port: ${sshd.hosts[0]?.port}`);
    expect(log).toContain("device: 1");
    expect(log).toContain("budget: 5");
    // The proposer's key never reaches the host; this machine's PATH is not imposed on it.
    expect(log).toContain("secret: absent");
    expect(log).toContain("local_path_leaked: no");
    expect(log).not.toContain("autoresearch-exit");
    expect(handles).toEqual([{ kind: "ssh", id: "run-metric-1", host: "h1" }]);
    // The host's tree is exactly the commit.
    const remoteRepo = join(remoteDir, "repo-1234", "t1", "w0");
    expect(git(remoteRepo, "rev-parse", "HEAD")).toBe(sha);
  });

  it("sends the run's Python bytecode into its tree, unless the run's environment turns bytecode off", async () => {
    const { clone } = await cloneAt(0);
    const remoteTree = join(remoteDir, "repo-1234", "t1", "w0");
    const writing = spec(clone.dir);
    expect((await executor().run(writing)).exitCode).toBe(0);
    expect(readFileSync(writing.logPath, "utf8")).toContain(`pycache: ${remoteTree}/.autoresearch-pycache`);
    // No bytecode is written at all: a prefix would only hide the host environment's own.
    const off = spec(clone.dir, { env: { ...writing.env, PYTHONDONTWRITEBYTECODE: "1" } });
    expect((await executor().run(off)).exitCode).toBe(0);
    expect(readFileSync(off.logPath, "utf8")).toContain("pycache: none");
  });

  it("streams output while the run is still going", async () => {
    const { clone } = await cloneAt(0);
    const gate = join(work, `gate-${Date.now()}`);
    const lines: string[] = [];
    const running = executor().run(spec(clone.dir, { env: { WAIT_FOR: gate }, onLine: (l) => lines.push(l) }));
    await waitFor(() => lines.includes("step 1"), 20_000, "the first line while the run waits");
    let done = false;
    void running.then(() => (done = true));
    expect(done).toBe(false);
    writeFileSync(gate, "");
    const result = await running;
    expect(result.metric).toBe(1.5);
    expect(lines).toContain("val_bpb: 1.5");
  });

  it("pushes only new objects, and the push leaves the local clone's git state untouched", async () => {
    const remoteRepo = join(remoteDir, "repo-1234", "t1", "w1");
    const first = await cloneAt(1, (t) => t.replace("LR=1", "LR=2"));
    first.clone.beforeRun();
    expect((await executor().run(spec(first.clone.dir, { worker: 1 }))).metric).toBe(2.5);
    expect(await first.clone.inspect({})).toMatchObject({ violations: [], broken: false });
    const before = objectCount(remoteRepo);

    const second = await cloneAt(1, (t) => t.replace("LR=2", "LR=3"));
    second.clone.beforeRun();
    expect((await executor().run(spec(second.clone.dir, { worker: 1 }))).metric).toBe(3.5);
    // One changed file: its blob, the root tree and the commit; nothing of the first push again.
    expect(objectCount(remoteRepo) - before).toBe(3);
    const inspection = await second.clone.inspect({});
    expect(inspection).toMatchObject({ violations: [], broken: false });
    expect(git(second.clone.dir, "config", "--list", "--local")).not.toMatch(/remote\./);
    expect(git(second.clone.dir, "for-each-ref")).toBe("");
  });

  it("keeps the data the user prepared on the host and cleans the run's outputs", async () => {
    const { clone } = await cloneAt(2);
    const remoteRepo = join(remoteDir, "repo-1234", "t1", "w2");
    expect((await executor().run(spec(clone.dir, { worker: 2, command: "echo out > output.bin; sh train.sh" }))).exitCode).toBe(0);
    mkdirSync(join(remoteRepo, "data"), { recursive: true });
    writeFileSync(join(remoteRepo, "data", "shard.bin"), "tokens\n");
    const result = await executor().run(spec(clone.dir, { worker: 2, command: "test ! -e output.bin && cat data/shard.bin && sh train.sh" }));
    expect(result.exitCode).toBe(0);
    expect(result.tailLines).toContain("tokens");
  });

  it("kills the remote tree at the hard timeout (a child ignoring TERM included)", async () => {
    const { clone } = await cloneAt(0);
    const runId = `run-timeout-${Date.now()}`;
    const result = await executor().run(spec(clone.dir, { runId, hardTimeoutSec: 2, command: "sh -c 'trap \"\" TERM; sleep 300' & sleep 300" }));
    expect(result.timedOut).toBe(true);
    expect(result.failure).toBeUndefined();
    expect(pidsWithEnv(RUN_ID_ENV, runId)).toEqual([]);
  });

  it("kills the remote tree on abort (Ctrl-C)", async () => {
    const { clone } = await cloneAt(0);
    const runId = `run-abort-${Date.now()}`;
    const controller = new AbortController();
    const running = executor().run(spec(clone.dir, { runId, command: "sleep 300 & sleep 300" }), controller.signal);
    await waitFor(() => pidsWithEnv(RUN_ID_ENV, runId).length >= 2, 20_000, "the remote run's processes");
    controller.abort();
    const result = await running;
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).not.toBe(0);
    expect(pidsWithEnv(RUN_ID_ENV, runId)).toEqual([]);
  });

  it("a connection dropped mid-run is host-unreachable, and the wrapper kills the remote tree", async () => {
    const { clone } = await cloneAt(3);
    const runId = `run-drop-${Date.now()}`;
    const host = sshd.hosts[1] as NonNullable<SshdFixture["hosts"][number]>;
    const running = executor().run(spec(clone.dir, { runId, host: host.alias, worker: 3, command: "sleep 300 & sleep 300" }));
    await waitFor(() => pidsWithEnv(RUN_ID_ENV, runId).length >= 2, 20_000, "the remote run's processes");
    for (const pid of sessionPids(host.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    const result = await running;
    expect(result.failure?.reason).toBe("host-unreachable");
    expect(result.failure?.detail).toMatch(/connection to h2 ended/);
    await waitFor(() => pidsWithEnv(RUN_ID_ENV, runId).length === 0, 10_000, "the wrapper to kill the run after its input closed");
  });

  it("a host that refuses connections is host-unreachable", async () => {
    const { clone } = await cloneAt(0);
    const result = await executor().run(spec(clone.dir, { host: sshd.refusedAlias }));
    expect(result.failure?.reason).toBe("host-unreachable");
    expect(result.failure?.detail).toMatch(/refused/i);
    expect(result.metric).toBeNull();
  });

  it("an orchestrator killed with -9 leaves nothing running on the host, and there is no run to attach to (it is re-run)", async () => {
    const { clone } = await cloneAt(6);
    const runId = `run-kill9-${Date.now()}`;
    const dist = join(import.meta.dirname, "..", "..", "dist");
    const script = join(work, "orchestrator.mjs");
    writeFileSync(
      script,
      `import { SshExecutor } from ${JSON.stringify(join(dist, "executors/ssh/executor.js"))};
import { cloneHead, pushHead } from ${JSON.stringify(join(dist, "workspace/push.js"))};
const ex = new SshExecutor({ remoteDir: process.argv[2], repoKey: "repo-1234", tag: "t1", push: pushHead, head: cloneHead, connectTimeoutSec: 3 });
await ex.run({ cwd: process.argv[3], command: "sleep 300 & sleep 300", env: {}, budgetSec: 5, hardTimeoutSec: 600, graceMs: 500,
  logPath: process.argv[4], metric: { name: "val_bpb" }, host: "h1", worker: 6, runId: process.argv[5] });
`,
    );
    const child = spawn(process.execPath, [script, remoteDir, clone.dir, join(work, "kill9.log"), runId], { env: { ...process.env, AUTORESEARCH_SSH: sshd.sshCommand }, stdio: "ignore" });
    await waitFor(() => pidsWithEnv(RUN_ID_ENV, runId).length >= 2, 20_000, "the remote run's processes");
    child.kill("SIGKILL");
    await waitFor(() => pidsWithEnv(RUN_ID_ENV, runId).length === 0, 10_000, "the wrapper to kill the run once the dead orchestrator's connection closed");
    // Nothing to follow: resume runs the experiment again (tests/ssh/faults.test.ts).
    expect((executor() as Executor).attach).toBeUndefined();
  });

  it("two hosts are two servers: runs at the same time land on each", async () => {
    const { clone: a } = await cloneAt(4);
    const { clone: b } = await cloneAt(5);
    const [ra, rb] = await Promise.all([executor().run(spec(a.dir, { host: "h1", worker: 4 })), executor().run(spec(b.dir, { host: "h2", worker: 5 }))]);
    expect(ra.tailLines).toContain(`host_port: ${sshd.hosts[0]?.port}`);
    expect(rb.tailLines).toContain(`host_port: ${sshd.hosts[1]?.port}`);
  });
});

function objectCount(repo: string): number {
  const out = execFileSync("git", ["count-objects", "-v"], { cwd: repo, encoding: "utf8" });
  const field = (name: string) => Number(/^(\S+): (\d+)$/m.exec(out.split("\n").find((l) => l.startsWith(`${name}:`)) ?? "")?.[2] ?? 0);
  return field("count") + field("in-pack");
}
