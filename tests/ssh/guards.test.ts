/**
 * What a run on an ssh host may not do, against real sshd's on loopback ports: plant code that
 * the tool's next git command on the host would run (fsmonitor, a hook, a smudge filter), change
 * or delete the read-only script, leave a daemon behind. The "host" is this machine, so the marks
 * such code would leave and the processes left running are looked for here.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshExecutor } from "../../src/executors/ssh/executor.js";
import type { RunSpec } from "../../src/types.js";
import { WorkerClone } from "../../src/workspace/clone.js";
import { Git } from "../../src/workspace/git.js";
import { cloneHead, pushHead } from "../../src/workspace/push.js";
import { createRepo, git } from "../helpers/repo.js";
import { type SshdFixture, sshdAvailable, startSshd } from "../helpers/sshd.js";

const available = sshdAvailable();
const bwrap = existsSync("/usr/bin/bwrap");

const TRAIN = `#!/bin/sh
LR=0
echo "val_bpb: $LR.5"
`;

/** Processes whose command line is exactly `argv` (this machine is the host). */
function processesRunning(argv: string[]): number[] {
  const want = `${argv.join("\0")}\0`;
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "latin1") === want) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

describe.skipIf(!available)("a run on an ssh host cannot harm what it does not own (real sshd)", () => {
  let sshd: SshdFixture;
  let repo: string;
  let remoteDir: string;
  let work: string;
  let marks: string;
  let n = 0;
  let commits = 0;

  beforeAll(async () => {
    sshd = await startSshd(1);
    repo = createRepo({ "train.sh": TRAIN, "prepare.sh": "echo prepared\n", "README.md": "# ssh\n" });
    remoteDir = mkdtempSync(join(tmpdir(), "ar-guard-remote-"));
    work = mkdtempSync(join(tmpdir(), "ar-guard-work-"));
    marks = mkdtempSync(join(tmpdir(), "ar-guard-marks-"));
  });
  afterAll(() => {
    sshd?.stop();
    for (const dir of [repo, remoteDir, work, marks]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function executor(sandbox: "auto" | "off"): SshExecutor {
    return new SshExecutor({ remoteDir, repoKey: "repo-g", tag: "t1", keep: ["data"], env: { ...process.env, AUTORESEARCH_SSH: sshd.sshCommand }, connectTimeoutSec: 3, push: pushHead, head: cloneHead, sandbox });
  }

  /** A worker clone at a new commit (train.sh's constant changed, so the next checkout rewrites it). */
  async function nextCommit(worker: number): Promise<WorkerClone> {
    writeFileSync(join(repo, "train.sh"), TRAIN.replace("LR=0", `LR=${++commits}`));
    git(repo, "commit", "-qam", `experiment ${commits}`);
    const clone = new WorkerClone(join(work, `w${worker}-${commits}`), new Git(repo), join(repo, ".git", "objects"), []);
    await clone.prepare(git(repo, "rev-parse", "HEAD"));
    return clone;
  }

  function spec(cwd: string, command: string, worker: number): RunSpec {
    return { cwd, command, env: {}, budgetSec: 5, hardTimeoutSec: 60, graceMs: 500, logPath: join(work, `run-${++n}.log`), metric: { name: "val_bpb" }, host: "h1", worker };
  }

  const attacks: [string, (mark: string) => string][] = [
    ["sets core.fsmonitor", (mark) => `git config core.fsmonitor "touch ${mark}; false"`],
    ["writes .git/hooks/post-receive", (mark) => `mkdir -p .git/hooks && printf '#!/bin/sh\\ntouch ${mark}\\n' > .git/hooks/post-receive && chmod +x .git/hooks/post-receive`],
    ["adds a smudge filter", (mark) => `git config filter.pwn.smudge "touch ${mark}; cat" && mkdir -p .git/info && echo '* filter=pwn' > .git/info/attributes`],
  ];

  it.each(attacks.map(([name, plant], i) => [name, plant, 10 + i] as const))("a run that %s is a violation; nothing it planted runs on the tool's next git command there", async (name, plant, worker) => {
    const mark = join(marks, `ran-${worker}`);
    const first = await nextCommit(worker);
    const attacked = await executor("off").run(spec(first.dir, `${plant(mark)} && sh train.sh`, worker));
    expect(attacked.failure?.reason, name).toBe("violation");
    expect(attacked.failure?.detail).toMatch(/changed the git state of the repo on the host \(.+\); it was made again \(on h1\)/);
    // The next experiment: a push, a checkout and a clean on the host, by a new orchestrator process too.
    const second = await nextCommit(worker);
    const next = await executor("off").run(spec(second.dir, "sh train.sh", worker));
    expect(next.failure).toBeUndefined();
    expect(next.metric).toBe(commits + 0.5);
    expect(existsSync(mark), `${name}: the planted code ran`).toBe(false);
    const remoteRepo = join(remoteDir, "repo-g", "t1", `w${worker}`);
    expect(git(remoteRepo, "config", "--local", "--list")).not.toMatch(/fsmonitor|filter\.|hookspath/i);
    expect(existsSync(join(remoteRepo, ".git", "hooks"))).toBe(false);
  });

  it("appending to the read-only script on the host is a violation", async () => {
    const clone = await nextCommit(20);
    const result = await executor("off").run(spec(clone.dir, "echo 'import os' >> prepare.sh; sh train.sh", 20));
    expect(result.failure).toMatchObject({ reason: "violation", detail: "violation: modified prepare.sh (on h1)" });
  });

  it("deleting the read-only script on the host is a violation", async () => {
    const clone = await nextCommit(21);
    const result = await executor("off").run(spec(clone.dir, "rm prepare.sh; sh train.sh", 21));
    expect(result.failure).toMatchObject({ reason: "violation", detail: "violation: deleted prepare.sh (on h1)" });
  });

  it("the training script changed on the host (after the push) is a violation too", async () => {
    const clone = await nextCommit(22);
    const result = await executor("off").run(spec(clone.dir, "sh train.sh; echo '# tuned' >> train.sh", 22));
    expect(result.failure?.detail).toBe("violation: modified train.sh (on h1)");
  });

  it.skipIf(!bwrap)("in bubblewrap on the host: a daemon that drops the run's marker is killed with the run; the git dir cannot be written", async () => {
    const clone = await nextCommit(23);
    const argv = ["sleep", `${7000 + Math.floor(Math.random() * 1000)}`];
    const daemon = `env -i setsid ${argv.join(" ")} </dev/null >/dev/null 2>&1 &`;
    const result = await executor("auto").run(spec(clone.dir, `${daemon} touch .git/planted || echo refused; sh train.sh`, 23));
    expect(result.failure).toBeUndefined();
    expect(result.tailLines).toContain("refused");
    expect(result.metric).toBe(commits + 0.5);
    expect(processesRunning(argv)).toEqual([]);
  });
});
