import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { createLlmProposer } from "../../src/proposers/llm/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { buildPrompt } from "../../src/proposers/prompt.js";
import type { ExperimentRecord, Proposal, ProposalContext, Proposer, RejectedProposal } from "../../src/types.js";
import { type FakeProvider, proposalArgs, startFakeProvider } from "../helpers/fake-providers.js";
import { cpuPlatform } from "../helpers/platforms.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

const records = (root: string): ExperimentRecord[] =>
  readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
const rejected = (root: string): RejectedProposal[] => {
  const text = readFileSync(recordPath(root, "rejected.jsonl"), "utf8").trim();
  return text ? text.split("\n").map((l) => JSON.parse(l) as RejectedProposal) : [];
};
const ms = (iso: string | undefined) => Date.parse(iso as string);

/** Records every request the scheduler makes of a proposer: how many proposals it asked for at once, and what it got. */
function recording(inner: Proposer): { proposer: Proposer; calls: { k: number; ctx: ProposalContext; got: Proposal[] }[] } {
  const calls: { k: number; ctx: ProposalContext; got: Proposal[] }[] = [];
  const proposer: Proposer = {
    name: inner.name,
    async propose(ctx, signal) {
      const got = await inner.propose(ctx, signal);
      calls.push({ k: 1, ctx, got: got ? [got] : [] });
      return got;
    },
    ...(inner.proposeMany && {
      async proposeMany(ctx: ProposalContext, k: number, signal?: AbortSignal) {
        const got = await (inner.proposeMany as NonNullable<Proposer["proposeMany"]>).call(inner, ctx, k, signal);
        calls.push({ k, ctx, got });
        return got;
      },
    }),
  };
  return { proposer, calls };
}

let provider: FakeProvider | null = null;
afterEach(async () => {
  await provider?.close();
  provider = null;
});

