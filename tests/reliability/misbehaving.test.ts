import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_LOG_BYTES } from "../../src/runner/index.js";
import type { ExperimentRecord, RejectedProposal } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath as recordsPath } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithCmd, processesWithEnv, readJsonl, userRefs } from "./helpers.js";

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
    code: 'require("node:fs").writeFileSync("results.tsv", "deadbee\\t0.000001\\t0.0\\tkeep\\tforged\\n"); console.log("val_loss: 1.400000"); process.exit(0);',
    expect: { status: "discard", reason: "regression", row: /: regression$/ },
  },
  { description: "deletes the training script", code: 'require("node:fs").unlinkSync("train.js"); console.log("val_loss: 0.100000");', expect: { status: "crash", reason: "violation", row: /: violation: deleted train\.js$/ } },
  {
    description: "clears caches with git clean -fdX",
    code: 'require("node:child_process").execSync("git clean -fdqX"); console.log("val_loss: 1.450000"); process.exit(0);',
    expect: { status: "discard", reason: "regression", row: /: regression$/ },
  },
  {
    description: "commits everything (git add -A && git add -f && git commit)",
    code: 'const cp = require("node:child_process"); require("node:fs").writeFileSync("out.ckpt", "x"); cp.execSync("git add -A && git add -f out.ckpt && git commit -q -m hijack"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(.*changed \.git\/HEAD.*\); the clone was recreated$/ },
  },
  {
    description: "switches to another branch",
    code: 'require("node:child_process").execSync("git checkout -q -b evil"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(.*refs\/heads\/evil.*\)/ },
  },
  {
    description: "checks out an orphan branch",
    code: 'require("node:child_process").execSync("git checkout -q --orphan lost"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(changed \.git\/HEAD\)/ },
  },
  {
    description: "leaves .git/index.lock behind",
    code: 'require("node:fs").writeFileSync(".git/index.lock", ""); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(created \.git\/index\.lock\)/ },
  },
  {
    description: "plants a clean/smudge filter, commit signing, a hooks path and a hook",
    code: [
      'const cp = require("node:child_process"); const fs = require("node:fs"); const flag = process.env.AR_FILTER_FLAG;',
      'cp.execSync("git config filter.evil.clean \\"touch " + flag + "; cat\\" && git config filter.evil.smudge \\"touch " + flag + "; cat\\" && git config commit.gpgsign true && git config core.hooksPath .git/hooks");',
      'fs.writeFileSync(".gitattributes", "* filter=evil\\n"); fs.mkdirSync(".git/hooks", { recursive: true });',
      'for (const h of ["post-checkout", "pre-commit", "reference-transaction"]) { fs.writeFileSync(".git/hooks/" + h, "#!/bin/sh\\ntouch " + flag + "\\n"); fs.chmodSync(".git/hooks/" + h, 0o755); }',
      'console.log("val_loss: 0.100000");',
    ].join(" "),
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(changed \.git\/config/ },
  },
  {
    description: "moves main",
    code: 'require("node:child_process").execSync("git update-ref refs/heads/main HEAD && git commit -q --allow-empty -m moved"); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: changed the clone's git state \(.*refs\/heads\/main/ },
  },
  {
    description: "goes looking for the records and empties experiments.jsonl",
    code: 'require("node:fs").writeFileSync(process.env.AR_RECORDS + "/experiments.jsonl", ""); console.log("val_loss: 0.100000");',
    expect: { status: "crash", reason: "violation", row: /: violation: modified experiments\.jsonl$/ },
  },
  {
    description: "plants links where the tool writes the next log and patch",
    code: [
      'const fs = require("node:fs"); const next = Number(process.env.AUTORESEARCH_EXPERIMENT) + 1; const rec = process.env.AR_RECORDS;',
      'fs.symlinkSync(process.env.AR_VICTIM, rec + "/runs/" + next + ".log"); fs.symlinkSync(process.env.AR_VICTIM, rec + "/patches/" + next + ".patch");',
      'console.log("val_loss: 1.460000"); process.exit(0);',
    ].join(" "),
    expect: { status: "discard", reason: "regression", row: /: regression$/ },
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
    // Unconfined: these runs write their flags outside the clone and go looking for the records,
    // which is what the after-run checks (not the sandbox) are tested against here.
    args.push("--proposer", "plan", "--plan", "plan.jsonl", "--tag", "bad", "--yes", "--sandbox", "off");
    const scratch = mkdtempSync(join(tmpdir(), "ar-daemon-"));
    const flag = join(scratch, "started");
    const filterFlag = join(scratch, "filter-ran");
    const victim = join(scratch, "victim.txt");
    writeFileSync(victim, "precious\n");
    const refsBefore = userRefs(root);
    const env = { AR_MISBEHAVE: marker, AR_DAEMON_FLAG: flag, AR_FILTER_FLAG: filterFlag, AR_VICTIM: victim, AR_RECORDS: join(root, ".git/autoresearch/bad/records") };
    const result = cli(root, args, env, 170_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/nothing more to propose/);

    const records = checkInvariants(root, { base, tag: "bad", guarded, refsBefore, allowUntracked: ["plan.jsonl"] });
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
    const rejected = readJsonl<RejectedProposal>(recordsPath(root, "rejected.jsonl"));
    // (Refused as run already, or as waiting or running when it was proposed while step 0 ran.)
    expect(rejected.map((r) => [r.planStep, r.reason])).toEqual([[1, expect.stringMatching(/already (run|proposed and waiting or running)/)]]);

    // The flood: the log is capped (head and tail kept), the metric after it still read.
    const flood = records.find((r) => r.description.startsWith("floods")) as ExperimentRecord;
    expect(flood.metric).toBe(1.5);
    const logPath = recordsPath(root, `runs/${flood.id}.log`);
    expect(statSync(logPath).size).toBeLessThanOrEqual(DEFAULT_MAX_LOG_BYTES + 200);
    const tail = readFileSync(logPath, "utf8").slice(-200);
    expect(tail).toContain("val_loss: 1.500000");
    expect(readFileSync(logPath, "utf8")).toMatch(/\[\.\.\. \d+ bytes elided \.\.\.\]/);

    // The runs worked in their own clone: the user's results.tsv has no forged row, no commit
    // of a run reached any branch, main is where the user left it, and the user's checkout still
    // has the original training script (the best one is on the research branch).
    expect(readFileSync(join(root, "results.tsv"), "utf8")).not.toContain("forged");
    expect(git(root, "log", "--format=%s", "--all")).not.toMatch(/hijack|moved/);
    expect(git(root, "rev-parse", "main")).toBe(base);
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(HOOK_TRAIN);
    expect(git(root, "show", "autoresearch/bad:train.js")).toContain("const LEARNING_RATE = 0.04;");
    expect(git(root, "status", "--porcelain", "--ignored")).toMatch(/!! results\.tsv/);
    // The planted filter and hooks never ran (the tool's git reads no config a run can write),
    // and the planted signing did not stop later commits (the last step was committed and kept).
    expect(existsSync(filterFlag)).toBe(false);
    // The links planted in the records were replaced, never written through.
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    const links = records.find((r) => r.description.startsWith("plants links")) as ExperimentRecord;
    expect(readFileSync(recordsPath(root, `runs/${links.id + 1}.log`), "utf8")).toContain("val_loss");

    // resume after all this continues (the clone is made again) and the invariants still hold.
    // One more iteration than it ran (a finished session is refused with how to continue); the plan has no step left, so none runs.
    const resumed = cli(root, ["resume", "--max-iterations", String(records.length)], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    checkInvariants(root, { base, tag: "bad", guarded, refsBefore, allowUntracked: ["plan.jsonl"] });

    // No process of any run survived: not the SIGTERM-ignoring child, not the daemon.
    expect(processesWithEnv("AR_MISBEHAVE", marker)).toEqual([]);
    expect(existsSync(flag)).toBe(true); // the daemon did start
    expect(processesWithCmd("sleep 127")).toEqual([]);
    expect(processesWithCmd("sleep 61")).toEqual([]);
  }, 180_000);
});
