import { describe, expect, it } from "vitest";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { applyEdits, parseConstants } from "../../src/proposers/builtin/constants.js";
import { describeChange, parseChanges } from "../../src/proposers/builtin/history.js";
import { builtinRecord } from "../helpers/builtin-record.js";
import { cpuPlatform } from "../helpers/platforms.js";
import type { Category, ExperimentRecord, Proposal, ProposalContext, RejectedProposal, Scope, Status } from "../../src/types.js";

const PLATFORM = cpuPlatform("test");

/**
 * A builtin experiment as the loop records it today: with the proposal's `changes`. Records
 * built with `record` alone carry only a description, as builtin records written before the
 * field did (their descriptions are still read).
 */
function fromProposal(id: number, proposal: Proposal, status: Status, metric: number | null, description = proposal.description): ExperimentRecord {
  return { ...record(id, description, status, proposal.category, metric), ...(proposal.changes && { changes: proposal.changes }) };
}

function record(id: number, description: string, status: Status, category: Category | "baseline", metric: number | null, reason = ""): ExperimentRecord {
  return builtinRecord({
    id,
    commit: `c${id}`.padEnd(40, "0"),
    parent: "p".padEnd(40, "0"),
    description,
    category,
    status,
    reason: reason || (status === "keep" ? "improved" : status === "crash" ? "exit-code" : "regression"),
    metric,
  });
}

const BASELINE = record(0, "Baseline — no modifications", "keep", "baseline", 10);

interface CtxOptions {
  history?: ExperimentRecord[];
  scope?: Scope[];
  failureStreak?: number;
  feedback?: string;
  oomRetry?: ProposalContext["oomRetry"];
  trainPath?: string;
  rejected?: RejectedProposal[];
}

function context(trainText: string, options: CtxOptions = {}): ProposalContext {
  const history = options.history ?? [BASELINE];
  const kept = history.filter((r) => r.status === "keep");
  let streak = 0;
  for (let i = history.length - 1; i >= 0 && history[i]?.status !== "keep"; i--) streak++;
  return {
    iteration: history.length,
    trainPath: options.trainPath ?? "train.py",
    trainText,
    readonlyFiles: [],
    readme: null,
    metric: { name: "val_loss", direction: "min" },
    history,
    rejected: options.rejected ?? [],
    baseline: history[0] ?? BASELINE,
    best: kept[kept.length - 1] ?? BASELINE,
    failureStreak: options.failureStreak ?? streak,
    platform: PLATFORM,
    scope: options.scope ?? ["architecture", "hyperparameters", "optimizer", "training"],
    feedback: options.feedback,
    oomRetry: options.oomRetry,
  };
}

// ---------------------------------------------------------------- simulation

const START = `# toy training script
import math

LEARNING_RATE = 0.001   # too low
BATCH_SIZE = 256
N_LAYER = 2
N_EMBD = 64
WEIGHT_DECAY = 0.0
DROPOUT = 0.3
ADAM_BETAS = (0.5, 0.999)
WARMUP_STEPS = 1000
SEED = 1337

def train():
    lr = LEARNING_RATE
    return lr
`;

function values(text: string): Map<string, number> {
  return new Map(parseConstants(text, "python").map((c) => [c.key, c.value]));
}

/** A quadratic bowl in (mostly log-) space with its minimum away from the start. */
function objective(text: string): number {
  const v = values(text);
  const g = (k: string): number => v.get(k) ?? Number.NaN;
  return (
    1 +
    Math.log2(g("LEARNING_RATE") / 0.01) ** 2 +
    Math.log2(g("BATCH_SIZE") / 32) ** 2 +
    ((g("N_LAYER") - 6) / 2) ** 2 +
    Math.log2(g("N_EMBD") / 256) ** 2 +
    ((g("WEIGHT_DECAY") - 0.1) / 0.05) ** 2 +
    ((g("DROPOUT") - 0.05) / 0.1) ** 2 +
    Math.log10((1 - g("ADAM_BETAS[0]")) / 0.1) ** 2 +
    Math.log10((1 - g("ADAM_BETAS[1]")) / 0.05) ** 2 +
    0.5 * Math.log2(g("WARMUP_STEPS") / 250) ** 2
  );
}

