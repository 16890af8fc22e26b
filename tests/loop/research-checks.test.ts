import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { research } from "../../src/loop/research.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ResearchConfig } from "../../src/config/options.js";
import { repoSnapshot } from "../helpers/cli.js";
import { cpuPlatform } from "../helpers/platforms.js";
import { fakeProject } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

const CPU = cpuPlatform("test cpu");

/** research() as a library caller would call it, with the given config changes. */
function start(root: string, overrides: Partial<ResearchConfig>) {
  return research(root, { kind: "new", config: testConfig(overrides), platform: CPU }, testDeps(root, new PlanProposer([])));
}

describe("research() refuses what the CLI refuses, before anything changes", () => {
  const cases: { name: string; config: Partial<ResearchConfig>; setup?: (root: string) => void; message: RegExp }[] = [
    { name: "a stop condition on another metric", config: { stopWhen: "accuracy <= 100" }, message: /names accuracy, but the session optimises val_loss/ },
    { name: "a malformed stop condition", config: { stopWhen: "val_loss is low" }, message: /--stop-when "val_loss is low"/ },
    { name: "a training script outside the repo", config: { train: "../train.js" }, message: /--train "\.\.\/train\.js": outside the repository/ },
    { name: "a results file outside the repo", config: { results: "/tmp/results.tsv" }, message: /--results "\/tmp\/results\.tsv": outside the repository/ },
    { name: "a metric pattern without a capture group", config: { metricPattern: "^val_loss: [0-9.]+" }, message: /has no capture group/ },
    { name: "a timeout shorter than the budget", config: { budgetSec: 60, timeoutSec: 30 }, message: /timeout \(30s\) is shorter than the budget \(60s\)/ },
    { name: "a tag git cannot use", config: { tag: "bad tag" }, message: /invalid tag "bad tag"/ },
    { name: "a metric name the runner cannot read", config: { metric: "val loss" }, message: /"metric": letters, digits/ },
    { name: "an uncommitted change", config: {}, setup: (root) => writeFileSync(join(root, "train.js"), "// changed\n"), message: /uncommitted changes/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const root = fakeProject();
      c.setup?.(root);
      const before = repoSnapshot(root);
      const error = await start(root, c.config).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as Error).message).toMatch(c.message);
      expect(repoSnapshot(root)).toBe(before);
    });
  }

  it("resume overrides go through the same checks", async () => {
    const root = fakeProject();
    const first = await start(root, { maxIterations: 0 });
    expect(first.reason).toMatch(/max iterations/);
    const before = repoSnapshot(root);
    const error = await research(root, { kind: "resume", overrides: { maxIterations: 3, stopWhen: "accuracy <= 100" } }, testDeps(root, new PlanProposer([]))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/names accuracy, but the session optimises val_loss/);
    expect(repoSnapshot(root)).toBe(before);
  });
});
