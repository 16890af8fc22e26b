import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { cliAsync } from "../helpers/cli.js";
import { type FakeProvider, proposalArgs, startFakeProvider } from "../helpers/fake-providers.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, git, recordPath } from "../helpers/repo.js";

// The training script also records which variables it saw, to prove the key never reaches it.
const TRAIN_WITH_ENV_DUMP = `import { writeFileSync } from "node:fs";
writeFileSync(process.env.AR_SEEN_ENV, JSON.stringify(Object.keys(process.env)));
${FAKE_TRAIN}`;

const ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes", "--tag", "llm"];

let provider: FakeProvider | null = null;
afterEach(async () => {
  await provider?.close();
  provider = null;
});

describe("autoresearch run with an LLM proposer (local server speaking the provider's wire format)", () => {
  it("anthropic: proposals become experiments, bad edits go back with the reason, the key never reaches the run", async () => {
    provider = await startFakeProvider();
    const root = createRepo({ "train.js": TRAIN_WITH_ENV_DUMP, "prepare.js": FAKE_PREPARE, "README.md": "# tiny\n", ".gitignore": "seen-env.json\n" });
    provider.reply(
      { type: "tool", args: proposalArgs("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;", "LR 0.01 -> 0.02"), usage: [1000, 100] },
      { type: "tool", args: proposalArgs("const NOT_THERE = 1;", "const NOT_THERE = 2;", "edit that does not apply"), usage: [1000, 100] },
      { type: "tool", args: proposalArgs("const WIDTH = 16;", "const WIDTH = 32;", "WIDTH 16 -> 32"), usage: [1000, 100] },
    );
    const secret = "sk-ant-test-SECRET-123";
    // The trainer reports the environment it got in a file outside its working tree, which the
    // sandbox would refuse (tests/sandbox/ covers that): this test is about what reaches the run.
    const result = await cliAsync(root, [...ARGS, "--proposer", "anthropic", "--model", "claude-sonnet-4-5", "--base-url", provider.baseUrl, "--max-iterations", "2", "--sandbox", "off"], {
      ANTHROPIC_API_KEY: secret,
      AR_SEEN_ENV: join(root, "seen-env.json"),
    });
    expect(result.code, result.stderr).toBe(0);
    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows.map((r) => r.status)).toEqual(["keep", "keep", "keep"]);
    expect(rows[1]?.description).toMatch(/^LR 0\.01 -> 0\.02: /);
    expect(rows[2]?.description).toMatch(/^WIDTH 16 -> 32: /);

    // What the model was sent: the key in the header, the training script, the history, the refusal reason.
    expect(provider.requests).toHaveLength(3);
    expect(provider.requests[0]?.headers["x-api-key"]).toBe(secret);
    // Request 2 is made while experiment 1 runs (lookahead): the brief names it as in flight, its result not in yet.
    const second = JSON.stringify(provider.requests[1]?.body);
    expect(second).toContain("## Experiments in flight (proposed already, results not in yet): do not propose these again");
    expect(second).toContain("- #1 [hyperparameters] LR 0.01 -> 0.02");
    expect(second).toContain("const LEARNING_RATE = 0.01;");
    // Made on the baseline, the WIDTH change is applied to the best when it starts: both changes are on the branch.
    expect(git(root, "show", "autoresearch/llm:train.js")).toMatch(/const LEARNING_RATE = 0\.02;[\s\S]*const WIDTH = 32;/);
    const third = JSON.stringify(provider.requests[2]?.body);
    expect(third).toContain("was not found");

    // Tokens and cost are recorded per experiment; the secret appears nowhere the tool wrote.
    const lines = readFileSync(recordPath(root, "experiments.jsonl"), "utf8");
    expect(JSON.parse(lines.split("\n")[1] as string).usage).toEqual({ inputTokens: 1000, outputTokens: 100 });
    const seen = JSON.parse(readFileSync(join(root, "seen-env.json"), "utf8")) as string[];
    expect(seen).not.toContain("ANTHROPIC_API_KEY");
    expect(seen).toContain("AUTORESEARCH_TIME_BUDGET");
    for (const file of ["results.tsv", recordPath(root, "experiments.jsonl"), recordPath(root, "runs/1.log"), recordPath(root, "session.json")]) {
      expect(readFileSync(file.startsWith("/") ? file : join(root, file), "utf8")).not.toContain(secret);
    }
    expect(result.stdout + result.stderr).not.toContain(secret);
    expect(git(root, "log", "--all", "-p")).not.toContain(secret);
  });

  it("a missing key stops before anything changes, naming the variable", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "openai", "--model", "gpt-5"], { OPENAI_API_KEY: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("OPENAI_API_KEY");
    expect(git(root, "branch", "--list", "autoresearch/*")).toBe("");
  });

  it("the endpoint is asked before the baseline: one that does not answer or refuses the key stops with nothing changed; a model it does not list is warned of", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const untouched = git(root, "status", "--porcelain");
    // A port nothing listens on: the server not started, or a wrong --base-url.
    const closed = await startFakeProvider();
    const deadUrl = closed.baseUrl;
    await closed.close();
    const dead = await cliAsync(root, [...ARGS, "--proposer", "openai-compatible", "--model", "llama3", "--base-url", deadUrl]);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain(`the OpenAI-compatible server does not answer at ${deadUrl}: `);
    expect(dead.stderr).toMatch(/ECONNREFUSED/);
    expect(dead.stderr).toMatch(/nothing was changed/);
    expect(dead.stderr).toMatch(/Check --base-url/);

    // A key the server refuses: said before the baseline, with the variable that holds it; no proposal was asked for.
    provider = await startFakeProvider();
    provider.models = { status: 401, message: "Incorrect API key provided" };
    const refused = await cliAsync(root, [...ARGS, "--proposer", "openai-compatible", "--model", "llama3", "--base-url", provider.baseUrl, "--api-key-env", "MY_KEY"], { MY_KEY: "wrong-key" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("the OpenAI-compatible server refused the key (HTTP 401): Incorrect API key provided; nothing was changed");
    expect(refused.stderr).toContain("Check that MY_KEY holds a valid");
    expect(refused.stderr).not.toContain("wrong-key");
    expect(provider.listings[0]?.headers.authorization).toBe("Bearer wrong-key");
    expect(provider.requests).toHaveLength(0);
    // Neither stop left anything: no branch, no records, the checkout as it was.
    expect(git(root, "branch", "--list", "autoresearch/*")).toBe("");
    expect(git(root, "status", "--porcelain")).toBe(untouched);

    // A model the server's list does not name: a warning before the baseline, and the session goes on.
    provider.models = { ids: ["llama3.1:8b", "qwen2.5:7b"] };
    provider.reply({ type: "tool", args: proposalArgs("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;", "LR 0.01 -> 0.02"), usage: [1000, 100] });
    const listed = await cliAsync(root, [...ARGS, "--proposer", "openai-compatible", "--model", "llama3", "--base-url", provider.baseUrl, "--max-iterations", "1"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout + listed.stderr).toContain(`does not list the model "llama3" (it lists llama3.1:8b, qwen2.5:7b)`);
    expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows).toHaveLength(2);
  }, 120_000);

  it("a session that ends because no reply was usable, time after time, exits 1: nothing was researched", async () => {
    provider = await startFakeProvider();
    provider.reply(...Array.from({ length: 200 }, () => ({ type: "text" as const, text: "I would rather not edit files." })));
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "openai-compatible", "--model", "llama3", "--base-url", provider.baseUrl]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain("Session ended: no valid proposal in 5 iterations in a row");
    // Its baseline and summary are kept: the session is resumable once the proposer is mended.
    expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows).toHaveLength(1);
  }, 120_000);

  it("an auth error from the provider ends the session with exit 1 and a clear message, with the summary written", async () => {
    provider = await startFakeProvider();
    provider.reply({ type: "error", status: 401, message: "invalid x-api-key", errorType: "authentication_error" });
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "openai-compatible", "--model", "llama3", "--base-url", provider.baseUrl, "--api-key-env", "MY_KEY"], {
      MY_KEY: "abc",
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/401|rejected|auth/i);
    expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows).toHaveLength(1);

    // A resume to an endpoint that does not answer stops before anything changes: the session keeps its endpoint.
    const closed = await startFakeProvider();
    await closed.close();
    const dead = await cliAsync(root, ["resume", "--base-url", closed.baseUrl, "--max-iterations", "1"], { MY_KEY: "abc" });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain(`does not answer at ${closed.baseUrl}`);
    expect(JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")).config.baseUrl).toBe(provider.baseUrl);

    // The endpoint mended on resume (it needed a new session and its baseline): used at once, and kept as the session's.
    const mended = await startFakeProvider();
    try {
      mended.models = { ids: ["llama3:latest"] };
      mended.reply({ type: "tool", args: proposalArgs("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;", "LR 0.01 -> 0.02"), usage: [1000, 100] });
      const resumed = await cliAsync(root, ["resume", "--base-url", mended.baseUrl, "--max-iterations", "1"], { MY_KEY: "abc" });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(mended.requests.length).toBeGreaterThanOrEqual(1);
      // Asked before going on; Ollama's "llama3:latest" answers for "llama3", so no warning.
      expect(mended.listings).toHaveLength(1);
      expect(resumed.stdout + resumed.stderr).not.toContain("does not list the model");
      expect(parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows.map((r) => r.description)).toEqual([expect.any(String), expect.stringMatching(/^LR 0\.01 -> 0\.02/)]);
      expect(JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")).config).toMatchObject({ baseUrl: mended.baseUrl, model: "llama3", maxIterations: 1 });
    } finally {
      await mended.close();
    }
    // A model for a session of the builtin search is refused, as run refuses it.
    const builtin = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    expect((await cliAsync(builtin, [...ARGS.slice(0, -2), "--tag", "b", "--max-iterations", "0"])).code).toBe(0);
    const refused = await cliAsync(builtin, ["resume", "--model", "gpt-5", "--max-iterations", "1"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--model \(config key "model"\) is read by the LLM proposers, but the proposer is builtin/);
    expect(refused.stderr).toMatch(/fix: Leave --model out: a session keeps the proposer it started with/);
  }, 120_000);
});

