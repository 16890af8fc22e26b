import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FinalizeResult, latestFinalize, readFinalizeEntries } from "../../src/ledger/finalize-records.js";
import { cli } from "../helpers/cli.js";
import { FINALIZE_TRAIN, finalizePlanFile } from "../helpers/finalize-fixture.js";
import { createRepo, FAKE_PREPARE, recordPath } from "../helpers/repo.js";
import { removeDir } from "../helpers/session-fixture.js";

const RUN = [
  "run",
  "--train",
  "train.js",
  "--readonly",
  "prepare.js",
  "--command",
  "node train.js",
  "--budget",
  "5s",
  "--metric",
  "val_loss",
  "--direction",
  "min",
  "--proposer",
  "plan",
  "--plan",
  "plan.jsonl",
  "--keep-rule",
  "any",
  "--baseline-runs",
  "2",
  "--max-iterations",
  "7",
  "--yes",
  "--tag",
  "night",
];

/**
 * The views end to end: the loop really run on the finalize fixture (three real changes, no-ops,
 * a pair), `autoresearch finalize` really run on it, then what summary, report, show, sessions and
 * status say, each compared with finalize.jsonl.
 */
describe("finalize's views on a real session, really finalized", () => {
  let root: string;
  let result: FinalizeResult;
  let finalizeOut: string;

  beforeAll(() => {
    root = createRepo({ "train.js": FINALIZE_TRAIN, "prepare.js": FAKE_PREPARE, "plan.jsonl": `${finalizePlanFile()}\n` });
    const run = cli(root, RUN);
    expect(run.code, run.stderr).toBe(0);
    const fin = cli(root, ["finalize", "--yes", "--runs", "2"]);
    expect(fin.code, fin.stderr).toBe(0);
    finalizeOut = fin.stdout;
    result = latestFinalize(readFinalizeEntries(recordPath(root, "finalize.jsonl")))?.result as FinalizeResult;
    expect(result).toBeTruthy();
  }, 180_000);
  afterAll(() => removeDir(root));

  const matter = () => result.verdicts.filter((v) => v.verdict === "matters").length;
  const tableAt = () => join(".git", "autoresearch", "night", "records", "finalize.md");

  it("finalize rewrote the checkout's summary: when it was finalized, and the table from finalize.jsonl", () => {
    expect(finalizeOut).toContain("autoresearch-summary.md");
    const summary = readFileSync(join(root, "autoresearch-summary.md"), "utf8");
    expect(summary).toMatch(new RegExp(`\\*\\*Finalized:\\*\\* \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${matter()} of ${result.verdicts.length} kept changes matter`));
    expect(summary).toContain("## Finalize");
    expect(summary).toContain(readFileSync(recordPath(root, "finalize.md"), "utf8").trimEnd());
    for (const v of result.verdicts) expect(summary).toMatch(new RegExp(`\\| #${v.change} ${v.description.replace(/[>-]/g, ".")} \\|[^\\n]*\\| ${v.verdict}`));
    if (result.branches.final) expect(summary).toContain(`autoresearch merge --final --into main`);
  });

  it("report renders the table again from finalize.jsonl (finalize.md removed, then back)", () => {
    const table = readFileSync(recordPath(root, "finalize.md"), "utf8");
    rmSync(recordPath(root, "finalize.md"));
    const report = cli(root, ["report"]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain("## Finalize");
    expect(readFileSync(recordPath(root, "finalize.md"), "utf8")).toBe(table);
  });

  it("show with no number: the session's line, then the best; show N of a kept change: its verdict", () => {
    const show = cli(root, ["show"]);
    expect(show.code, show.stderr).toBe(0);
    const first = show.stdout.split("\n")[0] as string;
    expect(first).toMatch(new RegExp(`^Session night: the best is #${result.best.id}; finalized \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: ${matter()} of ${result.verdicts.length} kept changes matter, table in `));
    expect(first.endsWith(tableAt().split("\\").join("/"))).toBe(true);
    expect(show.stdout).toContain(`Experiment ${result.best.id}: `);
    for (const v of result.verdicts) {
      const one = cli(root, ["show", String(v.change)]);
      expect(one.stdout).toMatch(new RegExp(`^Finalize: {3}${v.verdict}[ :(]`, "m"));
      const json = JSON.parse(cli(root, ["show", String(v.change), "--json"]).stdout);
      expect(json.finalize.verdict.verdict).toBe(v.verdict);
    }
    expect(cli(root, ["show", "0"]).stdout).not.toMatch(/^Finalize:/m);
  });

  it("sessions and status say when it was finalized", () => {
    const sessions = cli(root, ["sessions"]);
    expect(sessions.stdout).toMatch(new RegExp(`night .* \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ, ${matter()} of ${result.verdicts.length} matter$`, "m"));
    const listed = JSON.parse(cli(root, ["sessions", "--json"]).stdout);
    expect(listed[0].finalize).toMatchObject({ progress: "finished", matter: matter(), changes: result.verdicts.length, finishedAt: result.at });
    const status = cli(root, ["status"]);
    expect(status.stdout).toMatch(new RegExp(`^\\*\\*Finalize:\\*\\* finalized .*: ${matter()} of ${result.verdicts.length} kept changes matter, table in `, "m"));
    expect(JSON.parse(cli(root, ["status", "--json"]).stdout).finalize.progress).toBe("finished");
  });

  it("a finalize cut short (its result line gone) reads as stopped, k of n runs, everywhere", () => {
    const path = recordPath(root, "finalize.jsonl");
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    const kept = lines.filter((l) => JSON.parse(l).type !== "result");
    writeFileSync(path, `${kept.join("\n")}\n`);
    const runs = kept.filter((l) => JSON.parse(l).type === "run").length;
    const status = cli(root, ["status"]);
    expect(status.stdout).toMatch(new RegExp(`^\\*\\*Finalize:\\*\\* finalize stopped: ${runs} of \\d+ runs; \`autoresearch finalize\` continues it`, "m"));
    expect(cli(root, ["sessions"]).stdout).toMatch(new RegExp(`stopped, ${runs}/\\d+ runs$`, "m"));
    expect(cli(root, ["report"]).stdout).toMatch(/^Finalize stopped: \d+ of \d+ runs/m);
    writeFileSync(path, `${lines.join("\n")}\n`);
  });
});
