import { describe, expect, it } from "vitest";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { applyEdits, parseConstants } from "../../src/proposers/builtin/constants.js";
import type { Category, ExperimentRecord, PlatformInfo, Proposal, ProposalContext, RejectedProposal, Scope, Status } from "../../src/types.js";

const PLATFORM: PlatformInfo = {
  kind: "cpu",
  label: "CPU",
  device: "cpu",
  os: "linux",
  detail: "test",
  source: "os",
  adjustments: {
    compile: false,
    compileMode: null,
    attention: "sdpa",
    ampDtype: "fp32",
    batchScale: 1,
    castOptimizerStateFp32: false,
    notes: [],
  },
};

function record(id: number, description: string, status: Status, category: Category | "baseline", metric: number | null, reason = ""): ExperimentRecord {
  return {
    id,
    commit: `c${id}`.padEnd(40, "0"),
    parent: "p".padEnd(40, "0"),
    trainHash: `h${id}`,
    lines: 10,
    description,
    category,
    status,
    reason: reason || (status === "keep" ? "improved" : status === "crash" ? "exit-code" : "regression"),
    metric,
    memGb: null,
    params: null,
    bestBefore: null,
    startedAt: "2024-01-01T00:00:00Z",
    finishedAt: "2024-01-01T00:00:01Z",
    durationSec: 1,
    proposer: "builtin",
  };
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

async function simulate(seed: number, iterations: number) {
  const proposer = new BuiltinProposer({ seed });
  let best = START;
  let bestScore = objective(START);
  const history: ExperimentRecord[] = [record(0, "Baseline — no modifications", "keep", "baseline", bestScore)];
  const configs = [configOf(START)];
  const proposals: Proposal[] = [];
  for (let i = 1; i <= iterations; i++) {
    const proposal = await proposer.propose(context(best, { history }));
    if (proposal === null) break;
    proposals.push(proposal);
    const text = applyEdits(best, proposal.edits ?? []);
    if (text === null) throw new Error(`edit did not apply: ${proposal.description}`);
    configs.push(configOf(text));
    const score = objective(text);
    const status: Status = score < bestScore ? "keep" : "discard";
    history.push(record(i, proposal.description, status, proposal.category, score));
    if (status === "keep") {
      best = text;
      bestScore = score;
    }
  }
  return { start: objective(START), end: bestScore, configs, proposals, history };
}

describe("builtin proposer: simulated session", () => {
  it("improves a quadratic bowl over 40 iterations without repeating a configuration", async () => {
    const result = await simulate(1, 40);
    for (const r of result.history) console.log(r.id, r.status, r.metric?.toFixed(3), r.description);
    console.log("start", result.start, "end", result.end);
    expect(new Set(result.configs).size).toBe(result.configs.length);
    expect(result.end).toBeLessThan(result.start / 3);
  });
});