function configOf(text: string): string {
  return [...values(text).entries()].map(([k, x]) => `${k}=${x}`).join(";");
}

function keyOf(proposal: Proposal | null): string | undefined {
  return proposal?.changes?.[0]?.key;
}

/** Runs the proposer until null (or `limit`), every experiment discarded. Returns the proposals. */
async function exhaust(text: string, options: CtxOptions & { seed?: number; limit?: number } = {}): Promise<Proposal[]> {
  const proposer = new BuiltinProposer({ seed: options.seed ?? 1 });
  const history = [...(options.history ?? [BASELINE])];
  const out: Proposal[] = [];
  for (let i = 0; i < (options.limit ?? 200); i++) {
    const proposal = await proposer.propose(context(text, { ...options, history }));
    if (proposal === null) return out;
    out.push(proposal);
    history.push(fromProposal(history.length, proposal, "discard", 11));
  }
  return out;
}

describe("description format", () => {
  it("round-trips through parseChanges", () => {
    const text = `${describeChange("LEARNING_RATE", "0.01", "0.02", "x2")} + ${describeChange("TOTAL_BATCH_SIZE", "2 ** 19", "2 ** 18", "halve after OOM")}`;
    expect(text).toBe("LEARNING_RATE 0.01 -> 0.02 (x2) + TOTAL_BATCH_SIZE 2**19 -> 2**18 (halve after OOM)");
    expect(parseChanges(text)).toEqual([
      { key: "LEARNING_RATE", from: 0.01, to: 0.02, fromText: "0.01", toText: "0.02", tag: "x2" },
      { key: "TOTAL_BATCH_SIZE", from: 2 ** 19, to: 2 ** 18, fromText: "2**19", toText: "2**18", tag: "halve after OOM" },
    ]);
    expect(parseChanges("ADAM_BETAS[1] 0.95 -> 0.975 (1-b x0.5): regression")[0]?.key).toBe("ADAM_BETAS[1]");
    expect(parseChanges("Deeper MLP: 4 -> 8 layers")).toEqual([]);
  });
});

const SCRIPT = `LEARNING_RATE = 0.01
BATCH_SIZE = 64
N_LAYER = 4
N_EMBD = 256
WEIGHT_DECAY = 0.1
DROPOUT = 0.1
SEED = 0
`;

function withValue(text: string, line: string, replacement: string): string {
  if (!text.includes(line)) throw new Error(line);
  return text.replace(line, replacement);
}

