import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";
import { hasScript, terminal } from "../helpers/terminal.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes"];

describe("what a new user hit on the first night (issue 26, section 5)", () => {
  it("says the previous session's results.tsv was moved only when the new session started", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "one", "--max-iterations", "0"]).code).toBe(0);
    const results = readFileSync(join(root, "results.tsv"), "utf8");
    // A start whose baseline fails puts the files back: nothing was moved, so nothing is said.
    const failed = cli(root, [...RUN, "--tag", "two", "--max-iterations", "0", "--command", "node -e 'process.exit(3)'"]);
    expect(failed.code).toBe(1);
    expect(`${failed.stdout}${failed.stderr}`).not.toMatch(/of the previous session moved/);
    expect(readFileSync(join(root, "results.tsv"), "utf8")).toBe(results);
    // A start that works says where they went.
    const started = cli(root, [...RUN, "--tag", "three", "--max-iterations", "0"]);
    expect(started.code, started.stderr).toBe(0);
    expect(`${started.stdout}${started.stderr}`).toMatch(/results\.tsv.* of the previous session moved to /);
  });

  it("note with the builtin proposer says the builtin search does not read notes", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--max-iterations", "0"]).code).toBe(0);
    const note = cli(root, ["note", "try rotary embeddings"]);
    expect(note.code, note.stderr).toBe(0);
    expect(note.stdout).toMatch(/The builtin search does not read notes/);
    expect(note.stdout).not.toMatch(/The next proposal sees it/);
  });

  it.skipIf(!hasScript)("in an 80-column terminal the session's lines fit: start, warnings, results table, where everything is, merge advice", async () => {
    const root = fakeProject();
    const t = terminal(root, [...RUN, "--tag", "narrow", "--max-iterations", "2", "--keep-rule", "any", "--baseline-runs", "1"], {}, 80);
    expect(await t.exited).toBe(0);
    const screen = t.screen();
    expect(screen).toContain("Where everything is");
    // The live line (redrawn in place) aside, no line is wider than the terminal.
    const lines = screen.split("\n").filter((line) => !/[▶█░]/.test(line));
    expect(lines.filter((line) => line.length > 80)).toEqual([]);
    // The records path is long: broken under its column, not at the terminal's edge.
    expect(screen).toMatch(/\n {2}records {6}\S+/);
    // Too long for the terminal: its rest hangs under it, as every other wrapped line.
    expect(screen).toMatch(/Starting autoresearch\/narrow — val_loss \(min\), 5s per run, 2 iterations,[^\n]*\n {2}\S/);
  }, 60_000);
});
