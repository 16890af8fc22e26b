import { describe, expect, it } from "vitest";
import { buildPrompt, MAX_TABLE_ROWS } from "../../src/proposers/prompt.js";
import type { ExperimentRecord } from "../../src/types.js";
import { CPU_PLATFORM, makeContext, makeRecord, TRAIN_TEXT } from "../helpers/fake-providers.js";

function longHistory(n: number): ExperimentRecord[] {
  const categories = ["architecture", "hyperparameters", "optimizer", "training"] as const;
  const rows: ExperimentRecord[] = [makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 })];
  let best = 1.0;
  for (let i = 1; i <= n; i++) {
    const category = categories[i % 4] as (typeof categories)[number];
    const kept = i % 17 === 0;
    const crashed = i % 11 === 0;
    const metric = crashed ? null : kept ? best - 0.001 : best + 0.002 * (i % 5);
    rows.push(
      makeRecord(i, {
        category,
        description: `try variant number ${i} of ${category} with a reasonably long description to take room`,
        status: crashed ? "crash" : kept ? "keep" : "discard",
        reason: crashed ? (i % 2 ? "oom" : "exit-code") : kept ? "improved" : "regression",
        detail: crashed ? "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB" : undefined,
        metric,
        bestBefore: best,
      }),
    );
    if (kept && metric !== null) best = metric;
  }
  return rows;
}

