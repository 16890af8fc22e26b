import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes } from "./helpers.js";

const TRAIN = `const fs = require("node:fs");
const LEARNING_RATE = 0.01;
// HOOK
console.log("val_loss: " + (1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1).toFixed(6));
`;

// Without a sandbox: under bwrap the records are hidden from the run (tests/sandbox/runs.test.ts).
const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", "node train.js", "--yes", "--sandbox", "off"];

describe("a run that deletes the session's records", () => {
  it("does not make the session unresumable: the records are re-created from what the loop holds, and the damage is reported", () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n", "README.md": "# project\n" });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    // From the clone (<git dir>/autoresearch/<tag>/w0), the records are ../records.
    const steps = [
      { description: "delete the records", category: "other", edits: [{ search: "// HOOK", replace: 'fs.rmSync("../records", { recursive: true, force: true });' }] },
      { description: "LEARNING_RATE 0.01 -> 0.04", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }] },
      { description: "LEARNING_RATE 0.04 -> 0.05", category: "hyperparameters", edits: [{ search: "const LEARNING_RATE = 0.04;", replace: "const LEARNING_RATE = 0.05;" }] },
    ];
    writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
    const result = cli(root, [...RUN, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "wiped", "--max-iterations", "2"], {}, 60_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/internal error/);
    const records = checkInvariants(root, { base, tag: "wiped", guarded, allowUntracked: ["plan.jsonl"] });
    expect(records.map((r) => [r.status, r.reason])).toEqual([
      ["keep", "baseline"],
      ["crash", "violation"],
      ["keep", "improved"],
    ]);
    expect(records[1]?.detail).toMatch(/deleted (the session's records|runs\/).*experiments\.jsonl/);
    // The log of the run that deleted them is gone: a note says so instead of nothing.
    expect(readFileSync(recordPath(root, "runs/0.log"), "utf8")).toMatch(/deleted by a run/);
    expect(existsSync(recordPath(root, "session.json"))).toBe(true);
    const events = recordPath(root, "events.jsonl");
    expect(existsSync(events)).toBe(true);
    // Reported as it happened, not only on the experiment's record: a warning on the terminal and in the event stream.
    const said = /experiment 1: a run changed the session's records \(deleted (the session's records|runs\/).*experiments\.jsonl.*\); they were put back from what the loop holds/;
    expect(result.stdout + result.stderr).toMatch(said);
    const warnings = readFileSync(events, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)).filter((e) => e.type === "warning");
    expect(warnings.map((e) => e.message)).toContainEqual(expect.stringMatching(said));
    // Resumable: one more experiment on top of what survived.
    const resumed = cli(root, ["resume", "--max-iterations", "3"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(checkInvariants(root, { base, tag: "wiped", guarded, allowUntracked: ["plan.jsonl"] }).map((r) => r.id)).toEqual([0, 1, 2, 3]);
  }, 120_000);
});
