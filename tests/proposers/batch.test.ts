import { describe, expect, it } from "vitest";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { applyEdits } from "../../src/proposers/builtin/constants.js";
import { parseProposalBatch } from "../../src/proposers/llm/schema.js";
import { buildPrompt } from "../../src/proposers/prompt.js";
import type { Proposal } from "../../src/types.js";
import { makeContext, makeRecord, proposalArgs } from "../helpers/fake-providers.js";

const TRAIN = `LEARNING_RATE = 0.001
N_LAYER = 2
N_EMBD = 64
DROPOUT = 0.3
def evaluate(loss):
    return loss
`;

const moveOf = (p: Proposal) => {
  const c = p.changes?.[0];
  return `${c?.key}:${Math.sign((c?.to ?? 0) - (c?.from ?? 0))}`;
};

describe("builtin proposeMany", () => {
  it("after a win, a batch spreads over constants and directions instead of k step sizes of the winning move", async () => {
    const builtin = new BuiltinProposer({ seed: 3 });
    const baseline = makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 });
    const start = makeContext({ trainPath: "train.py", trainText: TRAIN, history: [baseline], best: baseline, baseline });
    const first = (await builtin.propose(start)) as Proposal;
    const won = makeRecord(1, { status: "keep", reason: "improved", metric: 0.9, description: first.description, ...(first.changes && { changes: first.changes }) });
    const text = applyEdits(TRAIN, first.edits ?? []) as string;
    const ctx = makeContext({ trainPath: "train.py", trainText: text, history: [baseline, won], best: won, baseline, iteration: 2 });

    const single = await builtin.propose(ctx);
    const batch = await builtin.proposeMany(ctx, 4);
    expect(batch).toHaveLength(4);
    // The batch starts with the move a single call makes (continue the winning direction) ...
    expect(batch[0]?.description).toBe(single?.description);
    // ... and the rest are other moves: no constant and direction twice, no script twice.
    expect(new Set(batch.map(moveOf)).size).toBe(4);
    expect(new Set(batch.map((p) => applyEdits(text, p.edits ?? []))).size).toBe(4);
    // Asked for one, it gives what propose gives.
    expect((await builtin.proposeMany(ctx, 1)).map((p) => p.description)).toEqual([single?.description]);
  });

  it("leaves out the moves in flight, and returns fewer than k (or none) when the moves run out", async () => {
    const builtin = new BuiltinProposer({ seed: 0 });
    const tiny = "N_LAYER = 2\n";
    const one = await builtin.proposeMany(makeContext({ trainPath: "train.py", trainText: tiny }), 8);
    expect(one.length).toBeGreaterThan(0);
    expect(one.length).toBeLessThan(8);
    const inFlight = one.map((p, i) => ({ id: i + 1, description: p.description, category: p.category, ...(p.changes && { changes: p.changes }) }));
    const rest = await builtin.proposeMany(makeContext({ trainPath: "train.py", trainText: tiny, inFlight }), 8);
    for (const p of rest) expect(one.map((o) => o.description)).not.toContain(p.description);
  });
});

