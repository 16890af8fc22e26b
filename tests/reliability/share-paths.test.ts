import { lstatSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { readJsonl } from "./helpers.js";

/** Reads the shared data and the environment, as a real training script would. */
const TRAIN = `const fs = require("node:fs");
const LEARNING_RATE = 0.01;
const bytes = fs.readFileSync("data/train.bin").length + fs.readFileSync(".venv/lib/site.py").length;
// HOOK
console.log("val_loss: " + (1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1 + bytes * 0).toFixed(6));
`;

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "node train.js", "--yes"];

function project(): string {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n", ".gitignore": "data/\n.venv/\n", "README.md": "# project\n" });
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "data", "train.bin"), "0123456789");
  mkdirSync(join(root, ".venv", "lib"), { recursive: true });
  writeFileSync(join(root, ".venv", "lib", "site.py"), "# the user's environment\n");
  return root;
}

function userDataIntact(root: string): void {
  expect(lstatSync(join(root, "data", "train.bin")).isFile()).toBe(true);
  expect(readFileSync(join(root, "data", "train.bin"), "utf8")).toBe("0123456789");
  expect(lstatSync(join(root, ".venv", "lib")).isDirectory()).toBe(true);
  expect(readFileSync(join(root, ".venv", "lib", "site.py"), "utf8")).toBe("# the user's environment\n");
}

describe("--share paths are checked; nothing of the user's is ever moved or deleted", () => {
  it("a path inside another shared path (--share .venv/lib, --share data/train.bin) is shared with its parent, the user's files untouched", () => {
    const root = project();
    const result = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "1", "--tag", "nested", "--share", ".venv/lib", "--share", "./data/train.bin"], {}, 60_000);
    expect(result.code, result.stderr).toBe(0);
    userDataIntact(root);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records[0]?.status).toBe("keep");
    expect(records.every((r) => r.reason !== "violation")).toBe(true);
    // The clone reached the data through one link per share root.
    expect(result.stdout).toMatch(/linked into the experiment clone .*: \.venv, data/);
  }, 90_000);

  it("refuses (exit 2, naming the path and the fix) a path outside the checkout, the git dir, a tracked file, a path through a link, a path not there", () => {
    const root = project();
    const elsewhere = mkdtempSync(join(tmpdir(), "ar-elsewhere-"));
    writeFileSync(join(elsewhere, "x.bin"), "x");
    symlinkSync(elsewhere, join(root, "corpus"));
    writeFileSync(join(root, ".gitignore"), "data/\n.venv/\ncorpus\n");
    git(root, "commit", "-qam", "ignore corpus");
    const cases: [string, RegExp][] = [
      // Refused by the options' schema already, in its own words.
      ["../outside", /--share .*outside.*inside the repository/],
      [elsewhere, /--share .*inside the repository/],
      [".git/hooks", /--share .*\.git\/hooks|the git dir is the tool's and git's/],
      ["prepare.js", /prepare\.js is tracked by git/],
      ["corpus/x.bin", /corpus is a symbolic link, so corpus\/x\.bin is not in the checkout/],
      // A mistyped name: it linked nothing, and the baseline failed on the missing data with advice about the command.
      ["datasets", /--share "datasets": no such file or folder in /],
    ];
    for (const [path, message] of cases) {
      const result = cli(root, [...RUN, "--proposer", "builtin", "--max-iterations", "0", "--tag", "bad", "--share", path]);
      expect(result.code, `${path}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(/fix: /);
      expect(git(root, "branch", "--list", "autoresearch/bad")).toBe("");
    }
    userDataIntact(root);
    expect(readFileSync(join(elsewhere, "x.bin"), "utf8")).toBe("x");
  }, 90_000);

  it("a shared path that is a symbolic link is shared as what it points to: a run deleting a file there is seen", () => {
    const root = project();
    const real = mkdtempSync(join(tmpdir(), "ar-shards-"));
    writeFileSync(join(real, "shard1.bin"), "1");
    writeFileSync(join(real, "shard2.bin"), "2");
    symlinkSync(real, join(root, "shards"));
    writeFileSync(join(root, ".gitignore"), "data/\n.venv/\nshards\n");
    git(root, "commit", "-qam", "ignore shards");
    writeFileSync(
      join(root, "plan.jsonl"),
      `${JSON.stringify({ description: "delete a shard", category: "other", edits: [{ search: "// HOOK", replace: 'fs.rmSync("shards/shard2.bin");' }] })}\n`,
    );
    // Without a sandbox (with one, the deletion itself fails: tests/sandbox/ covers that) the manifest must see it.
    const result = cli(root, [...RUN, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "linked", "--share", "shards", "--sandbox", "off"], {}, 60_000);
    // Seen, recorded, and the session stops: nothing after it would be measured on the same data.
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/shared data changed during experiment \d+ \(deleted shards\/shard2\.bin\); the session stopped/);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => r.reason)).toEqual(["baseline", "violation"]);
    expect(records[1]?.detail).toMatch(/changed shared data: deleted shards\/shard2\.bin/);
    expect(lstatSync(join(root, "shards")).isSymbolicLink()).toBe(true);
  }, 90_000);
});
