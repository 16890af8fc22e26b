import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { research } from "../../src/loop/research.js";
import { adjustmentsFor, LABELS } from "../../src/platform/index.js";
import { BuiltinProposer } from "../../src/proposers/builtin/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, PlatformInfo, Proposal, ProposalContext, Proposer } from "../../src/types.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { readJsonl } from "./helpers.js";

/** Runs out of memory when BATCH_SIZE * WIDTH * DEPTH > 1024, with the message of the device it is told it runs on. */
const OOM_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DEPTH = 1;
const BATCH_SIZE = 32;
if (BATCH_SIZE * WIDTH * DEPTH > 1024) {
  const device = process.env.AUTORESEARCH_DEVICE;
  console.error(device === "cuda" ? "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.10 GiB total capacity)"
    : device === "mps" ? "RuntimeError: MPS backend out of memory (MPS allocated: 17.00 GB, other allocations: 1.2 GB, max allowed: 18.13 GB)"
    : "RuntimeError: DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes.");
  process.exit(1);
}
const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 256) ** 2 * 0.05 - DEPTH * 0.01 + (32 / BATCH_SIZE) * 0.001;
console.log("val_loss: " + loss.toFixed(6));
`;

function platform(kind: PlatformInfo["kind"]): PlatformInfo {
  return { kind, label: LABELS[kind], device: kind, os: "linux", detail: "injected for the test", source: "test", adjustments: adjustmentsFor(kind) };
}

const step = (description: string, search: string, replace: string, planStep: number): Proposal => ({
  description,
  category: "architecture",
  edits: [{ search, replace }],
  planStep,
});

// Each step applies to any best: the next one is proposed while the one before it runs (lookahead 1).
const STEPS = [
  step("WIDTH 16 -> 64 (x4)", "const WIDTH = 16;", "const WIDTH = 64;", 0),
  step("LEARNING_RATE 0.01 -> 0.04 (x4)", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.04;", 1),
  step("DEPTH 1 -> 4 (x4)", "const DEPTH = 1;", "const DEPTH = 4;", 2),
];

/** Fixed steps, and the builtin's answer when the loop asks for an out-of-memory retry. */
class ScriptedWithBuiltinRetry implements Proposer {
  readonly name = "scripted";
  private readonly builtin = new BuiltinProposer({ seed: 0 });
  private readonly plan = new PlanProposer(STEPS);
  propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal | null> {
    return ctx.oomRetry ? this.builtin.propose(ctx, signal) : this.plan.propose(ctx);
  }
}

async function session(kind: PlatformInfo["kind"], proposer: Proposer): Promise<{ root: string; records: ExperimentRecord[] }> {
  const root = createRepo({ "train.js": OOM_TRAIN, "prepare.js": "// read-only\n" });
  await research(root, { kind: "new", config: testConfig({ proposer: proposer.name }), platform: platform(kind) }, testDeps(root, proposer));
  return { root, records: readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl")) };
}

const summary = (records: ExperimentRecord[]) => records.map((r) => `${r.status}:${r.reason}:${r.description}${r.oomRetryOf !== undefined ? ` [retry of ${r.oomRetryOf}]` : ""}`);

describe("out of memory (spec 2.4)", () => {
  for (const kind of ["cuda", "mps"] as const) {
    it(`on ${kind}: retries once with the batch halved; a second OOM discards`, async () => {
      const { root, records } = await session(kind, new ScriptedWithBuiltinRetry());
      // #2 was proposed while #1 ran (before its crash was known) and runs first; the retry of #1
      // comes at the next proposal, and the retry of #4 after the plan has run out of steps.
      expect(summary(records)).toEqual([
        "keep:baseline:Baseline — no modifications",
        "crash:oom:WIDTH 16 -> 64 (x4)",
        "keep:improved:LEARNING_RATE 0.01 -> 0.04 (x4)",
        "keep:improved:WIDTH 16 -> 64 (x4) + BATCH_SIZE 32 -> 16 (halve after OOM) [retry of 1]",
        "crash:oom:DEPTH 1 -> 4 (x4)",
        "crash:oom:DEPTH 1 -> 4 (x4) + BATCH_SIZE 16 -> 8 (halve after OOM) [retry of 4]",
      ]);
      expect(records.map((r) => r.id)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(records[1]?.detail).toMatch(kind === "cuda" ? /^OOM: torch\.OutOfMemoryError: CUDA out of memory/ : /^OOM: RuntimeError: MPS backend out of memory/);
      // The kept retry runs the failed change with the smaller batch on the best at its start (#2): nothing of either lost.
      expect(records[3]?.parent).toBe(records[2]?.commit);
      const head = git(root, "show", "autoresearch/t1:train.js");
      expect(head).toContain("const WIDTH = 64;");
      expect(head).toContain("const BATCH_SIZE = 16;");
      expect(head).toContain("const LEARNING_RATE = 0.04;");
      expect(git(root, "rev-parse", "autoresearch/t1")).toBe(records[3]?.commit);
      // The second retry halves the batch again on the same code: still too big, so it stays a crash, not retried again.
      expect(git(root, "show", `${records[5]?.commit}:train.js`)).toMatch(/const DEPTH = 4;[\s\S]*const BATCH_SIZE = 8;/);
      const rows = readFileSync(join(root, "results.tsv"), "utf8").trimEnd().split("\n");
      expect(rows[2]).toMatch(/\t—\t—\tcrash\tWIDTH 16 -> 64 \(x4\): OOM: torch\.OutOfMemoryError|\t—\t—\tcrash\tWIDTH 16 -> 64 \(x4\): OOM: RuntimeError: MPS/);
    });
  }

  it("on CPU: an out-of-memory crash is recorded and not retried", async () => {
    const { root, records } = await session("cpu", new ScriptedWithBuiltinRetry());
    expect(summary(records)).toEqual(["keep:baseline:Baseline — no modifications", "crash:oom:WIDTH 16 -> 64 (x4)", "keep:improved:LEARNING_RATE 0.01 -> 0.04 (x4)", "crash:oom:DEPTH 1 -> 4 (x4)"]);
    expect(records[1]?.detail).toMatch(/can't allocate memory/);
    expect(existsSync(recordPath(root, "rejected.jsonl")) ? readFileSync(recordPath(root, "rejected.jsonl"), "utf8") : "").toBe("");
  });

  it("a plan replays fixed steps: no retry even on CUDA", async () => {
    const { records } = await session("cuda", new PlanProposer(STEPS));
    expect(summary(records)).toEqual(["keep:baseline:Baseline — no modifications", "crash:oom:WIDTH 16 -> 64 (x4)", "keep:improved:LEARNING_RATE 0.01 -> 0.04 (x4)", "crash:oom:DEPTH 1 -> 4 (x4)"]);
  });

  it("a handled OOM (message in the log, metric printed, exit 0) is measured, not a crash", async () => {
    const handled = OOM_TRAIN.replace(
      "const loss =",
      'console.error("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB; retrying with a smaller chunk");\nconst loss =',
    );
    const root = createRepo({ "train.js": handled, "prepare.js": "// read-only\n" });
    const steps = [step("LEARNING_RATE 0.01 -> 0.04 (x4)", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.04;", 0)];
    await research(root, { kind: "new", config: testConfig({ proposer: "plan" }), platform: platform("cuda") }, testDeps(root, new PlanProposer(steps)));
    const records = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
    expect(summary(records)).toEqual(["keep:baseline:Baseline — no modifications", "keep:improved:LEARNING_RATE 0.01 -> 0.04 (x4)"]);
  });
});
