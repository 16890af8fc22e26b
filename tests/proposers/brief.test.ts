import { describe, expect, it } from "vitest";
import { adjustmentsFor } from "../../src/platform/adjustments.js";
import { buildPrompt, DEFAULT_PROMPT_MAX_CHARS } from "../../src/proposers/prompt.js";
import type { ExperimentRecord, MemoryEntry, PlatformInfo, ProposalContext, RunFacts } from "../../src/types.js";
import { CPU_PLATFORM, makeContext, makeRecord } from "../helpers/fake-providers.js";

const RUN: RunFacts = { budgetSec: 3, timeoutSec: 10, maxIterations: 12, spentUsd: 0, keepRule: "kept when better by any margin." };

const TORCH_TRAIN = `import os
import torch
import torch.nn.functional as F

BATCH_SIZE = 64
BATCH_SCALE = float(os.environ.get("AUTORESEARCH_BATCH_SCALE", "1"))
print(f"val_bpb: {1.0:.6f}")
`;

const JS_TRAIN = `const LEARNING_RATE = 0.06;
const BATCH_SIZE = 32;
const BATCH_SCALE = Number(process.env.AUTORESEARCH_BATCH_SCALE ?? 1);
console.log("val_bpb: 1.0");
`;

const CUDA: PlatformInfo = {
  kind: "cuda",
  label: "CUDA",
  device: "cuda",
  os: "linux",
  detail: "NVIDIA H100 80GB HBM3",
  source: "torch",
  adjustments: adjustmentsFor("cuda", { torchVersion: "2.5.1", bf16: true }),
};

function entry(kind: MemoryEntry["kind"], text: string, extra: Partial<MemoryEntry> = {}): MemoryEntry {
  return { at: "2025-01-01T00:00:00.000Z", kind, text, source: "model", ...extra };
}

function history(n: number, make: (i: number) => Partial<ExperimentRecord> = () => ({})): ExperimentRecord[] {
  const rows: ExperimentRecord[] = [makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 })];
  for (let i = 1; i <= n; i++) rows.push(makeRecord(i, make(i)));
  return rows;
}

function ctxWith(overrides: Partial<ProposalContext>): ProposalContext {
  const base = makeContext({ run: RUN, ...overrides });
  const rows = base.history;
  const kept = rows.filter((r) => r.status === "keep");
  return { ...base, baseline: rows[0] as ExperimentRecord, best: kept[kept.length - 1] as ExperimentRecord };
}

describe("the brief: the run's realities", () => {
  it("states the budget, iteration k of N, time and cost left", () => {
    const { user } = buildPrompt(ctxWith({ iteration: 4, run: { ...RUN, maxTimeSec: 3600, timeLeftSec: 1500, spentUsd: 0.4, maxCostUsd: 2 } }));
    expect(user).toContain("Iteration: 4 of 12 (8 more after this one)");
    expect(user).toContain("each run trains for 3 s (the script reads AUTORESEARCH_TIME_BUDGET=3); a run still going after 10 s is killed");
    expect(user).toContain("Session time left: 25 min of 60 min.");
    expect(user).toContain("Proposal cost so far: $0.40 of $2.00.");
    const unlimited = buildPrompt(ctxWith({ iteration: 7, run: { ...RUN, maxIterations: null } })).user;
    expect(unlimited).toContain("Iteration: 7 (no iteration limit)");
    expect(unlimited).not.toContain("Proposal cost");
  });

  it("says how much the step count varies between runs, when the runs print it", () => {
    const varied = history(4, (i) => ({ steps: [3500, 5900, 4100, 4000][i - 1] }));
    expect(buildPrompt(ctxWith({ history: varied })).user).toContain("the last 4 runs that printed a step count did 3500 to 5900 steps in the same budget");
    const steady = history(4, (i) => ({ steps: 4000 + i * 10 }));
    expect(buildPrompt(ctxWith({ history: steady })).user).not.toContain("Run-to-run speed");
    expect(buildPrompt(ctxWith({ history: history(4) })).user).not.toContain("Run-to-run speed");
  });

  it("says what batch the script really runs when it reads the batch scale", () => {
    const js = buildPrompt(ctxWith({ trainPath: "train.js", trainText: JS_TRAIN })).user;
    expect(js).toContain("its batch size is multiplied by 0.25 (BATCH_SIZE = 32 runs as 8)");
    expect(js).toContain("do not shrink it again");
    const ignores = buildPrompt(ctxWith({ trainPath: "train.js", trainText: 'const BATCH_SIZE = 32;\nconsole.log("val_bpb: 1");\n' })).user;
    expect(ignores).toContain("does not read AUTORESEARCH_BATCH_SCALE, so its batch constants run as written");
  });
});

