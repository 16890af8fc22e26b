import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithCmd, startCli, userRefs, waitGone } from "../reliability/helpers.js";
import { describeSlurm, queuedJobs } from "./cluster.js";

// Sleeps ~1.5 s so the two workers' jobs are in the queue (and running) at the same time.
const TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DEPTH = 2;
const DROPOUT = 0.1;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05 + (DEPTH - 4) ** 2 * 0.01 + DROPOUT * 0.2;
console.log("val_loss: " + loss.toFixed(6));
`;

describeSlurm("a session on the SLURM cluster", () => {
  it("--executor slurm --workers 2: 6 experiments after the baseline, two jobs at once, every invariant, nothing left in the queue", async () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n" });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const refsBefore = userRefs(root);
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--timeout", "30s", "--metric", "val_loss", "--direction", "min"];
    args.push("--proposer", "builtin", "--tag", "slurm", "--yes", "--executor", "slurm", "--workers", "2", "--max-iterations", "6", "--json");
    const live = startCli(root, args);
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);

    const records = checkInvariants(root, { base, tag: "slurm", guarded, refsBefore, allowUntracked: ["results.tsv"] });
    // Six proposals after the baseline; a candidate whose parent stopped being the best while it ran is re-run (rebaseOf) on top.
    const reruns = records.filter((r) => r.rebaseOf !== undefined).length;
    expect(records.filter((r) => r.id > 0 && r.rebaseOf === undefined)).toHaveLength(6);
    expect(readFileSync(join(root, "results.tsv"), "utf8").trim().split("\n")).toHaveLength(1 + 7 + reruns);
    // Every experiment ran as a job: submitted (run-pending with its job id), its log written through the cluster.
    const jobs = live.events.filter((e) => e.type === "run-pending").map((e) => String(e.job));
    expect(new Set(jobs).size).toBeGreaterThanOrEqual(7);
    for (const r of records) {
      expect(r.pendingSec, `experiment ${r.id}`).toBeGreaterThanOrEqual(0);
      expect(readFileSync(recordPath(root, `runs/${r.id}.log`), "utf8")).toMatch(/submitted as SLURM job \d+/);
    }
    // Two workers, and two jobs running at the same time at least once.
    const ran = records.slice(1) as (ExperimentRecord & { runStartedAt: string })[];
    expect(new Set(ran.map((r) => r.worker))).toEqual(new Set([0, 1]));
    const overlapping = ran.some((a) => ran.some((b) => a !== b && a.runStartedAt < b.finishedAt && b.runStartedAt < a.finishedAt));
    expect(overlapping).toBe(true);
    // Nothing left: no job in the queue, no process of the session's runs.
    expect(queuedJobs(jobs)).toEqual([]);
    expect(await waitGone(() => processesWithCmd(join(root, ".git")), 2000)).toEqual([]);
  }, 240_000);
});

it("--executor slurm where sbatch is missing: exit 2 before the baseline, naming it and the fix; nothing kept", () => {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n" });
  const base = git(root, "rev-parse", "HEAD");
  // git and node only: this machine's SLURM commands cannot be found by chance.
  const bin = mkdtempSync(join(tmpdir(), "ar-bin-"));
  symlinkSync(execFileSync("which", ["git"], { encoding: "utf8" }).trim(), join(bin, "git"));
  symlinkSync(process.execPath, join(bin, "node"));
  const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
  args.push("--proposer", "builtin", "--tag", "nosbatch", "--yes", "--executor", "slurm", "--max-iterations", "1");
  const result = cli(root, args, { PATH: bin });
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toMatch(/sbatch is not on PATH/);
  expect(result.stderr).toMatch(/install the SLURM client commands/);
  expect(git(root, "branch", "--list", "autoresearch/*")).toBe("");
  expect(git(root, "rev-parse", "HEAD")).toBe(base);
  expect(existsSync(join(root, "results.tsv"))).toBe(false);
});
