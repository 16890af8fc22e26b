import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";
import { locateSession, type SessionPaths } from "../../src/ledger/paths.js";
import { readSessionReadOnly } from "../../src/ledger/read.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "0", "--yes"];

/** A repo with a finished val_loss session (baseline only), ready to resume. */
function finishedSession(): string {
  const root = fakeProject();
  const result = cli(root, RUN);
  expect(result.code, result.stderr).toBe(0);
  return root;
}

describe("autoresearch resume checks its overrides as run checks its flags", () => {
  it("refuses a stop condition on another metric with exit 2 and changes nothing", () => {
    const root = finishedSession();
    const refusedByRun = cli(root, [...RUN, "--tag", "other", "--stop-when", "accuracy <= 100"]);
    expect(refusedByRun.code).toBe(2);
    const before = repoSnapshot(root);
    const result = cli(root, ["resume", "--max-iterations", "3", "--stop-when", "accuracy <= 100"]);
    expect(result.code, result.stdout).toBe(2);
    expect(result.stderr).toMatch(/names accuracy, but the session optimises val_loss/);
    expect(result.stderr).toMatch(/fix:.*--stop-when "val_loss <= <value>"/);
    expect(result.stdout).not.toMatch(/stop condition met/);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("refuses a malformed override value with exit 2, naming the flag", () => {
    const root = finishedSession();
    const before = repoSnapshot(root);
    const result = cli(root, ["resume", "--max-iterations", "lots"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-iterations "lots"/);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("--dir resumes the session of another repository, as status and report take it", () => {
    const root = finishedSession();
    const elsewhere = mkdtempSync(join(tmpdir(), "ar-elsewhere-"));
    const result = cli(elsewhere, ["resume", "--dir", root, "--max-iterations", "1", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(readSessionReadOnly(locateSession(root) as SessionPaths)?.config.maxIterations).toBe(1);
    expect(cli(elsewhere, ["resume", "--dir", join(elsewhere, "nope")]).stderr).toMatch(/--dir .*nope: no such directory/);
  });

  it("accepts a stop condition on the session's metric; one its best meets already is refused with one it does not", () => {
    const root = finishedSession();
    const met = cli(root, ["resume", "--max-iterations", "3", "--stop-when", "val_loss <= 100"]);
    expect(met.code, met.stdout).toBe(2);
    expect(met.stderr).toMatch(/the session is done: its best val_loss [\d.]+ meets its stop condition \(val_loss <= 100\); nothing is left to resume/);
    expect(met.stderr).toMatch(/fix: Give it more, e\.g\. `autoresearch resume --stop-when "val_loss <= [\d.]+"`/);
    const result = cli(root, ["resume", "--max-iterations", "1", "--stop-when", "val_loss <= 0.0001", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/reached max iterations \(1\)/);
  });

  it("a session that met its --stop-when: resume refuses it, naming the session it was given; the summary offers the resume that goes on", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN.slice(0, -3), "--max-iterations", "2", "--stop-when", "val_loss <= 100", "--tag", "one", "--yes"]).code).toBe(0);
    expect(cli(root, [...RUN, "--tag", "two"]).code).toBe(0);
    const refused = cli(root, ["resume", "--tag", "one"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/fix: Give it more, e\.g\. `autoresearch resume --tag one --stop-when "val_loss <= [\d.]+"`/);
    const done = cli(root, ["resume", "--tag", "two"]);
    expect(done.stderr).toMatch(/`autoresearch resume --tag two --max-iterations 10` \(or --max-iterations unlimited\)/);
  });

  it("refuses to resume a session that ran all its iterations, saying how to give it more", () => {
    const root = finishedSession();
    const before = repoSnapshot(root);
    const result = cli(root, ["resume"]);
    expect(result.code, result.stdout).toBe(2);
    expect(result.stdout).not.toMatch(/reached max iterations/);
    expect(result.stderr).toMatch(/the session is done: it ran 0 experiment\(s\) and its max iterations is 0; nothing is left to resume/);
    expect(result.stderr).toMatch(/fix:.*autoresearch resume --max-iterations 10/);
    expect(repoSnapshot(root)).toBe(before);
  });

  it("a --max-iterations given to resume is the session's limit from then on: status counts against it, the next resume too", () => {
    const root = finishedSession();
    const result = cli(root, ["resume", "--max-iterations", "1", "--max-time", "1h", "--max-cost", "3", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    // Every limit given is kept (a later plain resume once fell back to the limits the session started with).
    expect(readSessionReadOnly(locateSession(root) as SessionPaths)?.config).toMatchObject({ maxIterations: 1, maxTimeSec: 3600, maxCostUsd: 3 });
    expect(cli(root, ["status"]).stdout).toMatch(/\*\*Iterations:\*\* 1 \/ 1\b/);
    const again = cli(root, ["resume"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/the session is done: it ran 1 experiment\(s\) and its max iterations is 1;/);
    // A limit below what already ran is named as it is (it once read "ran 1 of its 0 iteration(s)").
    const lower = cli(root, ["resume", "--max-iterations", "0"]);
    expect(lower.code).toBe(2);
    expect(lower.stderr).toMatch(/the session is done: it ran 1 experiment\(s\) and its max iterations is 0;/);
  });
});