describe("proposals in batches", () => {
  it("a 4-worker builtin session asks for batches of distinct moves; no two experiments in flight are the same", async () => {
    // Eight constants, each run slow enough that the four workers overlap; every change a regression
    // (nothing kept), so each batch is made on the baseline and must spread over different moves.
    const train = `${Array.from({ length: 8 }, (_, i) => `const C${i} = 4;`).join("\n")}
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
console.log("val_loss: " + (1 + 0.01 * Math.abs(${Array.from({ length: 8 }, (_, i) => `C${i}`).join(" + ")} - 32)).toFixed(6));
`;
    const root = createRepo({ "train.js": train, "prepare.js": FAKE_PREPARE });
    const { proposer, calls } = recording(new BuiltinProposer({ seed: 1 }));
    const config = testConfig({ workers: 4, devices: ["0", "1", "2", "3"], maxIterations: 12, proposer: "builtin" });
    const outcome = await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, proposer));
    expect(outcome.reason).toMatch(/max iterations/);
    const experiments = records(root).filter((e) => e.id !== 0);
    expect(experiments.map((e) => e.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

    // The first request, with four workers free, asked for four proposals in one call.
    expect(calls[0]?.k).toBe(4);
    expect(calls.filter((c) => c.k > 1).length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      // Within a batch: k different moves, each on its own constant or in its own direction.
      const moves = call.got.map((p) => `${p.changes?.[0]?.key}:${Math.sign((p.changes?.[0]?.to ?? 0) - (p.changes?.[0]?.from ?? 0))}`);
      expect(new Set(moves).size).toBe(moves.length);
      expect(call.got.length).toBeLessThanOrEqual(call.k);
    }
    // Never two identical scripts in flight at once (nor at all): overlapping runs differ.
    expect(new Set(experiments.map((e) => e.trainHash)).size).toBe(experiments.length);
    const overlapping = experiments.flatMap((a) => experiments.filter((b) => a.id < b.id && ms(a.queuedAt) < ms(b.finishedAt) && ms(b.queuedAt) < ms(a.finishedAt)).map((b) => [a, b] as const));
    expect(overlapping.length).toBeGreaterThan(0);
    for (const [a, b] of overlapping) expect(a.description).not.toBe(b.description);
    // Each batch after the first was told what was in flight, with the node each is built on.
    const later = calls.find((c) => c.k > 1 && (c.ctx.inFlight?.length ?? 0) > 0);
    expect(later?.ctx.inFlight?.every((f) => f.parent === 0)).toBe(true);
    expect(later?.ctx.workers).toBe(4);
    expect(JSON.parse(readFileSync(recordPath(root, "state.json"), "utf8"))).toEqual({ runs: [] });
  });

  it("an LLM gets one request for several experiments; the invalid one is refused, the others run", async () => {
    provider = await startFakeProvider();
    const train = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DEPTH = 2;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
console.log("val_loss: " + (1 - LEARNING_RATE - WIDTH / 1000 - DEPTH / 1000).toFixed(6));
`;
    const root = createRepo({ "train.js": train, "prepare.js": FAKE_PREPARE, "README.md": "# batch\n" });
    provider.reply(
      {
        type: "tool",
        name: "propose_experiments",
        usage: [3000, 600],
        args: {
          experiments: [
            { ...proposalArgs("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;", "LR 0.01 -> 0.02"), expected_delta: -0.01 },
            // No edits: it does not match the schema, so it alone is refused.
            { description: "a deeper model, but no edits", category: "architecture", rationale: "more capacity" },
            { ...proposalArgs("const WIDTH = 16;", "const WIDTH = 32;", "WIDTH 16 -> 32"), category: "architecture", expected_delta: -0.016 },
          ],
        },
      },
      // Then one is wanted (the third of --max-iterations 3): asked for alone.
      { type: "tool", args: proposalArgs("const DEPTH = 2;", "const DEPTH = 3;", "DEPTH 2 -> 3"), usage: [1000, 100] },
    );
    const llm = createLlmProposer({ provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: provider.baseUrl, env: { ANTHROPIC_API_KEY: "test-key" } });
    const config = testConfig({ workers: 3, devices: ["0", "1", "2"], lookahead: 0, maxIterations: 3, proposer: "anthropic" });
    const outcome = await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, llm));
    expect(outcome.reason).toMatch(/max iterations/);

    // One HTTP request carried the batch: the batch tool, the brief asking for three.
    expect(provider.requests).toHaveLength(2);
    const first = provider.requests[0]?.body;
    expect(first.tools.map((t: { name: string }) => t.name)).toEqual(["propose_experiments"]);
    expect(JSON.stringify(first)).toContain("Propose the next 3 experiments.");
    expect(JSON.stringify(first)).toContain("Workers: 3 run experiments side by side");
    expect(provider.requests[1]?.body.tools.map((t: { name: string }) => t.name)).toEqual(["propose_experiment"]);

    const all = records(root);
    // Numbered in decision order (the two of the batch run side by side: either may finish first).
    expect(all.map((e) => e.id)).toEqual([0, 1, 2, 3]);
    const byName = (start: string) => all.find((e) => e.description.startsWith(start));
    expect(all.slice(1).map((e) => e.description.split(" ")[0]).sort()).toEqual(["DEPTH", "LR", "WIDTH"]);
    // The batch's tokens are counted once, on its first experiment.
    expect(byName("LR 0.01 -> 0.02")?.usage).toEqual({ inputTokens: 3000, outputTokens: 600 });
    expect(byName("WIDTH 16 -> 32")?.usage).toBeUndefined();
    // The invalid one is a refused proposal, with the schema's reason: it took no experiment number.
    const refused = rejected(root);
    expect(refused.map((r) => [r.iteration, r.description])).toEqual([[1, "a deeper model, but no edits"]]);
    expect(refused[0]?.reason).toMatch(/did not match the schema \(edits/);
    // The follow-up request was told of the refusal and of what is in flight, on which node.
    const second = JSON.stringify(provider.requests[1]?.body);
    expect(second).toContain("a deeper model, but no edits");
    expect(second).toMatch(/#1 \[hyperparameters\] LR 0\.01 -> 0\.02[^\n]*\(on #0\)|#2 \[architecture\] WIDTH 16 -> 32[^\n]*\(on #0\)/);
  });

  it("stagnation: after K children of the head in a row without a keep, a proposal builds on another strong node and is told so", async () => {
    // A: fast, the best. B: slow, kept too (it beat the baseline) but worse, and its change
    // touches A's line (no combination). A's children X1 (slow) and X3 regress: K = 2 in a row.
    const train = `const SLOW = 0;
const GAIN = 0;
const X1 = 0;
const X2 = 0;
const X3 = 0;
const X4 = 0;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150 + 1500 * SLOW + 3000 * X1);
console.log("val_loss: " + (1 - 0.1 * GAIN + 0.01 * (X1 + X2 + X3 + X4)).toFixed(6));
`;
    const root = createRepo({ "train.js": train, "prepare.js": FAKE_PREPARE });
    const step = (description: string, search: string, replace: string, planStep: number): Proposal => ({ description, category: "hyperparameters", edits: [{ search, replace }], planStep });
    const { proposer, calls } = recording(
      new PlanProposer([
        step("A: GAIN 2", "const GAIN = 0;", "const GAIN = 2;", 0),
        step("B: GAIN 1, slow", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 1;", 1),
        step("X1 up, slow", "const X1 = 0;", "const X1 = 1;", 2),
        step("X2 up", "const X2 = 0;", "const X2 = 1;", 3),
        step("X3 up", "const X3 = 0;", "const X3 = 1;", 4),
        step("X4 up", "const X4 = 0;", "const X4 = 1;", 5),
      ]),
    );
    const config = testConfig({ workers: 2, devices: ["0", "1"], lookahead: 0, stagnation: 2 });
    await research(root, { kind: "new", config, platform: cpuPlatform() }, testDeps(root, proposer));
    const all = records(root);
    const find = (prefix: string) => all.find((e) => e.description.startsWith(prefix)) as ExperimentRecord;
    const [a, b] = [find("A: GAIN 2"), find("B: GAIN 1")];
    expect([a.status, b.status]).toEqual(["keep", "keep"]);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(a.commit);
    // The first proposal made after A's second child in a row without a keep builds on B, not on the head A.
    const aChildren = all.filter((e) => e.parent === a.commit);
    expect(aChildren.length).toBeGreaterThanOrEqual(2);
    const away = all.filter((e) => e.parent === b.commit);
    expect(away).toHaveLength(1);
    const moved = away[0] as ExperimentRecord;
    expect(moved.parent).not.toBe(a.commit);
    // Decided before it was proposed: A's first two children, both not kept.
    const asked = calls.find((c) => c.ctx.buildsOn !== undefined);
    expect(asked?.ctx.buildsOn?.id).toBe(b.id);
    expect(asked?.ctx.best.id).toBe(b.id);
    expect(asked?.ctx.buildsOn?.why).toMatch(new RegExp(`the best #${a.id} has had 2 children in a row without a keep`));
    expect(moved.description).toBe(asked?.got[0]?.description);
    // The brief says so, and shows B's children so far (none) and the head's stagnation in its history.
    const brief = buildPrompt(asked?.ctx as ProposalContext).user;
    expect(brief).toContain("## The node this experiment builds on");
    expect(brief).toContain(`It builds on experiment #${b.id}, not on the best`);
    expect(asked?.ctx.trainText).toContain("const SLOW = 1;\nconst GAIN = 1;");
    // The rotation goes back to the head afterwards: the proposal after it is on A again.
    expect(calls.filter((c) => c.ctx.buildsOn !== undefined)).toHaveLength(1);
  });
});