describe("hypothesis discipline", () => {
  const proposer = new BuiltinProposer({ seed: 7 });

  it("opens with the learning rate and fills the proposal", async () => {
    const p = await proposer.propose(context(SCRIPT));
    expect(keyOf(p)).toBe("LEARNING_RATE");
    expect(p?.category).toBe("optimizer");
    expect(p?.description).toMatch(/^LEARNING_RATE 0\.01 -> 0\.0(2|05) \(x(2|0\.5)\)$/);
    expect(p?.direction).toMatch(/^tuning LEARNING_RATE (up|down)ward$/);
    expect(p?.rationale).toBeTruthy();
    expect(p?.edits).toHaveLength(1);
  });

  it("does not propose ahead a change to a constant a run in flight changes (unless nothing else is left)", async () => {
    const first = await proposer.propose(context(SCRIPT));
    expect(keyOf(first)).toBe("LEARNING_RATE");
    const inFlight = [{ id: 1, description: first?.description ?? "", category: "optimizer" as const, ...(first?.changes && { changes: first.changes }) }];
    const ahead = await proposer.propose({ ...context(SCRIPT), inFlight });
    expect(keyOf(ahead)).not.toBe("LEARNING_RATE");
    expect(ahead).not.toBeNull();
    // A script with only that constant: it is still tuned (another value), rather than nothing proposed.
    const only = "LEARNING_RATE = 0.01\n";
    const lone = await proposer.propose(context(only));
    const next = await proposer.propose({ ...context(only), inFlight: [{ id: 1, description: lone?.description ?? "", category: "optimizer", ...(lone?.changes && { changes: lone.changes }) }] });
    expect(keyOf(next)).toBe("LEARNING_RATE");
    expect(next?.description).not.toBe(lone?.description);
  });

  it("after a win on LR upward, goes further up", async () => {
    const text = withValue(SCRIPT, "LEARNING_RATE = 0.01", "LEARNING_RATE = 0.02");
    const history = [BASELINE, record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "keep", "optimizer", 9)];
    const p = await proposer.propose(context(text, { history }));
    expect(p?.description).toBe("LEARNING_RATE 0.02 -> 0.04 (x2)");
    expect(p?.direction).toBe("tuning LEARNING_RATE upward");
  });

  it("after a win on LR downward, goes further down", async () => {
    const text = withValue(SCRIPT, "LEARNING_RATE = 0.01", "LEARNING_RATE = 0.005");
    const history = [BASELINE, record(1, "LEARNING_RATE 0.01 -> 0.005 (x0.5)", "keep", "optimizer", 9)];
    const p = await proposer.propose(context(text, { history }));
    expect(p?.description).toBe("LEARNING_RATE 0.005 -> 0.0025 (x0.5)");
  });

  it("after a win then an overshoot, tries a finer step between", async () => {
    const text = withValue(SCRIPT, "LEARNING_RATE = 0.01", "LEARNING_RATE = 0.02");
    const history = [
      BASELINE,
      record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "keep", "optimizer", 9),
      record(2, "LEARNING_RATE 0.02 -> 0.04 (x2)", "discard", "optimizer", 9.5),
    ];
    const p = await proposer.propose(context(text, { history }));
    expect(p?.description).toBe("LEARNING_RATE 0.02 -> 0.03 (x1.5)");
    expect(p?.direction).toBe("refining LEARNING_RATE around 0.02");
    history.push(record(3, p?.description ?? "", "discard", "optimizer", 9.2));
    const q = await proposer.propose(context(text, { history }));
    expect(q?.description).toBe("LEARNING_RATE 0.02 -> 0.0133 (x0.67)");
  });

  it("never steps past a value already known to be worse", async () => {
    const text = withValue(SCRIPT, "LEARNING_RATE = 0.01", "LEARNING_RATE = 0.03");
    const history = [
      BASELINE,
      record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "keep", "optimizer", 9),
      record(2, "LEARNING_RATE 0.02 -> 0.04 (x2)", "discard", "optimizer", 9.5),
      record(3, "LEARNING_RATE 0.02 -> 0.03 (x1.5)", "keep", "optimizer", 8.9),
    ];
    const p = await proposer.propose(context(text, { history }));
    // x1.5 again would give 0.045, past 0.04 which lost: a finer step instead.
    expect(p?.description).toBe("LEARNING_RATE 0.03 -> 0.0375 (x1.25)");
  });

  it("after a loss on LR x2, tries LR x0.5", async () => {
    const history = [BASELINE, record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "discard", "optimizer", 11)];
    const p = await proposer.propose(context(SCRIPT, { history }));
    expect(p?.description).toBe("LEARNING_RATE 0.01 -> 0.005 (x0.5)");
    expect(p?.direction).toBe("tuning LEARNING_RATE downward");
  });

  it("treats a crash as a loss", async () => {
    const history = [BASELINE, record(1, "LEARNING_RATE 0.01 -> 0.005 (x0.5)", "crash", "optimizer", null)];
    const p = await proposer.propose(context(SCRIPT, { history }));
    expect(p?.description).toBe("LEARNING_RATE 0.01 -> 0.02 (x2)");
  });

  it("after both sides lost, moves to another constant (batch next)", async () => {
    const history = [
      BASELINE,
      record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "discard", "optimizer", 11),
      record(2, "LEARNING_RATE 0.01 -> 0.005 (x0.5)", "discard", "optimizer", 11),
    ];
    const p = await proposer.propose(context(SCRIPT, { history }));
    expect(keyOf(p)).toBe("BATCH_SIZE");
    expect(p?.description).toBe("BATCH_SIZE 64 -> 32 (x0.5)");
    expect(p?.category).toBe("training");
  });

  it("after 3 failures in a row, switches to an untried constant of another category", async () => {
    const history = [
      BASELINE,
      record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "discard", "optimizer", 11),
      record(2, "LEARNING_RATE 0.01 -> 0.005 (x0.5)", "discard", "optimizer", 11),
      record(3, "BATCH_SIZE 64 -> 32 (x0.5)", "discard", "training", 11),
    ];
    const p = await proposer.propose(context(SCRIPT, { history }));
    expect(p?.category).toBe("architecture");
    expect(["N_LAYER", "N_EMBD"]).toContain(keyOf(p));
    expect(p?.direction).toMatch(/after 3 failures/);
    // Without the streak the normal order would have finished the batch campaign first.
    const q = await proposer.propose(context(SCRIPT, { history, failureStreak: 2 }));
    expect(q?.description).toBe("BATCH_SIZE 64 -> 128 (x2)");
  });

  it("after 3 failures with nothing new to switch to, makes a bigger jump", async () => {
    const text = "LEARNING_RATE = 0.01\nWEIGHT_DECAY = 0.1\n";
    const history = [
      BASELINE,
      record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "discard", "optimizer", 11),
      record(2, "LEARNING_RATE 0.01 -> 0.005 (x0.5)", "discard", "optimizer", 11),
      record(3, "WEIGHT_DECAY 0.1 -> 0.2 (x2)", "discard", "optimizer", 11),
    ];
    const p = await proposer.propose(context(text, { history }));
    expect(p?.description).toMatch(/\((x4|x0\.25)\)$/);
  });
});

