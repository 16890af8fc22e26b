import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { cli } from "../helpers/cli.js";
import { git } from "../helpers/repo.js";

describe("autoresearch demo", () => {
  it("runs the embedded example end to end and keeps an improvement", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "ar-demo-")), "tinylm");
    const result = cli(process.cwd(), ["demo", "--dir", dir, "--iterations", "3", "--budget", "2s"]);
    expect(result.code, result.stderr).toBe(0);
    const results = parseResults(readFileSync(join(dir, "results.tsv"), "utf8"));
    expect(results.metricName).toBe("val_bpb");
    expect(results.rows).toHaveLength(4);
    expect(results.rows[0]?.status).toBe("keep");
    // The example's defaults leave room: the builtin search finds a better learning rate quickly.
    expect(results.rows.slice(1).some((r) => r.status === "keep")).toBe(true);
    // The research branch is the head: the best kept row (val_bpb: lower is better).
    const best = results.rows.filter((r) => r.status === "keep").reduce((a, b) => ((b.metric as number) < (a.metric as number) ? b : a));
    expect(git(dir, "rev-parse", "--short=7", "autoresearch/demo")).toBe(best?.commit);
    expect(git(dir, "branch", "--show-current")).toBe("main");
    expect(result.stdout).toContain("Where everything is");
    expect(result.stdout).toContain(dir);
    // Its closing hints (show, git log, merge) work in the demo's repository: the last line says where that is.
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe(`Those commands run in the demo's repository: cd ${dir}`);
    expect(existsSync(join(dir, ".git/autoresearch/demo/records/experiments.jsonl"))).toBe(true);
  });

  it("refuses a non-empty --dir and bad values with exit 2", () => {
    const bad = cli(process.cwd(), ["demo", "--dir", process.cwd()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not empty/);
    expect(cli(process.cwd(), ["demo", "--budget", "abc"]).stderr).toMatch(/--budget "abc": expected a positive duration/);
    const negative = cli(process.cwd(), ["demo", "--iterations", "-1"]);
    expect(negative.code).toBe(2);
    // -1 is a whole number: the fix says what is wanted.
    expect(negative.stderr).toMatch(/fix: Use a whole number of experiments, 0 or more/);
  });
});
