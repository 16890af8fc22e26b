import type { SessionEvent } from "../../src/ledger/events.js";
import { sanitizeEnv } from "../../src/runner/run-env.js";
import type { LoopDeps } from "../../src/search/session.js";
import { StopControl } from "../../src/search/stop.js";
import { LocalExecutor } from "../../src/executors/index.js";
import type { Proposer } from "../../src/types.js";
import type { ResearchConfig } from "../../src/config/options.js";
import { Git } from "../../src/workspace/git.js";

/** A research config for tests on the fake projects of tests/helpers/repo.ts. */
export function testConfig(overrides: Partial<ResearchConfig> = {}): ResearchConfig {
  return {
    train: "train.js",
    readonly: ["prepare.js"],
    budgetSec: 5,
    metric: "val_loss",
    direction: "min",
    maxIterations: null,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag: "t1",
    results: "results.tsv",
    command: "node train.js",
    timeoutSec: 10,
    proposer: "plan",
    seed: 0,
    reportEvery: 10,
    ...overrides,
  };
}

export function testDeps(root: string, proposer: Proposer, events: SessionEvent[] = []): LoopDeps {
  return {
    git: new Git(root),
    executor: new LocalExecutor(),
    proposer,
    emit: (e) => events.push(e),
    now: () => new Date(),
    stop: new StopControl(),
    baseEnv: sanitizeEnv(process.env),
    graceMs: 200,
  };
}
