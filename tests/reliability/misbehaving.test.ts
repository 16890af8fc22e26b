import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_LOG_BYTES } from "../../src/runner/index.js";
import type { ExperimentRecord, RejectedProposal } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithCmd, processesWithEnv, readJsonl } from "./helpers.js";

/** The training script every step edits: its `// HOOK` line becomes the misbehaviour. */
const HOOK_TRAIN = `const LEARNING_RATE = 0.01;
// HOOK
const loss = 1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1;
console.log("val_loss: " + loss.toFixed(6));
`;

interface Step {
  description: string;
  code?: string;
  edit?: { search: string; replace: string };
  /** Expected status and results.tsv description (null: the step is refused, no row). */
  expect: { status: "keep" | "discard" | "crash"; reason: string; row: RegExp } | null;
}

const FLOOD = `const line = "x".repeat(1023) + "\\n"; const block = line.repeat(1024);
const fs = require("node:fs"); for (let i = 0; i < 70; i++) fs.writeSync(1, block);
fs.writeSync(1, "val_loss: 1.500000\\n"); process.exit(0);`;

const STEPS: Step[] = [
  { description: "exits 3 after printing a metric", code: 'console.log("val_loss: 0.500000"); process.exit(3);', expect: { status: "crash", reason: "exit-code", row: /: exit code 3: val_loss: 0\.500000$/ } },
  { description: "the same change again", code: 'console.log("val_loss: 0.500000"); process.exit(3);', expect: null },
  { description: "prints NaN", code: 'console.log("val_loss: nan"); process.exit(0);', expect: { status: "crash", reason: "nan", row: /: metric is NaN/ } },
  { description: "prints inf", code: 'console.log("val_loss: inf"); process.exit(0);', expect: { status: "crash", reason: "nan", row: /: metric is Infinity/ } },
  { description: "prints no metric", code: 'console.log("done"); process.exit(0);', expect: { status: "crash", reason: "no-metric", row: /: no metric line in the output$/ } },
  { description: "hangs", code: 'require("node:child_process").execSync("sleep 60");', expect: { status: "crash", reason: "timeout", row: /: timeout after \d+s$/ } },
  {
    description: "ignores SIGTERM, and so does its child",
    code: 'process.on("SIGTERM", () => {}); require("node:child_process").spawn("sh", ["-c", "trap \'\' TERM; sleep 61"], { stdio: "inherit" }); setInterval(() => {}, 1000); return;',
    expect: { status: "crash", reason: "timeout", row: /: timeout after \d+s$/ },
  },
  { description: "floods its output (70 MB)", code: FLOOD, expect: { status: "discard", reason: "regression", row: /: regression$/ } },
  {
    description: "leaves a daemon (setsid + double fork)",
    code: [
      'const fs = require("node:fs"); const flag = process.env.AR_DAEMON_FLAG;',
      'require("node:child_process").spawn("setsid", ["sh", "-c", "(echo $$ > " + flag + "; sleep 127) & exit 0"], { stdio: "ignore", detached: true }).unref();',
      "for (let i = 0; i < 200 && !fs.existsSync(flag); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);",
      'fs.writeSync(1, "val_loss: 1.300000\\n"); process.exit(0);',
    ].join(" "),
    expect: { status: "discard", reason: "regression", row: /: regression$/ },
  },
  { description: "edits the read-only script", code: 'require("node:fs").appendFileSync("prepare.js", "// changed\\n"); console.log("val_loss: 0.100000");', expect: { status: "crash", reason: "violation", row: /: violation: modified prepare\.js$/ } },
  { description: "edits a dependency file", code: 'require("node:fs").appendFileSync("requirements.txt", "requests\\n"); console.log("val_loss: 0.100000");', expect: { status: "crash", reason: "violation", row: /: violation: modified requirements\.txt$/ } },
  { description: "deletes the lock file", code: 'require("node:fs").unlinkSync("package-lock.json"); console.log("val_loss: 0.100000");', expect: { status: "crash", reason: "violation", row: /: violation: deleted package-lock\.json$/ } },
  {
    description: "forges a row in results.tsv",
    code: 'require("node:fs").appendFileSync("results.tsv", "deadbee\\t0.000001\\t0.0\\tkeep\\tforged\\n"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: modified results\.tsv$/ },
  },
  { description: "deletes the training script", code: 'require("node:fs").unlinkSync("train.js"); console.log("val_loss: 0.100000");', expect: { status: "crash", reason: "violation", row: /: violation: deleted train\.js$/ } },
  {
    description: "empties the experiment log",
    code: 'require("node:fs").writeFileSync(".autoresearch/experiments.jsonl", ""); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: modified \.autoresearch\/experiments\.jsonl$/ },
  },
  {
    description: "commits on the research branch",
    code: 'require("node:child_process").execSync("git commit -q --allow-empty -m hijack"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: moved autoresearch\/bad$/ },
  },
  {
    description: "switches to another branch",
    code: 'require("node:child_process").execSync("git checkout -q -b evil"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: switched to evil$/ },
  },
  { description: "LEARNING_RATE 0.01 -> 0.04", edit: { search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.04;" }, expect: { status: "keep", reason: "improved", row: /: -0\.200000 improvement$/ } },
];

function planLine(step: Step): string {
  const edit = step.edit ?? { search: "// HOOK", replace: step.code as string };
  return JSON.stringify({ description: step.description, category: "other", edits: [edit] });
}

describe("misbehaving experiments: each recorded with the right status and reason, and the loop goes on", () => {
  it("crash, NaN, inf, no metric, hang, SIGTERM ignored, flood, daemon, tampering of every guarded file, a deleted script, git moves", async () => {
    const root = createRepo({
      "train.js": HOOK_TRAIN,
      "prepare.js": "// read-only\nexport const DATA = 1;\n",
      "requirements.txt": "torch==2.5.1\n",
      "package.json": '{ "name": "bad", "private": true }\n',
      "package-lock.json": '{ "lockfileVersion": 3 }\n',
    });
    writeFileSync(join(root, "plan.jsonl"), `${STEPS.map(planLine).join("\n")}\n`);
    git(root, "add", "plan.jsonl");
    git(root, "commit", "-qm", "plan");
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js", "requirements.txt", "package.json", "package-lock.json"]);
    const marker = randomUUID();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "1s", "--timeout", "4s", "--metric", "val_loss", "--direction", "min"];
    args.push("--proposer", "plan", "--plan", "plan.jsonl", "--tag", "bad", "--yes");
    const flag = join(mkdtempSync(join(tmpdir(), "ar-daemon-")), "started");
    const result = cli(root, args, { AR_MISBEHAVE: marker, AR_DAEMON_FLAG: flag }, 170_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/nothing more to propose/);

    const records = checkInvariants(root, { base, tag: "bad", guarded });
    const expected = STEPS.filter((s) => s.expect !== null);
    expect(records.slice(1).map((r) => r.description)).toEqual(expected.map((s) => s.description));
    const rows = readFileSync(join(root, "results.tsv"), "utf8").trimEnd().split("\n").slice(2);
    for (const [i, step] of expected.entries()) {
      const record = records[i + 1] as ExperimentRecord;
      const want = step.expect as NonNullable<Step["expect"]>;
      expect({ d: step.description, status: record.status, reason: record.reason }).toEqual({ d: step.description, status: want.status, reason: want.reason });
      const cells = (rows[i] as string).split("\t");
      expect(cells[4], step.description).toMatch(want.row);
      // A crash's metric is never trusted, whatever the run printed.
      if (want.status === "crash") expect(cells[1]).toBe("—");
    }

    // A crashed change is never run again: the repeat was refused, not recorded.
    const rejected = readJsonl<RejectedProposal>(join(root, ".autoresearch/rejected.jsonl"));
    expect(rejected.map((r) => [r.planStep, r.reason])).toEqual([[1, expect.stringMatching(/already run/)]]);

    // The flood: the log is capped (head and tail kept), the metric after it still read.
    const flood = records.find((r) => r.description.startsWith("floods")) as ExperimentRecord;
    expect(flood.metric).toBe(1.5);
    const logPath = join(root, `.autoresearch/runs/${flood.id}.log`);
    expect(statSync(logPath).size).toBeLessThanOrEqual(DEFAULT_MAX_LOG_BYTES + 200);
    const tail = readFileSync(logPath, "utf8").slice(-200);
    expect(tail).toContain("val_loss: 1.500000");
    expect(readFileSync(logPath, "utf8")).toMatch(/\[\.\.\. \d+ bytes elided \.\.\.\]/);

    // Guarded and session files are back; the forged row, the foreign branch commit are gone.
    expect(readFileSync(join(root, "results.tsv"), "utf8")).not.toContain("forged");
    expect(git(root, "log", "--format=%s", "autoresearch/bad")).not.toContain("hijack");
    expect(readFileSync(join(root, "train.js"), "utf8")).toContain("const LEARNING_RATE = 0.04;");
    // .autoresearch/ and results.tsv are ignored by git: no reset or clean (without -x) reaches them.
    expect(git(root, "status", "--porcelain", "--ignored")).toMatch(/!! \.autoresearch\//);
    expect(git(root, "status", "--porcelain", "--ignored")).toMatch(/!! results\.tsv/);
    expect(git(root, "clean", "-n", "-d")).toBe("");
    for (const r of records) expect(existsSync(join(root, `.autoresearch/runs/${r.id}.log`))).toBe(true);

    // No process of any run survived: not the SIGTERM-ignoring child, not the daemon.
    expect(processesWithEnv("AR_MISBEHAVE", marker)).toEqual([]);
    expect(existsSync(flag)).toBe(true); // the daemon did start
    expect(processesWithCmd("sleep 127")).toEqual([]);
    expect(processesWithCmd("sleep 61")).toEqual([]);
  }, 180_000);
});