describe("builtin proposer: simulated session", () => {
  /** `opaqueDescriptions`: records say only "experiment N", so the search can only use their `changes`. */
  async function simulate(seed: number, iterations: number, freshProposerEachTime = false, opaqueDescriptions = false) {
    let proposer = new BuiltinProposer({ seed });
    let best = START;
    let bestScore = objective(START);
    const history: ExperimentRecord[] = [record(0, "Baseline — no modifications", "keep", "baseline", bestScore)];
    const configs = [configOf(START)];
    const descriptions: string[] = [];
    const scores: number[] = [];
    for (let i = 1; i <= iterations; i++) {
      if (freshProposerEachTime) proposer = new BuiltinProposer({ seed });
      const proposal = await proposer.propose(context(best, { history }));
      if (proposal === null) break;
      descriptions.push(proposal.description);
      expect(proposal.edits).toHaveLength(1);
      const text = applyEdits(best, proposal.edits ?? []);
      if (text === null) throw new Error(`edit did not apply: ${proposal.description}`);
      configs.push(configOf(text));
      const score = objective(text);
      scores.push(score);
      const status: Status = score < bestScore ? "keep" : "discard";
      history.push(fromProposal(i, proposal, status, score, opaqueDescriptions ? `experiment ${i}` : proposal.description));
      if (status === "keep") {
        best = text;
        bestScore = score;
      }
    }
    return { start: objective(START), end: bestScore, configs, descriptions, scores };
  }

  it("improves a quadratic bowl over 40 iterations without repeating a configuration", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const result = await simulate(seed, 40);
      expect(result.descriptions).toHaveLength(40);
      expect(new Set(result.configs).size).toBe(result.configs.length);
      expect(result.end).toBeLessThan(result.start / 4);
    }
  });

  it("is deterministic and stateless: the same seed gives the same session, even with a new proposer each time", async () => {
    const a = await simulate(5, 25);
    const b = await simulate(5, 25, true);
    expect(b.descriptions).toEqual(a.descriptions);
  });

  it("remembers what it tried from the recorded changes, not from the descriptions", async () => {
    const worded = await simulate(3, 25);
    const opaque = await simulate(3, 25, false, true);
    expect(opaque.descriptions).toEqual(worded.descriptions);
    expect(new Set(opaque.configs).size).toBe(opaque.configs.length);
  });

  it("breaks ties differently across seeds", async () => {
    const text = "MATRIX_LR = 0.04\nEMBEDDING_LR = 0.6\nSCALAR_LR = 0.5\nUNEMBEDDING_LR = 0.004\n";
    const firsts = new Set<string>();
    for (let seed = 0; seed < 12; seed++) {
      const p = await new BuiltinProposer({ seed }).propose(context(text));
      firsts.add(p?.description ?? "null");
    }
    expect(firsts.size).toBeGreaterThan(2);
    const again = await new BuiltinProposer({ seed: 3 }).propose(context(text));
    const once = await new BuiltinProposer({ seed: 3 }).propose(context(text));
    expect(again).toEqual(once);
  });

  it("never repeats a configuration when everything fails, then stops", async () => {
    const proposals = await exhaust(SCRIPT);
    const configs = proposals.map((p) => configOf(applyEdits(SCRIPT, p.edits ?? []) ?? ""));
    expect(new Set(configs).size).toBe(configs.length);
    expect(configs).not.toContain(configOf(SCRIPT));
    expect(proposals.some((p) => p.description.startsWith("SEED"))).toBe(false);
  });
});

