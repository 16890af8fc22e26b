import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cli, cliAsync, repoSnapshot } from "../helpers/cli.js";
import { type FakeProvider, startFakeProvider } from "../helpers/fake-providers.js";
import { createRepo, FAKE_PREPARE, recordPath } from "../helpers/repo.js";

// A script that reads the batch scale like the examples do and prints Karpathy's summary block.
const TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DROPOUT = 0.1;
const BATCH_SIZE = 32;

const scale = Number(process.env.AUTORESEARCH_BATCH_SCALE ?? "1");
const batch = Math.max(1, Math.round(BATCH_SIZE * scale));
const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05 + DROPOUT * 0.2;
console.log("---");
console.log("val_loss: " + loss.toFixed(6));
console.log("training_seconds: 0.1");
console.log("num_steps: " + batch * 100);
console.log("num_params_M: 0.5");
`;

// These tests are about the serial brief: each request carries the previous experiment's result,
// memory and prediction, which a proposal made ahead (while that experiment runs) cannot have yet.
// So they run with --lookahead 0; what a proposal made ahead is told is checked in run-llm.test.ts.
// The spec's plain loop: the brief states its keep rule word for word below.
const ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes", "--tag", "brief", "--lookahead", "0", "--keep-rule", "any", "--baseline-runs", "1"];

function propose(from: string, to: string, description: string, extra: Record<string, unknown>): Record<string, unknown> {
  return { description, category: "hyperparameters", rationale: `because ${description}`, direction: "hyperparameters", edits: [{ search: from, replace: to }], ...extra };
}

/** Everything the model was sent in one request (system + messages), as text. */
function sent(provider: FakeProvider, index: number): string {
  const body = provider.requests[index]?.body;
  const text = (c: string | { text?: string }[]) => (typeof c === "string" ? c : c.map((part) => part.text ?? "").join("\n"));
  const parts = [text(body?.system ?? "")];
  for (const m of body?.messages ?? []) parts.push(text(m.content));
  return parts.join("\n");
}

let provider: FakeProvider | null = null;
afterEach(async () => {
  await provider?.close();
  provider = null;
});

describe("the brief the model is sent, checked in the requests a real run makes", () => {
  it("carries memory across experiments, the user's notes, the run's facts and predicted vs actual", async () => {
    provider = await startFakeProvider();
    const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# tiny\nEach run trains for 300 s.\n" });
    provider.reply(
      { type: "tool", args: propose("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;", "LR 0.01 -> 0.02", { learned: "", ideas: ["try WIDTH 64", "lower the dropout"], expected_delta: -0.05 }) },
      {
        type: "tool",
        args: propose("const WIDTH = 16;", "const WIDTH = 32;", "WIDTH 16 -> 32", { learned: "a higher learning rate helped a lot", ideas: [], expected_delta: -0.01 }),
      },
      { type: "tool", args: propose("const DROPOUT = 0.1;", "const DROPOUT = 0.5;", "DROPOUT 0.1 -> 0.5", { learned: "wider is better", ideas: ["WIDTH 64"], expected_delta: -0.02 }) },
    );
    // The user steers while the loop waits for the model: one note during the first request, a finding during the second.
    const notes: { code: number | null; stdout: string; stderr: string }[] = [];
    provider.beforeReply(async (index) => {
      if (index === 0) notes.push(await cliAsync(root, ["note", "try", "rotary embeddings"]));
      if (index === 1) notes.push(await cliAsync(root, ["note", "--finding", "the loss is smooth in the learning rate"]));
    });
    const result = await cliAsync(root, [...ARGS, "--proposer", "anthropic", "--model", "claude-sonnet-4-5", "--base-url", provider.baseUrl, "--max-iterations", "3"], {
      ANTHROPIC_API_KEY: "test-key",
    });
    expect(result.code, result.stderr).toBe(0);
    expect(provider.requests).toHaveLength(3);
    expect(notes.map((n) => n.code)).toEqual([0, 0]);
    expect(notes[0]?.stdout).toContain("Added to the ideas backlog: try rotary embeddings");

    const first = sent(provider, 0);
    const second = sent(provider, 1);
    const third = sent(provider, 2);

    // The run's realities: budget (not the README's 300 s), k of N, the batch the script really runs.
    expect(first).toContain("Iteration: 1 of 3 (2 more after this one)");
    expect(first).toContain("each run trains for 5 s (the script reads AUTORESEARCH_TIME_BUDGET=5)");
    expect(first).toContain("BATCH_SIZE = 32 runs as 8");
    expect(third).toContain("Iteration: 3 of 3 (this is the last one)");
    // The rules as the loop applies them, and the new reply fields.
    expect(first).toContain("Keep rule: a change is kept when its one run's metric is better than the best so far by any margin");
    expect(first).toContain("Re-testing a near-miss on top of the new best");
    expect(first).toContain('"expected_delta"');
    const tool = provider.requests[0]?.body.tools[0];
    expect(tool.input_schema.required).toEqual(expect.arrayContaining(["learned", "ideas", "expected_delta"]));
    // A JavaScript project gets no PyTorch advice and none of the project's internal references.
    for (const text of [first, second, third]) {
      expect(text).not.toMatch(/torch\.compile|SDPA|FlashAttention|autocast|sliding-window|spec \d/i);
    }

    // Memory: the note added during request 1 and the ideas of proposal 1 are in request 2.
    expect(first).not.toContain("rotary");
    expect(second).toContain("- [user] try rotary embeddings");
    expect(second).toContain("- try WIDTH 64");
    // The run's own numbers and predicted vs actual for experiment 1.
    expect(second).toContain("you predicted -0.05");
    expect(second).toMatch(/\n1 \| keep \| [\d.]+ \| -0\.\d+ \| -0\.05 \| hyperparameters \| LR 0\.01 -> 0\.02 \| improved[^|]*\| 800 steps, 0\.1 s training, [^|]*500k params/);
    expect(second).toContain("why: because LR 0.01 -> 0.02");
    // What proposal 2 learned about experiment 1 (kept: a finding) and the user's finding, in request 3.
    expect(third).toContain("- #1: a higher learning rate helped a lot");
    expect(third).toContain("- [user] the loss is smooth in the learning rate");
    expect(third).toMatch(/Your predictions so far: 2 predictions: the right way \(better or not\) 2 of 2 times/);

    // The records: numbers and the prediction on the experiment, the notes in memory.jsonl.
    const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(records[1]).toMatchObject({ steps: 800, trainingSec: 0.1, expectedDelta: -0.05, params: 500_000 });
    const memory = readFileSync(recordPath(root, "memory.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(memory).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "idea", source: "user", text: "try rotary embeddings" }),
        expect.objectContaining({ kind: "finding", source: "user", text: "the loss is smooth in the learning rate" }),
        expect.objectContaining({ kind: "finding", source: "model", text: "a higher learning rate helped a lot", experiment: 1 }),
        expect.objectContaining({ kind: "idea", source: "model", text: "WIDTH 64", experiment: 3 }),
      ]),
    );
    // Experiment 3 regressed: what proposal 4 would learn is not there, but 3's own prediction is scored.
    const summary = readFileSync(join(root, "autoresearch-summary.md"), "utf8");
    // Gains 0.3, 0.15 and -0.08 against predictions 0.05, 0.01 and 0.02: errors 0.25, 0.14, 0.1.
    expect(summary).toContain("**Prediction calibration:** 3 predictions: the right way (better or not) 2 of 3 times; mean error 0.163; pessimistic by 0.0967 on average.");
    expect(summary).toContain("## Research Notes");
    expect(summary).toContain("- [user] try rotary embeddings");
    expect(summary).toContain("- #2: wider is better");

    // The progress report (status) shows the notes too.
    const status = cli(root, ["status"]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("### Research notes");
    expect(status.stdout).toContain("- [user] the loss is smooth in the learning rate");
  });

  it("a coding agent gets the same brief and its learned/ideas are read from the proposal file", async () => {
    const out = mkdtempSync(join(tmpdir(), "ar-agent-prompts-"));
    const agent = `import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