describe("buildPrompt", () => {
  it("holds everything a proposal needs", () => {
    const baseline = makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 });
    const kept = makeRecord(1, { status: "keep", reason: "improved", metric: 0.98, bestBefore: 1.0, description: "ReLU² activation", category: "architecture" });
    const crashed = makeRecord(2, { status: "crash", reason: "oom", detail: "CUDA out of memory", metric: null, bestBefore: 0.98, description: "double the batch" });
    const ctx = makeContext({
      iteration: 3,
      history: [baseline, kept, crashed],
      baseline,
      best: kept,
      failureStreak: 1,
      scope: ["architecture", "hyperparameters"],
      hypothesis: "try hierarchical attention with a reduced context window",
      plan: "1. lr sweep\n2. depth sweep",
      feedback: "edit 1: search text not found in train.py",
      rejected: [{ iteration: 2, description: "tweak prepare.py", reason: "out of scope: touches a read-only file", at: "2025-01-01T00:00:00Z" }],
      oomRetry: { experiment: crashed, logTail: ["step 10", "torch.OutOfMemoryError: CUDA out of memory"] },
    });
    const { system, user } = buildPrompt(ctx);

    // Rules.
    expect(system).toContain("ONE focused modification");
    expect(system).toContain("Never bundle");
    expect(system).toContain("Only the training script `train.py` may change");
    expect(system).toContain("`prepare.py`");
    expect(system).toContain("Stay inside the allowed scope: architecture, hyperparameters");
    expect(system).toContain("Never install packages");
    expect(system).toContain("`val_bpb: <number>`");
    expect(system).toContain("Simplicity: only an exactly equal metric");
    expect(system).toContain("fewer non-empty lines");
    expect(system).toContain("change direction");
    // Reply shape.
    expect(system).toContain("propose_experiment");
    expect(system).toMatch(/"edits": \[\{"search"/);
    expect(system).toContain('"direction"');
    expect(system).toContain("```json");

    // Session facts.
    expect(user).toContain("Metric: val_bpb (lower is better)");
    expect(user).toContain("Best so far: 0.98 (experiment 1");
    expect(user).toContain("-0.02 = -2.00% vs baseline");
    expect(user).toContain("Failure streak: the last 1 experiment(s) were not kept.");
    expect(user).toContain("CPU (device cpu, OS linux): AMD EPYC test CPU");
    expect(user).toContain("AUTORESEARCH_BATCH_SCALE=0.25");
    expect(user).toContain("The script does not use PyTorch");
    expect(user).toContain("## Allowed scope\narchitecture, hyperparameters");
    expect(user).toContain("Test this first");
    expect(user).toContain("hierarchical attention");
    expect(user).toContain("1. lr sweep");
    expect(user).toContain("edit 1: search text not found in train.py");
    expect(user).toContain("tweak prepare.py — out of scope");
    expect(user).toContain('Experiment #2 ("double the batch") ran out of memory on CPU');
    expect(user).toContain("torch.OutOfMemoryError");
    // History table.
    expect(user).toContain("1 | keep | 0.98 | -0.02 | — | architecture | ReLU² activation | improved | 1.5 GB, 1k params");
    expect(user).toContain("2 | crash | — | — | — | hyperparameters | double the batch | oom: CUDA out of memory | 1.5 GB, 1k params");
    // Files, the training script in full.
    expect(user).toContain("# Tiny project");
    expect(user).toContain("## Read-only file: prepare.py (never modify)\n```python\ndef load_data():");
    expect(user).toContain(`\`\`\`python\n${TRAIN_TEXT}\`\`\``);
  });

  it("is deterministic", () => {
    const ctx = makeContext({ history: longHistory(40) });
    expect(buildPrompt(ctx)).toEqual(buildPrompt(structuredClone(ctx)));
  });

  it("summarises a 500-row history to fit the budget, keeping recent rows and the script", () => {
    const history = longHistory(500);
    const ctx = makeContext({ history, iteration: 501, failureStreak: 4 });
    // However large the budget, the table holds the last MAX_TABLE_ROWS; older rows are summarised.
    const full = buildPrompt(ctx, { maxChars: 10_000_000 });
    expect(full.user).toContain(`\n${500 - MAX_TABLE_ROWS + 1} | `);
    expect(full.user).not.toContain(`\n${500 - MAX_TABLE_ROWS} | `);
    expect(full.user).toContain(`Experiments #1–#${500 - MAX_TABLE_ROWS} (${500 - MAX_TABLE_ROWS}), summarised by category:`);
    const short = buildPrompt(makeContext({ history: longHistory(MAX_TABLE_ROWS) }), { maxChars: 10_000_000 });
    expect(short.user).toContain("\n1 | discard |");
    expect(short.user).not.toContain("summarised by category");

    const maxChars = 24_000;
    const { system, user } = buildPrompt(ctx, { maxChars });
    expect(system.length + user.length).toBeLessThanOrEqual(maxChars);
    expect(user).toMatch(/Experiments #1–#\d+ \(\d+\), summarised by category:/);
    expect(user).toContain("category | tried | keep | discard | crash | best delta");
    expect(user).toMatch(/\narchitecture \| \d+ \| \d+ \| \d+ \| \d+ \| -/);
    expect(user).toMatch(/Kept among them( \(last 30 of \d+\))?: #17 /);
    expect(user).toMatch(/Crash reasons: (oom|exit-code) ×\d+, (oom|exit-code) ×\d+/);
    expect(user).toContain("\n500 | discard |");
    expect(user).not.toContain("\n1 | discard |");
    expect(user).toContain(TRAIN_TEXT);
    expect(user).toContain("Try a significantly different direction");
    // The recent rows are as many as fit: doubling the budget shows more of them.
    const rows = (u: string) => u.split("\n").filter((l) => /^\d+ \| (keep|discard|crash) \|/.test(l)).length;
    expect(rows(buildPrompt(ctx, { maxChars: maxChars * 2 }).user)).toBeGreaterThan(rows(user));
  });

  it("shortens the README and read-only files before ever cutting the training script", () => {
    const bigTrain = `${TRAIN_TEXT}${"# padding line for the training script\n".repeat(300)}`;
    const ctx = makeContext({
      trainText: bigTrain,
      readme: `# Big README\n${"lorem ipsum dolor sit amet\n".repeat(4_000)}THE END OF README\n`,
      readonlyFiles: [{ path: "prepare.py", text: `${"x = 1\n".repeat(20_000)}def evaluate(loss):\n    return loss\n` }],
      history: longHistory(50),
    });
    const { system, user } = buildPrompt(ctx, { maxChars: 40_000 });
    expect(system.length + user.length).toBeLessThanOrEqual(40_000);
    expect(user).toContain(bigTrain);
    expect(user).toContain("# Big README");
    expect(user).toContain("THE END OF README");
    expect(user).toMatch(/characters omitted to fit the prompt/);
    expect(user).toContain("def evaluate(loss)");
  });

  it("clips a huge README before collapsing any history", () => {
    const ctx = makeContext({ readme: "readme line\n".repeat(50_000), history: longHistory(30) });
    const { system, user } = buildPrompt(ctx, { maxChars: 30_000 });
    expect(system.length + user.length).toBeLessThanOrEqual(30_000);
    expect(user).not.toContain("summarised by category");
    expect(user).toContain("\n1 | discard |");
    expect(user).toMatch(/characters omitted to fit the prompt/);
  });

  it("uses a longer fence when a file contains backticks", () => {
    const ctx = makeContext({ readme: "Example:\n```bash\npython train.py\n```\n" });
    expect(buildPrompt(ctx).user).toContain("````markdown\nExample:\n```bash");
  });

  it("words the first iteration, max direction and a kept last experiment", () => {
    const baseline = makeRecord(0, { status: "keep", metric: 0.5, reason: "baseline" });
    const first = buildPrompt(makeContext({ metric: { name: "val_acc", direction: "max" }, baseline, best: baseline, history: [baseline], platform: { ...CPU_PLATFORM, adjustments: { ...CPU_PLATFORM.adjustments, notes: [] } } }));
    expect(first.user).toContain("val_acc (higher is better)");
    expect(first.user).toContain("Best so far: the baseline");
    expect(first.user).toContain("None yet: this is the first experiment.");
    const kept = makeRecord(1, { status: "keep", metric: 0.6, bestBefore: 0.5 });
    const after = buildPrompt(makeContext({ metric: { name: "val_acc", direction: "max" }, baseline, best: kept, history: [baseline, kept] }));
    expect(after.user).toContain("The last experiment (#1) improved the metric");
    expect(after.user).toContain("1 | keep | 0.6 | +0.1 | — |");
  });

  it("tells an agent to edit the file and write the proposal file", () => {
    const { system } = buildPrompt(makeContext(), { replyFormat: "agent" });
    expect(system).toContain("Edit `train.py` directly");
    expect(system).toContain("AUTORESEARCH_PROPOSAL_FILE");
    expect(system).not.toContain("propose_experiment");
  });
});
