import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, fakeProject, recordPath } from "../helpers/repo.js";
import { readJsonl } from "../reliability/helpers.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--proposer", "plan", "--plan", "plan.jsonl", "--yes"];

// The fake project's training script is deterministic: the same code prints the same metric.
const STEPS = [
  { description: "LEARNING_RATE 0.01 -> 0.02", category: "hyperparameters", edits: [{ search: "LEARNING_RATE = 0.01", replace: "LEARNING_RATE = 0.02" }] },
  { description: "DROPOUT 0.1 -> 0.10", category: "hyperparameters", edits: [{ search: "DROPOUT = 0.1;", replace: "DROPOUT = 0.10;" }] },
  { description: "WIDTH 16 -> 8", category: "architecture", edits: [{ search: "WIDTH = 16", replace: "WIDTH = 8" }] },
];

function project(): string {
  const root = fakeProject();
  writeFileSync(join(root, "plan.jsonl"), STEPS.map((s) => JSON.stringify(s)).join("\n"));
  writeFileSync(join(root, ".git", "info", "exclude"), "plan.jsonl\n");
  return root;
}

describe("the default keep rule is noise-aware (issue 26)", () => {
  it("a deterministic script costs only the second baseline run: a real gain kept on its one run, a no-change and a regression discarded on theirs", () => {
    const root = project();
    const result = cli(root, RUN);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.status, r.reason, (r.runs ?? [r]).length, r.parentRuns?.length ?? 0])).toEqual([
      ["keep", "baseline", 2, 0],
      ["keep", "improved", 1, 0],
      ["discard", "no-change", 1, 0],
      ["discard", "regression", 1, 0],
    ]);
    const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8"));
    expect(session.config).toMatchObject({ keepRule: "confirm", baselineRuns: 2 });
    expect(result.stdout).toMatch(/\| Keep rule +\| confirm \(paired/);
    expect(result.stdout).toContain("noise floor 0.000000");
    // Runs of the same code agree exactly: nothing here could be luck, and nothing says so.
    expect(result.stdout).not.toContain("within noise");
    expect(result.stdout).not.toContain("never re-measured");
  }, 120_000);

  it("--keep-rule any --baseline-runs 1 is the spec's plain loop, and every keep and the best say they were never re-measured", () => {
    const root = project();
    const result = cli(root, [...RUN, "--keep-rule", "any", "--baseline-runs", "1"]);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(records.map((r) => [r.status, (r.runs ?? [r]).length])).toEqual([
      ["keep", 1],
      ["keep", 1],
      ["discard", 1],
      ["discard", 1],
    ]);
    expect(result.stdout).toMatch(/\| Keep rule +\| any \(better by any amount on one run: the spec's plain loop\)/);
    // The live line of the keep, and the Best: line against the baseline.
    expect(result.stdout).toMatch(/ 1 keep .*LEARNING_RATE 0\.01 -> 0\.02 \(never re-measured, no noise floor\)/);
    expect(result.stdout).toContain("vs the baseline: never re-measured, no noise floor; `autoresearch confirm best --runs 3` re-runs it before you merge");
    const status = cli(root, ["status"]);
    expect(status.stdout).toMatch(/\*\*Noise floor:\*\* unknown .* ⚠ The best against the baseline: never re-measured, no noise floor\./);
    const sessions = cli(root, ["sessions"]);
    expect(sessions.stdout).toContain("⚠ never re-measured, no noise floor");
  }, 120_000);

  it("the Best: line at the end shows the best's measured metric (the mean of all its runs), as status does", () => {
    // A seeded trainer: runs of the same code differ by their seed, so the best's runs as the parent of
    // the next candidate's pairs move its mean away from the metric it was kept on.
    const train = `const LEARNING_RATE = 0.01;
const DROPOUT = 0.1;
const seed = Number(process.env.AUTORESEARCH_SEED ?? 0);
const noise = ((((seed + 1) * 7919) % 13) / 13) * 0.004;
console.log(\`val_loss: \${(1 - (LEARNING_RATE - 0.01) * 5 + noise).toFixed(6)}\`);
`;
    const root = createRepo({ "train.js": train, "prepare.js": "// data\n" });
    writeFileSync(join(root, "plan.jsonl"), STEPS.slice(0, 2).map((s) => JSON.stringify(s)).join("\n"));
    writeFileSync(join(root, ".git", "info", "exclude"), "plan.jsonl\n");
    const result = cli(root, [...RUN, "--command", "node train.js"]);
    expect(result.code, result.stderr).toBe(0);
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    const kept = records[1] as ExperimentRecord;
    expect(kept.status).toBe("keep");
    const best = /Best: val_loss (\d+\.\d+) at \w+, experiment #1, its measured metric/.exec(result.stdout)?.[1];
    expect(best, result.stdout).toBeDefined();
    expect(Number(best)).not.toBe(kept.metric);
    expect(cli(root, ["status"]).stdout).toContain(`**Best so far:** ${best} (iteration 1`);
  }, 120_000);
});