describe("hyperparameters only", () => {
  // nanoGPT's shape: config globals, a resumable counter, a loop variable that is also a global.
  const NANO = `import torch
iter_num = 0
step = 0
best_val_loss = 1e9
learning_rate = 1e-3
min_lr = 1e-4
batch_size = 8
n_layer = 4
max_iters = 5000
if init_from == 'resume':
    iter_num = checkpoint['iter_num']
for step in range(max_iters):
    lr = learning_rate if iter_num < 100 else min_lr
    iter_num += 1
`;

  it("a whole builtin session never edits iter_num, step or best_val_loss", async () => {
    const proposals = await exhaust(NANO);
    expect(proposals.length).toBeGreaterThan(10);
    const keys = new Set(proposals.flatMap((p) => (p.changes ?? []).map((c) => c.key)));
    expect(keys).toEqual(new Set(["learning_rate", "min_lr", "batch_size", "n_layer", "max_iters"]));
    for (const p of proposals) {
      const after = applyEdits(NANO, p.edits ?? []) ?? "";
      for (const line of ["iter_num = 0", "step = 0", "best_val_loss = 1e9", "    iter_num += 1", "for step in range(max_iters):"]) expect(after.split("\n"), p.description).toContain(line);
    }
  });

  it("opens with the learning rate itself, not min_lr", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const first = await new BuiltinProposer({ seed }).propose(context(NANO));
      expect(keyOf(first), `seed ${seed}`).toBe("learning_rate");
    }
  });
});