describe("the brief: platform notes that fit the script", () => {
  it("gives PyTorch settings only to a script that imports torch", () => {
    const torch = buildPrompt(ctxWith({ trainText: TORCH_TRAIN, platform: CUDA })).user;
    expect(torch).toContain("PyTorch settings for this platform: torch.compile on (mode reduce-overhead); attention SDPA; mixed precision bf16");
    expect(torch).toContain("F.scaled_dot_product_attention");
    const torchCpu = buildPrompt(ctxWith({ trainText: TORCH_TRAIN, platform: CPU_PLATFORM })).user;
    expect(torchCpu).toContain("torch.compile off");
    expect(torchCpu).toContain("BATCH_SIZE = 64 runs as 16");
    // Adjustments as facts of this run, without the project's internal references.
    expect(torchCpu).toContain("- torch.compile is off (optional on CPU");
    expect(torchCpu).not.toMatch(/spec \d|reduce 4-8x/);

    const js = buildPrompt(ctxWith({ trainPath: "train.js", trainText: JS_TRAIN }));
    const all = js.system + js.user;
    expect(all).toContain("The script does not use PyTorch, so no PyTorch settings apply to it. It runs on the CPU.");
    expect(all).not.toMatch(/torch\.compile|SDPA|FlashAttention|sliding-window|autocast|spec \d/);
  });
});

describe("the brief: rules as the loop applies them", () => {
  it("states the keep rule in force, the simplicity rule as implemented and what a repeat is", () => {
    const { system } = buildPrompt(ctxWith({ run: { ...RUN, keepRule: "THE RULE IN FORCE." } }));
    expect(system).toContain("- Keep rule: THE RULE IN FORCE.");
    expect(system).toContain("only an exactly equal metric is decided by size");
    expect(system).toContain("A gain of any size is kept however many lines it adds");
    expect(system).toContain("identical to one already run is refused");
    expect(system).toContain("fixing a trivial crash");
    expect(system).not.toContain("never retry a change that crashed");
    expect(system).not.toContain("A deletion that keeps performance is better than an addition");
  });

  it("never treats a seed as a hyperparameter, and gives the measured noise once known", () => {
    const plain = buildPrompt(ctxWith({ run: RUN })).system;
    expect(plain).toContain("Never change a random seed: each run's seed is set by the loop (AUTORESEARCH_SEED)");
    expect(plain).not.toContain("measured:");
    const measured = buildPrompt(ctxWith({ run: { ...RUN, noiseFloor: 0.0123 } })).system;
    expect(measured).toContain("run-to-run spread (measured: 0.0123, the standard deviation of repeated runs of the same code)");
  });
});

describe("the brief: memory", () => {
  it("shows findings, dead ends and the backlog, the user's marked, and recent rationale", () => {
    const rows = history(2, (i) => ({ rationale: `rationale of ${i}`, status: i === 1 ? "keep" : "discard", reason: i === 1 ? "improved" : "regression", metric: i === 1 ? 0.9 : 0.95, bestBefore: i === 1 ? 1.0 : 0.9 }));
    const memory = [
      entry("finding", "higher LR helps", { experiment: 1 }),
      entry("dead-end", "dropout hurts", { experiment: 2 }),
      entry("idea", "try a cosine schedule", { experiment: 2 }),
      entry("idea", "try rotary embeddings", { source: "user" }),
      entry("finding", "the data is tiny", { source: "user" }),
    ];
    const { user } = buildPrompt(ctxWith({ history: rows, memory, iteration: 3 }));
    expect(user).toContain("Findings (last 2):\n- #1: higher LR helps\n- [user] the data is tiny");
    expect(user).toContain("Dead ends (last 1):\n- #2: dropout hurts");
    expect(user).toContain("Ideas backlog:\n- [user] try rotary embeddings\n- try a cosine schedule");
    expect(user).toContain("why: rationale of 1");
    expect(user).toContain("why: rationale of 2");
  });

  it("rotates a long backlog instead of re-reading it from the top, keeping the user's ideas in view", () => {
    const memory = [entry("idea", "user idea", { source: "user" }), ...Array.from({ length: 20 }, (_, i) => entry("idea", `model idea ${i}`))];
    const shown = (iteration: number) =>
      buildPrompt(ctxWith({ memory, iteration }))
        .user.split("\n")
        .filter((l) => l.startsWith("- model idea"));
    const a = shown(1);
    const b = shown(2);
    expect(a).toHaveLength(7);
    expect(b).toHaveLength(7);
    expect(a.filter((l) => b.includes(l))).toEqual([]);
    for (const it of [1, 2, 3]) expect(buildPrompt(ctxWith({ memory, iteration: it })).user).toContain("- [user] user idea");
    expect(buildPrompt(ctxWith({ memory, iteration: 1 })).user).toContain("Ideas backlog (8 of 21; the window moves on each iteration)");
  });
});