const n = readdirSync(process.env.OUT).length + 1;
copyFileSync(process.env.AUTORESEARCH_PROMPT_FILE, process.env.OUT + "/prompt-" + n + ".md");
const train = readFileSync("train.js", "utf8");
writeFileSync("train.js", train.replace(/const WIDTH = (\\d+);/, (_, w) => "const WIDTH = " + Number(w) * 2 + ";"));
writeFileSync(process.env.AUTORESEARCH_PROPOSAL_FILE, JSON.stringify({
  description: "double WIDTH", category: "architecture", direction: "wider",
  learned: "lesson from agent call " + n, ideas: ["agent idea " + n], expected_delta: -0.01 * n,
}));
`;
    const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE, "agent.mjs": agent });
    const result = await cliAsync(root, [...ARGS, "--proposer", "agent", "--agent", "node agent.mjs", "--max-iterations", "3"], { OUT: out });
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["prompt-1.md", "prompt-2.md", "prompt-3.md"]);
    const prompt = (n: number) => readFileSync(join(out, `prompt-${n}.md`), "utf8");
    expect(prompt(1)).toContain('"learned": "one line: what the last result taught"');
    expect(prompt(1)).toContain("Iteration: 1 of 3");
    expect(prompt(2)).toContain("- agent idea 1");
    expect(prompt(2)).toContain("you predicted -0.01");
    // Call 2's lesson is about experiment 1 (kept, so a finding), shown to call 3.
    expect(prompt(3)).toContain("- #1: lesson from agent call 2");
    expect(prompt(3)).toContain("- agent idea 2");
  });

  it("note refuses without a session or without text, and changes nothing", () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE });
    const before = repoSnapshot(root);
    const none = cli(root, ["note", "try rotary embeddings"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no autoresearch session");
    expect(none.stderr).toContain("fix:");
    const both = cli(root, ["note", "--finding", "--dead-end", "x"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("exclude each other");
    expect(repoSnapshot(root)).toBe(before);
  });
});
