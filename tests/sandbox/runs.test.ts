import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { describeBwrap } from "../helpers/bwrap.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { readJsonl } from "../reliability/helpers.js";

/** Reads every shard of the ignored data/ folder; // HOOK is where a plan step does its damage. */
const TRAIN = `const fs = require("node:fs");
const LEARNING_RATE = 0.01;
// HOOK
const bytes = fs.readdirSync("data").map((f) => fs.readFileSync("data/" + f).length).reduce((a, b) => a + b, 0);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
console.log("val_loss: " + (1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1 + bytes * 0).toFixed(6));
`;
const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "node train.js", "--yes", "--proposer", "plan", "--plan", "plan.jsonl"];
const hook = (description: string, replace: string) => ({ description, category: "other", edits: [{ search: "// HOOK", replace }] });
const BETTER = { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }] };

/** A project whose data/ holds shard1..3.bin; `linked`: data/ is a symlink to a folder outside the checkout. */
function project(steps: object[], linked = false): string {
  const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n", ".gitignore": "data\n.venv/\n", "README.md": "# project\n" });
  const data = linked ? mkdtempSync(join(tmpdir(), "ar-data-")) : join(root, "data");
  mkdirSync(data, { recursive: true });
  for (const n of [1, 2, 3]) writeFileSync(join(data, `shard${n}.bin`), `shard ${n}\n`);
  if (linked) symlinkSync(data, join(root, "data"));
  mkdirSync(join(root, ".venv", "lib", "site-packages"), { recursive: true });
  writeFileSync(join(root, ".venv", "lib", "site-packages", "numpy.py"), "# the user's\n");
  writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
  return root;
}

describeBwrap("runs in the bubblewrap sandbox", () => {
  for (const linked of [false, true]) {
    it(`a run cannot delete shared data${linked ? " (data/ a symlink in the checkout)" : ""}: the write fails in the run, the crash names the path and the fix, later results are measured on the same data`, () => {
      const root = project([hook("delete a shard", 'fs.rmSync("data/shard3.bin");'), BETTER], linked);
      const result = cli(root, [...RUN, "--tag", "rm"], {}, 90_000);
      expect(result.code, result.stderr).toBe(0);
      expect(readFileSync(join(root, "data", "shard3.bin"), "utf8")).toBe("shard 3\n");
      const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
      expect(records.map((r) => [r.status, r.reason])).toEqual([
        ["keep", "baseline"],
        ["crash", "read-only"],
        ["keep", "improved"],
      ]);
      expect(records[1]?.detail).toMatch(/^wrote to \S*data\/shard3\.bin, which the sandbox keeps read-only .*: write outputs inside the working tree$/);
      const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8"));
      expect(session.protection).toBe("bwrap");
      expect(session.config.sandbox).toBe("auto");
    }, 120_000);
  }

  it("a --check (never confined) that changes shared data stops the session, blamed on what can write there, not on a missing sandbox", () => {
    const root = project([BETTER]);
    writeFileSync(join(root, "check.js"), 'require("node:fs").appendFileSync("data/shard1.bin", "!");\n');
    git(root, "add", "check.js");
    git(root, "commit", "-qm", "a check that writes to the data");
    const result = cli(root, [...RUN, "--tag", "chk", "--check", "node check.js"], {}, 90_000);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/shared data changed during experiment 1 \(modified data\/shard1\.bin\); the session stopped/);
    expect(result.stderr).toMatch(/The runs are sandboxed and cannot write it: a --check command \(checks are not confined\), you, or another process/);
    expect(result.stderr).not.toMatch(/install bubblewrap/);
  }, 120_000);

  it("a package install in a run cannot write the user's .venv; the records, the lock and the user's .git are out of reach", () => {
    const root = project([
      hook("pip install into the shared environment", 'fs.writeFileSync(".venv/lib/site-packages/numpy.py", "# planted\\n");'),
      hook(
        "look for the tool's state",
        'const seen = fs.existsSync("../records") || fs.existsSync("../../lock"); let hooks = "ok"; try { fs.writeFileSync("../../../hooks/post-commit", "x"); hooks = "written"; } catch (e) { hooks = e.code; } console.log("seen " + seen + " hooks " + hooks);',
      ),
    ]);
    const result = cli(root, [...RUN, "--tag", "pip"], {}, 90_000);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(root, ".venv", "lib", "site-packages", "numpy.py"), "utf8")).toBe("# the user's\n");
    expect(existsSync(join(root, ".git", "hooks", "post-commit"))).toBe(false);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["crash", "read-only"],
      ["discard", "no-change"],
    ]);
    expect(records[1]?.detail).toMatch(/wrote to \S*\.venv\/lib\/site-packages\/numpy\.py/);
    const log = readFileSync(recordPath(root, join("runs", readdirSync(recordPath(root, "runs")).find((f) => f.startsWith("2")) as string)), "utf8");
    expect(log).toMatch(/seen false hooks EROFS/);
  }, 120_000);

  it("with --workers 3 only the run that wrote to the shared data is blamed", () => {
    const root = project([
      hook("append to a shard", 'fs.appendFileSync("data/shard1.bin", "!");'),
      BETTER,
      { description: "LEARNING_RATE 0.01 -> 0.02", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }] },
    ]);
    const result = cli(root, [...RUN, "--tag", "three", "--workers", "3"], {}, 90_000);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    // The three ran at the same time (one per worker).
    expect(new Set(records.filter((r) => r.id > 0).map((r) => r.worker))).toEqual(new Set([0, 1, 2]));
    const crashed = records.filter((r) => r.status === "crash");
    expect(crashed.map((r) => [r.description, r.reason])).toEqual([["append to a shard", "read-only"]]);
    expect(readFileSync(join(root, "data", "shard1.bin"), "utf8")).toBe("shard 1\n");
  }, 120_000);

  it("resume says in session.json which protection is in force on this machine (a session started where none was)", () => {
    const root = project([BETTER, hook("nothing", "// nothing")]);
    const first = cli(root, [...RUN, "--tag", "moved", "--max-iterations", "1"], {}, 90_000);
    expect(first.code, first.stderr).toBe(0);
    // As if the session had started on a machine without bubblewrap.
    const file = recordPath(root, "session.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), protection: "manifest" }, null, 2));
    const resumed = cli(root, ["resume", "--max-iterations", "2"], {}, 90_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    const session = JSON.parse(readFileSync(file, "utf8"));
    expect(session.protection).toBe("bwrap");
    // --max-iterations given to resume is the session's limit from then on (status counts against it).
    expect(session.config.maxIterations).toBe(2);
  }, 120_000);
});