describe("the brief: predictions and diversity", () => {
  it("shows predicted against actual per experiment and a calibration line", () => {
    const rows = history(2, (i) => ({ expectedDelta: -0.05, metric: i === 1 ? 0.97 : 1.01, bestBefore: i === 1 ? 1.0 : 0.97, status: i === 1 ? "keep" : "discard", reason: i === 1 ? "improved" : "regression" }));
    const { user } = buildPrompt(ctxWith({ history: rows, iteration: 3 }));
    expect(user).toContain("1 | keep | 0.97 | -0.03 | -0.05 | hyperparameters | experiment 1 | improved |");
    expect(user).toContain("2 | discard | 1.01 | +0.04 | -0.05 | hyperparameters | experiment 2 | regression |");
    expect(user).toContain("delta -0.03 (lower is better); you predicted -0.05");
    expect(user).toContain("Your predictions so far: 2 predictions: the right way (better or not) 1 of 2 times; mean error 0.055; optimistic by 0.055 on average.");
  });

  it("asks for another category after K failures in a row in one, and not after a keep", () => {
    const failing = history(3, () => ({ category: "optimizer", status: "discard", reason: "regression" }));
    const stuck = buildPrompt(ctxWith({ history: failing, failureStreak: 3, scope: ["architecture", "optimizer", "training"] })).user;
    expect(stuck).toContain("Diversity: the last 3 experiments were all `optimizer` changes and none was kept. Propose a change in another category (architecture, training) this time.");
    const mixed = history(3, (i) => ({ category: "optimizer", status: i === 2 ? "keep" : "discard", reason: i === 2 ? "improved" : "regression" }));
    expect(buildPrompt(ctxWith({ history: mixed })).user).not.toContain("Diversity:");
    const two = history(2, () => ({ category: "optimizer", status: "discard", reason: "regression" }));
    expect(buildPrompt(ctxWith({ history: two })).user).not.toContain("Diversity:");
  });
});

describe("the brief: bounded size", () => {
  it("stays under the budget at 1,000 experiments and keeps the notes, recent rows and kept changes", () => {
    const rows = history(1000, (i) => ({
      description: `variant ${i} of the model with a long enough description to take room in the table`,
      rationale: `a rationale that explains at some length why variant ${i} should help the metric `.repeat(3),
      status: i % 50 === 0 ? "keep" : "discard",
      reason: i % 50 === 0 ? "improved" : "regression",
      expectedDelta: -0.01,
      steps: 4000 + i,
      trainingSec: 3,
    }));
    const memory = Array.from({ length: 1000 }, (_, i) => entry(i % 3 === 0 ? "idea" : i % 3 === 1 ? "finding" : "dead-end", `note ${i} ${"x".repeat(250)}`, { experiment: i }));
    memory.push(entry("idea", "the user's idea", { source: "user" }));
    const ctx = ctxWith({ history: rows, memory, iteration: 1001 });
    const { system, user } = buildPrompt(ctx);
    expect(system.length + user.length).toBeLessThanOrEqual(DEFAULT_PROMPT_MAX_CHARS);
    expect(user).toContain("- [user] the user's idea");
    expect(user).toContain("Findings (last 12):");
    expect(user).toContain("Dead ends (last 12):");
    expect(user).toContain("\n1000 | keep |");
    expect(user).toMatch(/Kept among them/);
    expect(user).toContain("why: a rationale that explains at some length why variant 1000");
    // Under a tight budget the table shrinks first; the notes stay.
    const tight = buildPrompt(ctx, { maxChars: 30_000 });
    expect(tight.system.length + tight.user.length).toBeLessThanOrEqual(30_000);
    expect(tight.user).toContain("- [user] the user's idea");
    expect(tight.user).toContain("Findings (last 12):");
  });
});