describe("scope, exhaustion, feedback", () => {
  it("only tunes constants in scope", async () => {
    for (const scope of [["architecture"], ["optimizer"], ["training"], ["architecture", "training"]] as Scope[][]) {
      const proposals = await exhaust(SCRIPT, { scope });
      expect(proposals.length).toBeGreaterThan(0);
      for (const p of proposals) expect(scope).toContain(p.category);
    }
  });

  it('"hyperparameters" allows every numeric constant', async () => {
    const proposals = await exhaust("LOGIT_SOFTCAP = 15.0\nN_LAYER = 4\n", { scope: ["hyperparameters"] });
    expect(new Set(proposals.map(keyOf))).toEqual(new Set(["LOGIT_SOFTCAP", "N_LAYER"]));
    // Categories outside the scope are reported as hyperparameters, so the loop's scope check accepts them.
    expect(new Set(proposals.map((p) => p.category))).toEqual(new Set(["hyperparameters"]));
    const both = await exhaust("N_LAYER = 4\n", { scope: ["hyperparameters", "architecture"] });
    expect(new Set(both.map((p) => p.category))).toEqual(new Set(["architecture"]));
  });

  it("returns null when a one-constant script is exhausted", async () => {
    const text = "LEARNING_RATE = 0.01\n";
    const proposals = await exhaust(text);
    expect(proposals.map((p) => p.description)).toEqual(
      expect.arrayContaining([
        "LEARNING_RATE 0.01 -> 0.02 (x2)",
        "LEARNING_RATE 0.01 -> 0.005 (x0.5)",
        "LEARNING_RATE 0.01 -> 0.015 (x1.5)",
        "LEARNING_RATE 0.01 -> 0.00667 (x0.67)",
        "LEARNING_RATE 0.01 -> 0.0125 (x1.25)",
        "LEARNING_RATE 0.01 -> 0.008 (x0.8)",
        "LEARNING_RATE 0.01 -> 0.04 (x4)",
        "LEARNING_RATE 0.01 -> 0.0025 (x0.25)",
      ]),
    );
    expect(proposals).toHaveLength(8);
  });

  it("returns null when nothing is tunable", async () => {
    const proposer = new BuiltinProposer({ seed: 1 });
    expect(await proposer.propose(context("SEED = 1\nNAME = 'x'\n"))).toBeNull();
    expect(await proposer.propose(context("N_LAYER = 4\n", { scope: ["optimizer"] }))).toBeNull();
  });

  it("proposes something else after a rejection in the same iteration", async () => {
    const proposer = new BuiltinProposer({ seed: 7 });
    const first = await proposer.propose(context(SCRIPT));
    const rejected: RejectedProposal = { iteration: 1, description: first?.description ?? "", reason: "repeat", at: "2024-01-01T00:00:00Z", ...(first?.changes && { changes: first.changes }) };
    const second = await proposer.propose(context(SCRIPT, { feedback: `rejected: ${first?.description} is a repeat`, rejected: [rejected] }));
    expect(second).not.toBeNull();
    expect(second?.description).not.toBe(first?.description);
    const third = await proposer.propose(context(SCRIPT, { feedback: "the edit did not apply" }));
    expect(third?.description).not.toBe(first?.description);
    // Without feedback, the refused entry's recorded changes alone keep the move out.
    const fourth = await proposer.propose(context(SCRIPT, { rejected: [rejected] }));
    expect(fourth?.changes?.[0]).not.toEqual(first?.changes?.[0]);
    // A rejection from an earlier iteration does not block the move now.
    const later = await proposer.propose(context(SCRIPT, { rejected: [{ ...rejected, iteration: 0 }] }));
    expect(later?.description).toBe(first?.description);
  });

  it("tunes tuple elements one at a time", async () => {
    const text = "ADAM_BETAS: tuple[float, float] = (0.9, 0.95)  # beta1, beta2\n";
    const proposals = await exhaust(text);
    expect(new Set(proposals.map(keyOf))).toEqual(new Set(["ADAM_BETAS[0]", "ADAM_BETAS[1]"]));
    for (const p of proposals) {
      const after = applyEdits(text, p.edits ?? []) ?? "";
      const [b1, b2] = parseConstants(after, "python");
      const change = p.changes?.[0];
      expect(b1?.value).toBe(change?.key === "ADAM_BETAS[0]" ? change.to : 0.9);
      expect(b2?.value).toBe(change?.key === "ADAM_BETAS[1]" ? change.to : 0.95);
      expect(after.endsWith("  # beta1, beta2\n")).toBe(true);
    }
    expect(proposals.map((p) => p.description)).toContain("ADAM_BETAS[1] 0.95 -> 0.975 (1-b x0.5)");
  });

  it("edits JS/TS scripts too", async () => {
    const text = "export const LEARNING_RATE = 3e-4;\nconst BATCH_SIZE = 2 ** 6; // per step\n";
    const proposals = await exhaust(text, { trainPath: "train.ts" });
    expect(proposals.length).toBeGreaterThan(4);
    for (const p of proposals) {
      const after = applyEdits(text, p.edits ?? []);
      expect(after, p.description).not.toBeNull();
      expect(parseConstants(after ?? "", "js")).toHaveLength(2);
    }
    expect(proposals.map((p) => p.description)).toContain("BATCH_SIZE 2**6 -> 2**5 (x0.5)");
    expect(proposals.map((p) => p.description)).toContain("LEARNING_RATE 3e-4 -> 6e-4 (x2)");
  });
});