describe("autoresearch run with a coding-agent CLI", () => {
  it("keeps only the agent's change to the training script and puts everything else back", async () => {
    const agent = `import { readFileSync, writeFileSync } from "node:fs";
const train = readFileSync("train.js", "utf8");
const n = Number(process.env.AUTORESEARCH_PROMPT_FILE ? 1 : 0);
writeFileSync("train.js", train.replace(/const WIDTH = (\\d+);/, (_, w) => "const WIDTH = " + Number(w) * 2 + ";"));
writeFileSync("prepare.js", "// the agent should not touch this\\n");
writeFileSync("stray.txt", "junk" + n);
writeFileSync(process.env.AUTORESEARCH_PROPOSAL_FILE, JSON.stringify({ description: "double WIDTH", category: "architecture", direction: "wider" }));
`;
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE, "agent.mjs": agent });
    const result = await cliAsync(root, [...ARGS, "--proposer", "agent", "--agent", "node agent.mjs", "--max-iterations", "2"]);
    expect(result.code, result.stderr).toBe(0);
    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows.slice(1).map((r) => r.description.split(":")[0])).toEqual(["double WIDTH", "double WIDTH"]);
    expect(rows.map((r) => r.status)).toEqual(["keep", "keep", "keep"]);
    expect(git(root, "show", "autoresearch/llm:train.js")).toContain("const WIDTH = 64;");
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(FAKE_TRAIN);
    expect(readFileSync(join(root, "prepare.js"), "utf8")).toBe(FAKE_PREPARE);
    expect(git(root, "status", "--porcelain")).toBe("");
    // What the agent touched besides the training script is recorded with the experiment.
    const first = JSON.parse(readFileSync(recordPath(root, "experiments.jsonl"), "utf8").split("\n")[1] as string);
    expect(first.agentViolations.join(" ")).toMatch(/prepare\.js/);
    expect(first.agentViolations.join(" ")).toMatch(/stray\.txt/);
  });
});
