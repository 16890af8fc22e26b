import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, readJsonl, sleep, startCli } from "./helpers.js";

/** Reads prepare.js the way an evaluation would: a poisoned copy left in the clone fails the run. */
const TRAIN = `const fs = require("node:fs");
const LEARNING_RATE = 0.01;
if (fs.readFileSync("prepare.js", "utf8").includes("POISON")) { console.error("poisoned evaluation"); process.exit(3); }
// HOOK
const loss = 1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1;
console.log("val_loss: " + loss.toFixed(6));
`;

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "node train.js", "--yes"];

function project(): string {
  return createRepo({ "train.js": TRAIN, "prepare.js": "// read-only evaluation\n", "README.md": "# project\n" });
}

function plan(root: string, steps: { description: string; category: string; edits: { search: string; replace: string }[] }[]): void {
  writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
}

describe("guards a run cannot get around", () => {
  it("tags that are the tool's own names under .git/autoresearch are refused (exit 2), nothing created", () => {
    const root = project();
    for (const tag of ["current", "lock", "failed", "archive", "Lock", "current.1234.tmp"]) {
      const result = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", tag]);
      expect(result.code, `${tag}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`tag "${tag.replace(/\./g, "\\.")}" is a name the tool uses for its own files`));
      expect(result.stderr).toMatch(/fix: Pick another tag/);
      expect(git(root, "branch", "--list", `autoresearch/${tag}`)).toBe("");
    }
    expect(existsSync(join(root, ".git", "autoresearch", "current"))).toBe(false);
    // An ordinary tag still works afterwards.
    const ok = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "ok"]);
    expect(ok.code, ok.stderr).toBe(0);
  }, 90_000);

  it("a read-only file changed and hidden from git (assume-unchanged) is a violation, and the poisoned copy does not stay for later runs", () => {
    const root = project();
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const hide = 'fs.appendFileSync("prepare.js", "// POISON\\n"); require("node:child_process").execSync("git update-index --assume-unchanged prepare.js");';
    plan(root, [
      { description: "poison the evaluation and hide it", category: "other", edits: [{ search: "// HOOK", replace: hide }] },
      { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }] },
    ]);
    const result = cli(root, [...RUN, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "hidden"], {}, 60_000);
    expect(result.code, result.stderr).toBe(0);
    const records = checkInvariants(root, { base, tag: "hidden", guarded, allowUntracked: ["plan.jsonl"] });
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["crash", "violation"],
      // The next run read a clean prepare.js (a poisoned one exits 3).
      ["keep", "improved"],
    ]);
    expect(records[1]?.detail).toMatch(/modified prepare\.js/);
    expect(records[1]?.detail).toMatch(/hid changes to prepare\.js from git/);
    expect(readFileSync(join(root, "prepare.js"), "utf8")).toBe("// read-only evaluation\n");
  }, 90_000);

  it("a run that deletes the loop's lock file does not let a second loop start while the first lives", async () => {
    const root = project();
    const lock = join(root, ".git", "autoresearch", "lock");
    // From the clone (<git dir>/autoresearch/<tag>/w0), the lock is ../../lock.
    plan(root, [
      {
        description: "delete the lock, then take long",
        category: "other",
        edits: [{ search: "// HOOK", replace: 'fs.rmSync("../../lock", { force: true }); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);' }],
      },
    ]);
    // Without a sandbox, where a run can reach the lock file (with one, it cannot: tests/sandbox/).
    const first = startCli(root, [...RUN, "--budget", "30s", "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "one", "--json", "--sandbox", "off"]);
    try {
      await first.waitFor((e) => e.type === "run-start" && e.iteration === 1, 60_000);
      for (let i = 0; i < 100 && existsSync(lock); i++) await sleep(100);
      expect(existsSync(lock)).toBe(false);
      const second = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "two"]);
      expect(second.code, second.stderr).toBe(2);
      expect(second.stderr).toMatch(/another autoresearch loop is running in this repo/);
      expect(git(root, "branch", "--list", "autoresearch/two")).toBe("");
      const resume = cli(root, ["resume", "--max-iterations", "1"]);
      expect(resume.code, resume.stderr).toBe(2);
      expect(readFileSync(join(root, ".git", "autoresearch", "current"), "utf8").trim()).toBe("one");
    } finally {
      process.kill(-first.pid, "SIGKILL");
      await first.exited;
    }
    // Once the first is gone, the lock is free again.
    const after = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "three"]);
    expect(after.code, after.stderr).toBe(0);
    expect(readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"))[0]?.status).toBe("keep");
  }, 120_000);
});