describe("memory of other proposers' experiments", () => {
  // A model may word its change exactly like the builtin search does; that says nothing reliable.
  const llm = (id: number, description: string, status: Status): ExperimentRecord => ({ ...record(id, description, status, "optimizer", 11), proposer: "anthropic" });

  it("an LLM description shaped like `KEY a -> b (x2)` is not taken for a tried move", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7]) {
      const proposer = new BuiltinProposer({ seed });
      const fresh = await proposer.propose(context(SCRIPT));
      const change = fresh?.changes?.[0];
      expect(change).toBeDefined();
      if (!change) continue;
      // The model said it made the very move the search would make first (and it lost).
      const lookalike = llm(1, `${change.key} ${change.fromText} -> ${change.toText} (${change.tag})`, "discard");
      const p = await proposer.propose(context(SCRIPT, { history: [BASELINE, lookalike] }));
      expect(p?.changes).toEqual(fresh?.changes);
    }
  });

  it("an LLM experiment that ran out of memory is retried with its own words, its description not re-applied", async () => {
    const text = "LEARNING_RATE = 0.01\nDEVICE_BATCH_SIZE = 64\n";
    const failed = { ...llm(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "crash"), reason: "oom" };
    const p = await new BuiltinProposer({ seed: 1 }).propose(context(text, { history: [BASELINE, failed], oomRetry: { experiment: failed, logTail: [] } }));
    expect(p?.edits).toEqual([{ search: "DEVICE_BATCH_SIZE = 64", replace: "DEVICE_BATCH_SIZE = 32" }]);
    expect(p?.changes?.map((c) => c.key)).toEqual(["DEVICE_BATCH_SIZE"]);
    expect(p?.description).toBe("LEARNING_RATE 0.01 -> 0.02 (x2) + DEVICE_BATCH_SIZE 64 -> 32 (halve after OOM)");
  });

  it("builtin records from before the `changes` field are still read from their descriptions", async () => {
    const old = record(1, "LEARNING_RATE 0.01 -> 0.02 (x2)", "discard", "optimizer", 11);
    expect(old.changes).toBeUndefined();
    const p = await new BuiltinProposer({ seed: 7 }).propose(context(SCRIPT, { history: [BASELINE, old] }));
    expect(p?.description).toBe("LEARNING_RATE 0.01 -> 0.005 (x0.5)");
  });

  it("proposals carry their changes as data, matching the description", async () => {
    const p = await new BuiltinProposer({ seed: 7 }).propose(context(SCRIPT));
    const change = p?.changes?.[0];
    expect(p?.changes).toHaveLength(1);
    expect(p?.description).toBe(`${change?.key} ${change?.fromText} -> ${change?.toText} (${change?.tag})`);
    expect(applyEdits(SCRIPT, p?.edits ?? [])).toContain(`${change?.key} = ${change?.toText}`);
  });
});

