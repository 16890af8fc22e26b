import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportHooks } from "../../src/cli/report-hooks.js";
import { parseResults } from "../../src/ledger/results-tsv.js";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { ProposalFailed } from "../../src/proposers/errors.js";
import type { Proposal, ProposalContext, Proposer } from "../../src/types.js";
import type { ResearchConfig } from "../../src/config/options.js";
import { cli } from "../helpers/cli.js";
import { fakeProject, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";
import { cpuPlatform } from "../helpers/platforms.js";

const CPU = cpuPlatform("test cpu");

/** The builtin search, with each proposal taking an hour of a fake clock and costing $0.40. */
class TimedProposer implements Proposer {
  readonly name = "builtin";
  private readonly inner = new BuiltinProposer({ seed: 1 });
  constructor(private readonly clock: { t: number }) {}
  async propose(ctx: ProposalContext): Promise<Proposal | null> {
    this.clock.t += 3_600_000;
    const proposal = await this.inner.propose(ctx);
    return proposal && { ...proposal, costUsd: 0.4, usage: { inputTokens: 100, outputTokens: 10 } };
  }
}

async function session(overrides: Partial<ResearchConfig>, withReports = false) {
  const root = fakeProject();
  const clock = { t: Date.parse("2026-11-26T20:00:00Z") };
  const events: SessionEvent[] = [];
  const deps = { ...testDeps(root, new TimedProposer(clock), events), now: () => new Date(clock.t), ...(withReports ? reportHooks() : {}) };
  const outcome = await research(root, { kind: "new", config: testConfig({ proposer: "builtin", ...overrides }), platform: CPU }, deps);
  const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
  return { root, outcome, rows, events };
}

describe("stopping (Phase 3)", () => {
  it("--stop-when stops as soon as the best metric meets the condition", async () => {
    // Baseline val_loss is 1.62; a win on LEARNING_RATE (x2: 1.32) brings it under 1.5.
    const { outcome, rows } = await session({ stopWhen: "val_loss <= 1.5", maxIterations: 20 });
    expect(outcome.reason).toMatch(/^stop condition met: val_loss <= 1\.5/);
    const best = rows.filter((r) => r.status === "keep").reduce((a, b) => ((b.metric as number) < (a.metric as number) ? b : a));
    expect(best?.metric).toBeLessThanOrEqual(1.5);
    expect(rows.length).toBeLessThan(21);
    // It stopped at the first experiment that met it.
    expect(rows.slice(0, -1).every((r) => r.status !== "keep" || (r.metric as number) > 1.5)).toBe(true);
  });

  it("--max-time stops between experiments once the wall time is used", async () => {
    // Serial (no proposal made ahead): checked before each proposal.
    const { outcome, rows } = await session({ maxTimeSec: 2.5 * 3600, lookahead: 0 });
    expect(outcome.reason).toBe(`reached max time (${2.5 * 3600}s)`);
    expect(rows).toHaveLength(4); // baseline + the three proposals made at 1h, 2h, 3h
    // Made ahead: the proposal made at 3h (while the one made at 2h ran) was paid for and still runs; nothing more is proposed.
    const ahead = await session({ maxTimeSec: 2.5 * 3600, lookahead: 1 });
    expect(ahead.outcome.reason).toBe(`reached max time (${2.5 * 3600}s)`);
    expect(ahead.rows).toHaveLength(4);
    expect(JSON.parse(readFileSync(recordPath(ahead.root, "state.json"), "utf8"))).toEqual({ runs: [] });
  });

  it("--max-cost stops when the proposer's spending reaches the limit", async () => {
    const { outcome, rows, root } = await session({ maxCostUsd: 1 });
    expect(outcome.reason).toBe("reached max cost ($1.20 of $1)");
    expect(rows).toHaveLength(4);
    const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n");
    expect(JSON.parse(records[3] as string).costUsd).toBe(0.4);
  });

  it("--max-cost counts what failed agent attempts cost (read from the agent's output)", async () => {
    const root = fakeProject();
    const failing: Proposer = {
      name: "agent",
      async propose() {
        throw new ProposalFailed("agent-no-change", "the agent did not change train.js", [], { costUsd: 0.3, usage: { inputTokens: 900, outputTokens: 40 } });
      },
    };
    const outcome = await research(root, { kind: "new", config: testConfig({ proposer: "agent", maxCostUsd: 1, maxIterations: 10 }), platform: CPU }, testDeps(root, failing, []));
    // Three attempts per iteration, checked between iterations: 0.9 goes on, 1.8 stops.
    expect(outcome.reason).toBe("reached max cost ($1.80 of $1)");
    const rejected = readFileSync(recordPath(root, "rejected.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rejected).toHaveLength(6);
    expect(rejected[0]).toMatchObject({ costUsd: 0.3, usage: { inputTokens: 900, outputTokens: 40 } });
  });

  it("--report-every N emits the spec's progress report every N experiments and keeps progress.md current", async () => {
    const { events, root } = await session({ maxIterations: 4, reportEvery: 2 }, true);
    const reports = events.filter((e) => e.type === "progress-report");
    expect(reports.map((e) => (e.type === "progress-report" ? e.iteration : -1))).toEqual([2, 4]);
    const progress = readFileSync(recordPath(root, "progress.md"), "utf8");
    expect(progress).toContain("## AutoResearch Progress — Iteration 4");
    expect(progress).toContain("**Iterations:** 4 / 4");
    expect(existsSync(join(root, "autoresearch-summary.md"))).toBe(true);
  });
});

describe("run --json", () => {
  it("prints only NDJSON events on stdout", () => {
    const root = fakeProject();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "2", "--yes", "--json"];
    const result = cli(root, args);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type: string; at: string });
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("session-start");
    expect(types.filter((t) => t === "experiment")).toHaveLength(3);
    expect(types.at(-1)).toBe("session-end");
    expect(events.every((e) => typeof e.at === "string")).toBe(true);
  });
});