describe("LLM batch replies", () => {
  it("each experiment is validated on its own: a bad one is named, the others are kept", () => {
    const parsed = parseProposalBatch({
      toolInput: { experiments: [proposalArgs("LR = 0.01", "LR = 0.02", "LR up"), { description: "no edits here", category: "training" }, { ...proposalArgs("A", "B", "rename"), category: "nonsense" }] },
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.items.map((i) => i.ok)).toEqual([true, false, false]);
    expect(parsed.items[1]).toMatchObject({ ok: false, description: "no edits here", error: expect.stringMatching(/edits/) });
    expect(parsed.items[2]).toMatchObject({ ok: false, description: "rename", error: expect.stringMatching(/category/) });
  });

  it("reads a ```json block, a bare array or one experiment; refuses a reply with none", () => {
    const one = proposalArgs("X = 1", "X = 2", "X up");
    expect(parseProposalBatch({ text: `Here:\n\`\`\`json\n${JSON.stringify({ experiments: [one, one] })}\n\`\`\`` })).toMatchObject({ ok: true, items: [{ ok: true }, { ok: true }] });
    expect(parseProposalBatch({ toolInput: JSON.stringify([one]) })).toMatchObject({ ok: true, items: [{ ok: true }] });
    expect(parseProposalBatch({ toolInput: one })).toMatchObject({ ok: true, items: [{ ok: true }] });
    expect(parseProposalBatch({ toolInput: { experiments: [] } })).toMatchObject({ ok: false, error: expect.stringMatching(/no `experiments`/) });
  });
});

describe("the brief for several workers and the tree", () => {
  it("names the workers, what is in flight on which node, what each sibling gave, the node built on, and asks for k at once", () => {
    const baseline = makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 });
    const a = makeRecord(1, { status: "keep", reason: "improved", metric: 0.9, description: "wider MLP", parent: baseline.commit });
    const ctx = makeContext({
      history: [baseline, a],
      best: a,
      workers: 4,
      inFlight: [
        { id: 2, description: "deeper model", category: "architecture", parent: 1 },
        { id: 3, description: "lower dropout", category: "training", parent: 0 },
      ],
      siblings: [
        { id: 4, description: "higher LR", status: "discard", delta: 0.012 },
        { id: 5, description: "bf16 everywhere", status: "crash", delta: null },
      ],
      buildsOn: { id: 1, why: "the best #6 has had 8 children in a row without a keep, so this builds on #1, another strong node" },
    });
    const single = buildPrompt(ctx);
    expect(single.user).toContain("Workers: 4 run experiments side by side; 2 are in flight now");
    expect(single.user).toContain("- #2 [architecture] deeper model (on #1)");
    expect(single.user).toContain("- #3 [training] lower dropout (on #0)");
    expect(single.user).toContain("## Earlier experiments built on #1 (the same code as yours): what each gave");
    expect(single.user).toContain("- #4 discard +0.012: higher LR");
    expect(single.user).toContain("- #5 crash —: bf16 everywhere");
    expect(single.user).toContain("## The node this experiment builds on");
    expect(single.user).toContain("It builds on experiment #1, not on the best: the best #6 has had 8 children in a row without a keep");
    expect(single.user.trimEnd().endsWith("Propose the next experiment.")).toBe(true);
    expect(single.system).toContain("Call the tool `propose_experiment` exactly once");

    const batch = buildPrompt(ctx, { batch: 3 });
    expect(batch.system).toContain("propose 3 experiments at once");
    expect(batch.system).toContain("Call the tool `propose_experiments` exactly once");
    expect(batch.system).toMatch(/spread them over different categories[^\n]*small factorial/);
    expect(batch.user.trimEnd().endsWith("Propose the next 3 experiments.")).toBe(true);
    // A coding agent is asked one at a time whatever the batch says.
    expect(buildPrompt(ctx, { batch: 3, replyFormat: "agent" }).user.trimEnd().endsWith("Propose the next experiment.")).toBe(true);
  });

  it("says when the script shown is a combination in flight on the best, and that the experiment is measured against the best", () => {
    const baseline = makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 });
    const a = makeRecord(1, { status: "keep", reason: "improved", metric: 0.9, description: "wider MLP", parent: baseline.commit });
    const user = buildPrompt(makeContext({ history: [baseline, a], best: a, workers: 4, combining: { ids: [2, 3], combination: 5 } })).user;
    expect(user).toContain("## The combination this experiment builds on");
    expect(user).toContain("the best #1 with the changes of #2, #3 applied on top");
    expect(user).toContain("runs now as #5");
    expect(user).toContain("measured against #1");
  });

  it("says nothing of workers, siblings or another node for a one-worker session on the best", () => {
    const user = buildPrompt(makeContext()).user;
    expect(user).not.toContain("Workers:");
    expect(user).not.toContain("## Earlier experiments built on");
    expect(user).not.toContain("## The node this experiment builds on");
    expect(user).not.toContain("## The combination this experiment builds on");
  });
});