describe("out-of-memory retry", () => {
  const text = "LEARNING_RATE = 0.01\nTOTAL_BATCH_SIZE = 2**19\nDEVICE_BATCH_SIZE = 2**7  # reduce if OOM\nN_EMBD = 512\n";
  const oom = (description: string, category: Category = "architecture") =>
    record(1, description, "crash", category, null, "oom");

  it("halves the device batch and re-applies the failed change", async () => {
    const failed = oom("N_EMBD 512 -> 1024 (x2)");
    const p = await new BuiltinProposer({ seed: 1 }).propose(
      context(text, { history: [BASELINE, failed], oomRetry: { experiment: failed, logTail: ["CUDA out of memory"] } }),
    );
    expect(p?.description).toBe("N_EMBD 512 -> 1024 (x2) + DEVICE_BATCH_SIZE 2**7 -> 2**6 (halve after OOM)");
    expect(p?.category).toBe("architecture");
    const after = applyEdits(text, p?.edits ?? []);
    expect(after).toBe("LEARNING_RATE = 0.01\nTOTAL_BATCH_SIZE = 2**19\nDEVICE_BATCH_SIZE = 2**6  # reduce if OOM\nN_EMBD = 1024\n");
  });

  it("only halves when the script already contains the failed change", async () => {
    const failed = oom("N_EMBD 512 -> 1024 (x2)");
    const applied = text.replace("N_EMBD = 512", "N_EMBD = 1024");
    const p = await new BuiltinProposer({ seed: 1 }).propose(
      context(applied, { history: [BASELINE, failed], oomRetry: { experiment: failed, logTail: [] } }),
    );
    expect(p?.edits).toEqual([{ search: "DEVICE_BATCH_SIZE = 2**7  # reduce if OOM", replace: "DEVICE_BATCH_SIZE = 2**6  # reduce if OOM" }]);
    expect(p?.description).toBe("N_EMBD 512 -> 1024 (x2) + DEVICE_BATCH_SIZE 2**7 -> 2**6 (halve after OOM)");
  });

  it("halves a plain batch constant for a change it cannot parse", async () => {
    const failed = oom("Deeper MLP", "architecture");
    const p = await new BuiltinProposer({ seed: 1 }).propose(
      context("BATCH_SIZE = 64\nLR = 0.1\n", { history: [BASELINE, failed], oomRetry: { experiment: failed, logTail: [] } }),
    );
    expect(p?.description).toBe("Deeper MLP + BATCH_SIZE 64 -> 32 (halve after OOM)");
    expect(p?.category).toBe("architecture");
  });

  it("returns null without a batch constant, or when halving would undo the failed change", async () => {
    const failed = oom("LR 0.1 -> 0.2 (x2)", "optimizer");
    const proposer = new BuiltinProposer({ seed: 1 });
    expect(await proposer.propose(context("LR = 0.1\n", { history: [BASELINE, failed], oomRetry: { experiment: failed, logTail: [] } }))).toBeNull();
    const batchUp = oom("DEVICE_BATCH_SIZE 2**7 -> 2**8 (x2)", "training");
    expect(await proposer.propose(context(text, { history: [BASELINE, batchUp], oomRetry: { experiment: batchUp, logTail: [] } }))).toBeNull();
  });

  it("does not raise a constant back to a size that ran out of memory", async () => {
    const history = [BASELINE, oom("N_EMBD 512 -> 1024 (x2)")];
    const proposals = await exhaust(text, { history });
    const embd = proposals.filter((p) => keyOf(p) === "N_EMBD").map((p) => p.changes?.[0]?.to ?? 0);
    expect(embd.length).toBeGreaterThan(0);
    expect(Math.max(...embd)).toBeLessThan(1024);
  });
});
