import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { legacyPaths } from "../../src/ledger/paths.js";
import { asFailure } from "../../src/loop/research.js";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, readJsonl, startCli, userRefs } from "./helpers.js";

/** A training script that needs ignored data of the checkout (data/train.bin) and takes a moment. */
const DATA_TRAIN = `const fs = require("node:fs");
const LEARNING_RATE = 0.01;
const WIDTH = 16;
// HOOK
const bytes = fs.readFileSync("data/train.bin").length;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
const loss = 1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1 + Math.abs(Math.log2(WIDTH / 64)) * 0.05 + bytes * 0;
console.log("val_loss: " + loss.toFixed(6));
`;

function dataProject(): string {
  const root = createRepo({ "train.js": DATA_TRAIN, "prepare.js": "// read-only\n", ".gitignore": "data/\n", "README.md": "# project\n" });
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "data", "train.bin"), "0123456789");
  return root;
}

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "node train.js", "--yes"];

describe("the session never touches the user's checkout", () => {
  it("the user edits and commits on their branch while the loop runs: all of it stays, byte for byte; resume continues", async () => {
    const root = dataProject();
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const live = startCli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "2", "--tag", "night", "--json"]);
    await live.waitFor((e) => e.type === "run-start" && e.iteration === 1, 60_000);
    // The user keeps working: a committed change, an uncommitted edit of the training script, a new file.
    writeFileSync(join(root, "README.md"), "# project\n\nnotes from tonight\n");
    git(root, "commit", "-qam", "user: notes");
    const userHead = git(root, "rev-parse", "HEAD");
    const userTrain = `${DATA_TRAIN}// my own experiment, not committed\n`;
    writeFileSync(join(root, "train.js"), userTrain);
    writeFileSync(join(root, "scratch.txt"), "mine\n");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);

    // Every byte the user left is there; their branch is where they put it.
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(userTrain);
    expect(readFileSync(join(root, "scratch.txt"), "utf8")).toBe("mine\n");
    expect(git(root, "rev-parse", "main")).toBe(userHead);
    expect(git(root, "status", "--porcelain")).toBe(" M train.js\n?? scratch.txt".trim());
    // The research branch was built on the base only (the user's commit is not in it), and the runs read the shared data.
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records).toHaveLength(3);
    expect(records.every((r) => r.status !== "crash")).toBe(true);
    expect(git(root, "diff", "--name-only", base, "autoresearch/night")).toMatch(/^(train\.js)?$/);
    expect(readFileSync(join(root, "data", "train.bin"), "utf8")).toBe("0123456789");

    // Resume continues where it stopped, still without touching the checkout.
    git(root, "stash", "-q", "-u");
    const resumed = cli(root, ["resume", "--max-iterations", "3"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = checkInvariants(root, { base, tag: "night", guarded, userHead });
    expect(after).toHaveLength(4);
    git(root, "stash", "pop", "-q");
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(userTrain);
  }, 120_000);

  it("shared data is linked, not copied: without a sandbox a run that changes it stops the session (exit 1, what changed, how to go on); git clean in the clone never reaches it", () => {
    const root = dataProject();
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const refsBefore = userRefs(root);
    const steps = [
      { description: "clean everything ignored", category: "other", edits: [{ search: "// HOOK", replace: 'require("node:child_process").execSync("git clean -fdqX");' }] },
      { description: "append to the shared data", category: "other", edits: [{ search: "// HOOK", replace: 'fs.appendFileSync("data/train.bin", "!");' }] },
      { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }] },
    ];
    writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
    const result = cli(root, [...RUN, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "shared", "--sandbox", "off"], {}, 60_000);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/shared data changed during experiment 2 \(modified data\/train\.bin\); the session stopped/);
    expect(result.stderr).toMatch(/autoresearch resume/);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    const records = checkInvariants(root, { base, tag: "shared", guarded, refsBefore, allowUntracked: ["plan.jsonl"] });
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      // git clean removed the link in the clone (so that run found no data), never the data:
      // the next run had it again.
      ["crash", "exit-code"],
      ["crash", "violation"],
    ]);
    expect(records[2]?.detail).toMatch(/changed shared data: modified data\/train\.bin/);
    expect(readFileSync(join(root, "data", "train.bin"), "utf8")).toBe("0123456789!");
    expect(JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")).protection).toBe("manifest");
    // The user restores the data and resumes: the plan goes on from where it stopped.
    writeFileSync(join(root, "data", "train.bin"), "0123456789");
    const resumed = cli(root, ["resume"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = checkInvariants(root, { base, tag: "shared", guarded, refsBefore, allowUntracked: ["plan.jsonl"] });
    expect(after.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["crash", "exit-code"],
      ["crash", "violation"],
      ["keep", "improved"],
    ]);
  }, 90_000);

  it("--no-share links nothing (the run then lacks the data); --share adds a path of the user's choosing", () => {
    const root = dataProject();
    const bare = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "bare", "--no-share"], {}, 60_000);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/baseline run failed .*ENOENT|baseline run failed/);
    expect(JSON.parse(readFileSync(join(root, ".git/autoresearch/failed", readdirSync(join(root, ".git/autoresearch/failed"))[0] as string, "session.json"), "utf8")).config.share).toBe(false);
    // The data moved to a folder only --share names.
    renameSync(join(root, "data"), join(root, "corpus"));
    writeFileSync(join(root, "train.js"), DATA_TRAIN.replace('"data/train.bin"', '"corpus/train.bin"'));
    writeFileSync(join(root, ".gitignore"), "data/\ncorpus/\n");
    git(root, "commit", "-qam", "data in corpus/");
    const shared = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "corpus", "--share", "corpus"], {}, 60_000);
    expect(shared.code, shared.stderr).toBe(0);
    expect(readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"))[0]?.status).toBe("keep");
  }, 90_000);

  it("an unwritable run log ends the session with exit 1 and a clear message; resume after the fix runs that experiment", () => {
    const root = dataProject();
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const first = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "disk"], {}, 60_000);
    expect(first.code, first.stderr).toBe(0);
    // Where the next log goes (an experiment in flight logs under its key until it is numbered),
    // something that cannot be written as a file.
    mkdirSync(join(recordPath(root, "runs"), "pending-1.log", "blocked"), { recursive: true });
    const failed = cli(root, ["resume", "--max-iterations", "1"], {}, 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/error: .*run log/);
    expect(failed.stderr).not.toMatch(/internal error|\n\s+at /);
    rmSync(join(recordPath(root, "runs"), "pending-1.log"), { recursive: true });
    const resumed = cli(root, ["resume", "--max-iterations", "1"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(checkInvariants(root, { base, tag: "disk", guarded }).map((r) => r.id)).toEqual([0, 1]);
  }, 90_000);

  it("a full disk becomes a runtime failure naming the path and how to go on, not a stack trace", () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", path: "/x/records/experiments.jsonl" });
    const failure = asFailure(error) as Error & { exitCode: number; hint: string };
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toBe("could not write /x/records/experiments.jsonl: no space left on the device (ENOSPC)");
    expect(failure.hint).toMatch(/autoresearch resume/);
    const other = new TypeError("bug");
    expect(asFailure(other)).toBe(other);
  });

  it("an old-layout session (.autoresearch/ in the checkout) is moved out on the first report and resumes from there", () => {
    const root = dataProject();
    const base = git(root, "rev-parse", "HEAD");
    // Build a real session, then put its records back where the old layout kept them.
    const made = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "1", "--tag", "old"], {}, 60_000);
    expect(made.code, made.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    renameSync(recordPath(root), join(root, ".autoresearch"));
    rmSync(join(root, ".git", "autoresearch"), { recursive: true });
    writeFileSync(join(root, ".git", "info", "exclude"), "/.autoresearch/\n/results.tsv\n/autoresearch-summary.md\n/progress.svg\n/progress.png\n");
    expect(existsSync(legacyPaths(root).session)).toBe(true);

    const status = cli(root, ["status"], {}, 30_000);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/old layout/);
    const report = cli(root, ["report"], {}, 30_000);
    expect(report.code, report.stderr).toBe(0);
    expect(existsSync(join(root, ".autoresearch", "session.json"))).toBe(false);
    expect(readdirSync(recordPath(root))).toEqual(expect.arrayContaining(["session.json", "experiments.jsonl"]));
    const resumed = cli(root, ["resume", "--max-iterations", "2"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = checkInvariants(root, { base, tag: "old", guarded: hashes(root, ["prepare.js"]), allowUntracked: [] });
    expect(after).toHaveLength(3);
    expect(after.slice(0, 2)).toEqual(records);
  }, 90_000);
});
