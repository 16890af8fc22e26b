import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { cli } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, git } from "../helpers/repo.js";

describe("autoresearch run with the builtin proposer", () => {
  it("works in a repo with no git identity configured, using a fallback author", () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE }, { identity: false });
    const home = mkdtempSync(join(tmpdir(), "ar-home-"));
    const env = { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "", GIT_AUTHOR_EMAIL: "" };
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "4", "--yes", "--tag", "noid"];
    const result = cli(root, args, env);
    expect(result.code, result.stderr).toBe(0);
    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows).toHaveLength(5);
    expect(rows.slice(1).every((r) => /^[A-Z_]+ [\d.e-]+ -> [\d.e-]+ \(/.test(r.description))).toBe(true);
    expect(git(root, "log", "-1", "--format=%an <%ae>", "refs/autoresearch/noid/1")).toBe("autoresearch <autoresearch@localhost>");
    // Results and session files are never tracked, and the tree is clean.
    expect(git(root, "ls-files")).not.toMatch(/results\.tsv|\.autoresearch/);
    expect(git(root, "status", "--porcelain")).toBe("");
  });

  it("works when started from a subdirectory, with paths relative to where the user is", () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE, "sub/notes.md": "notes\n" });
    const args = ["run", "--train", "../train.js", "--readonly", "../prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "1", "--yes", "--tag", "sub"];
    const result = cli(join(root, "sub"), args);
    expect(result.code, result.stderr).toBe(0);
    expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows).toHaveLength(2);
    expect(readFileSync(join(root, ".git/info/exclude"), "utf8")).toContain("/results.tsv");
    expect(git(root, "status", "--porcelain")).toBe("");
  });
});
