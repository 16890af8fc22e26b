import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { jsonSchema, streamText, tool } from "ai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RuntimeFailure, UsageError } from "../../src/errors.js";
import { ProposalFailed } from "../../src/proposers/errors.js";
import { createLlmProposer, type LlmProposerOptions } from "../../src/proposers/llm/index.js";
import {
  type FakeProvider,
  makeContext,
  makeRecord,
  proposalArgs,
  type RecordedRequest,
  startFakeProvider,
} from "../helpers/fake-providers.js";

const KEY = "sk-test-secret-0123456789";

interface Variant {
  label: string;
  provider: LlmProposerOptions["provider"];
  openaiApi?: "chat" | "responses";
  model: string;
  env: Record<string, string>;
  path: string;
  /** The text of every message sent, to look for prompt contents. */
  sentText(req: RecordedRequest): string;
  toolNames(req: RecordedRequest): string[];
  authHeader(req: RecordedRequest): string | undefined;
}

const VARIANTS: Variant[] = [
  {
    label: "anthropic (Messages)",
    provider: "anthropic",
    model: "claude-sonnet-4-5-20250929",
    env: { ANTHROPIC_API_KEY: KEY },
    path: "/v1/messages",
    sentText: (r) => JSON.stringify(r.body.system) + JSON.stringify(r.body.messages),
    toolNames: (r) => (r.body.tools ?? []).map((t: { name: string }) => t.name),
    authHeader: (r) => r.headers["x-api-key"] as string | undefined,
  },
  {
    label: "openai (Responses)",
    provider: "openai",
    openaiApi: "responses",
    model: "gpt-5",
    env: { OPENAI_API_KEY: KEY },
    path: "/v1/responses",
    sentText: (r) => JSON.stringify(r.body.input),
    toolNames: (r) => (r.body.tools ?? []).map((t: { name: string }) => t.name),
    authHeader: (r) => r.headers.authorization as string | undefined,
  },
  {
    label: "openai (Chat Completions)",
    provider: "openai",
    openaiApi: "chat",
    model: "gpt-4.1",
    env: { OPENAI_API_KEY: KEY },
    path: "/v1/chat/completions",
    sentText: (r) => JSON.stringify(r.body.messages),
    toolNames: (r) => (r.body.tools ?? []).map((t: { function: { name: string } }) => t.function.name),
    authHeader: (r) => r.headers.authorization as string | undefined,
  },
  {
    label: "openai-compatible (Chat Completions)",
    provider: "openai-compatible",
    model: "qwen2.5-coder:32b",
    env: { LOCAL_KEY: KEY },
    path: "/v1/chat/completions",
    sentText: (r) => JSON.stringify(r.body.messages),
    toolNames: (r) => (r.body.tools ?? []).map((t: { function: { name: string } }) => t.function.name),
    authHeader: (r) => r.headers.authorization as string | undefined,
  },
];

let server: FakeProvider;
let sleeps: number[];

beforeEach(async () => {
  server = await startFakeProvider();
  sleeps = [];
});
afterEach(async () => {
  await server.close();
});

function make(v: Variant, extra: Partial<LlmProposerOptions> = {}) {
  return createLlmProposer({
    provider: v.provider,
    model: v.model,
    baseUrl: server.baseUrl,
    openaiApi: v.openaiApi,
    apiKeyEnv: v.provider === "openai-compatible" ? "LOCAL_KEY" : undefined,
    env: v.env,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  });
}

const GOOD = proposalArgs("LR = 0.01", "LR = 0.02", "LR 0.01 -> 0.02");

describe.each(VARIANTS)("$label", (v) => {
  it("sends the prompt and tool, and returns the proposal with usage", async () => {
    server.reply({ type: "tool", args: GOOD, usage: [12_000, 800], text: "Let me raise the learning rate." });
    const ctx = makeContext({
      history: [makeContext().baseline, makeRecord(1, { description: "deeper MLP", status: "crash", reason: "oom", detail: "CUDA out of memory" })],
      failureStreak: 1,
      scope: ["hyperparameters", "optimizer"],
    });
    const proposal = await make(v).propose(ctx);
    expect(proposal).toMatchObject({
      description: "LR 0.01 -> 0.02",
      category: "hyperparameters",
      edits: [{ search: "LR = 0.01", replace: "LR = 0.02" }],
      direction: "learning-rate schedule",
      rationale: expect.stringContaining("loss"),
      usage: { inputTokens: 12_000, outputTokens: 800 },
    });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0] as RecordedRequest;
    expect(req.path).toBe(v.path);
    expect(req.body.model).toBe(v.model);
    expect(v.toolNames(req)).toEqual(["propose_experiment"]);
    expect(v.authHeader(req)).toBe(v.provider === "anthropic" ? KEY : `Bearer ${KEY}`);
    const sent = v.sentText(req);
    expect(sent).toContain("BATCH_SIZE = 64"); // the training script
    expect(sent).toContain("def evaluate(loss)"); // the read-only file
    expect(sent).toContain("deeper MLP"); // the history
    expect(sent).toContain("CUDA out of memory");
    expect(sent).toContain("hyperparameters, optimizer"); // the scope
    expect(sent).toContain("Simplicity: only an exactly equal metric");
    expect(req.body.stream ?? false).toBe(false);
    // The tool is forced, in each API's own shape.
    expect(req.body.tool_choice).toEqual(
      v.provider === "anthropic"
        ? { type: "tool", name: "propose_experiment" }
        : v.path === "/v1/responses"
          ? { type: "function", name: "propose_experiment" }
          : { type: "function", function: { name: "propose_experiment" } },
    );
    if (v.provider === "anthropic") expect(req.headers["anthropic-version"]).toBe("2023-06-01");
  });

  it("falls back to a fenced json block in text", async () => {
    server.reply({ type: "text", text: `Here is my idea.\n\n\`\`\`json\n${JSON.stringify(GOOD, null, 2)}\n\`\`\`\n` });
    const proposal = await make(v).propose(makeContext());
    expect(proposal?.edits).toEqual([{ search: "LR = 0.01", replace: "LR = 0.02" }]);
  });

  it("retries a malformed reply with a corrective message", async () => {
    server.reply(
      { type: "tool", args: { description: "bigger lr", category: "vibes", edits: [] } },
      { type: "tool", args: GOOD, usage: [2000, 50] },
    );
    const proposal = await make(v).propose(makeContext());
    expect(proposal?.description).toBe("LR 0.01 -> 0.02");
    expect(server.requests).toHaveLength(2);
    const second = v.sentText(server.requests[1] as RecordedRequest);
    expect(second).toContain("could not be used");
    expect(second).toContain("category");
    // Tokens of both replies are counted.
    expect(proposal?.usage).toEqual({ inputTokens: 3000, outputTokens: 150 });
    expect(sleeps).toEqual([]);
  });

  it("waits as long as retry-after says on 429, then succeeds", async () => {
    server.reply({ type: "error", status: 429, message: "rate limited", headers: { "retry-after": "7" } }, { type: "tool", args: GOOD });
    const proposal = await make(v).propose(makeContext());
    expect(proposal?.description).toBe("LR 0.01 -> 0.02");
    expect(sleeps).toEqual([7000]);
    expect(server.requests).toHaveLength(2);
  });

  it("backs off and retries on 500", async () => {
    server.reply({ type: "error", status: 500, message: "boom" }, { type: "error", status: 503, message: "busy" }, { type: "tool", args: GOOD });
    const proposal = await make(v).propose(makeContext());
    expect(proposal?.category).toBe("hyperparameters");
    expect(sleeps).toEqual([1000, 2000]);
    // The library's own retries are off: one layer (ours) decides, so exactly three requests.
    expect(server.requests).toHaveLength(3);
  });

  it("stops with a clear RuntimeFailure on 401, without retrying", async () => {
    server.reply({ type: "error", status: 401, message: "invalid x-api-key" }, { type: "tool", args: GOOD });
    const error = await make(v)
      .propose(makeContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as RuntimeFailure).message).toMatch(/rejected the request \(HTTP 401\): invalid x-api-key/);
    expect((error as RuntimeFailure).hint).toContain(v.provider === "anthropic" ? "ANTHROPIC_API_KEY" : v.provider === "openai" ? "OPENAI_API_KEY" : "LOCAL_KEY");
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("computes the cost from the price table", async () => {
    server.reply({ type: "tool", args: GOOD, usage: [1_000_000, 100_000] });
    const proposal = await make(v, { prices: { "qwen2.5-coder": { input: 0.5, output: 1 } } }).propose(makeContext());
    const expected = v.provider === "anthropic" ? 3 + 1.5 : v.model === "gpt-5" ? 1.25 + 1 : v.model === "gpt-4.1" ? 2 + 0.8 : 0.5 + 0.1;
    expect(proposal?.costUsd).toBeCloseTo(expected, 6);
  });
});

describe("llm proposer", () => {
  const anthropic = VARIANTS[0] as Variant;
  const chat = VARIANTS[2] as Variant;

  it("refuses to start without a key, naming the variable and how to set it", () => {
    expect(() => createLlmProposer({ provider: "anthropic", model: "claude-sonnet-4-5", env: {} })).toThrow(UsageError);
    try {
      createLlmProposer({ provider: "openai", model: "gpt-5", env: { ANTHROPIC_API_KEY: "x" } });
    } catch (error) {
      expect((error as UsageError).message).toContain("OPENAI_API_KEY is not set");
      expect((error as UsageError).hint).toContain("export OPENAI_API_KEY=");
      expect((error as UsageError).hint).toContain("--api-key-env");
      expect((error as UsageError).exitCode).toBe(2);
    }
    expect(() => createLlmProposer({ provider: "anthropic", model: "m", apiKeyEnv: "MY_KEY", env: { ANTHROPIC_API_KEY: "x" } })).toThrow(/MY_KEY is not set/);
    expect(() => createLlmProposer({ provider: "anthropic", model: "m", apiKeyEnv: "sk-ant-123-456", env: {} })).toThrow(/NAME of an environment variable/);
  });

  it("needs a model, and a base URL for openai-compatible", () => {
    expect(() => createLlmProposer({ provider: "anthropic", model: "", env: { ANTHROPIC_API_KEY: "k" } })).toThrow(/needs --model/);
    expect(() => createLlmProposer({ provider: "openai-compatible", model: "llama3", env: {} })).toThrow(/needs --base-url/);
    expect(() => createLlmProposer({ provider: "openai-compatible", model: "llama3", baseUrl: "localhost:11434", env: {} })).toThrow(UsageError);
  });

  it("works keyless against a local openai-compatible server (Ollama style)", async () => {
    server.reply({ type: "tool", args: GOOD });
    const proposer = createLlmProposer({ provider: "openai-compatible", model: "llama3.1:8b", baseUrl: server.baseUrl, env: { OPENAI_API_KEY: KEY } });
    expect(proposer.name).toBe("openai-compatible");
    const proposal = await proposer.propose(makeContext());
    expect(proposal?.description).toBe("LR 0.01 -> 0.02");
    // The OpenAI key is not sent to a third-party server unless asked for.
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    // Unknown model: tokens counted, no cost.
    expect(proposal?.usage).toEqual({ inputTokens: 1000, outputTokens: 100 });
    expect(proposal?.costUsd).toBeUndefined();
  });

  it("honours retry-after given as an HTTP date, and retry-after-ms", async () => {
    const date = new Date(Date.now() + 30_000).toUTCString();
    server.reply(
      { type: "error", status: 529, message: "Overloaded", headers: { "retry-after": date } },
      { type: "error", status: 429, message: "slow down", headers: { "retry-after-ms": "1500", "retry-after": "2" } },
      { type: "tool", args: GOOD },
    );
    // Each retry is said while it waits (a session sat on "proposing…" for minutes without a word).
    const notices: string[] = [];
    await make(anthropic).propose({ ...makeContext(), notice: (m) => notices.push(m) });
    expect(notices).toEqual([expect.stringMatching(/^Anthropic \(HTTP 529\): .*Overloaded.*; retry 2 of 6 in (2[6-9]|30)s$/), expect.stringMatching(/^Anthropic \(HTTP 429\): .*slow down.*; retry 3 of 6 in 2s$/)]);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThan(25_000);
    expect(sleeps[0]).toBeLessThanOrEqual(30_000);
    expect(sleeps[1]).toBe(1500);
  });

  it("retries dropped connections and timeouts, then gives up with a RuntimeFailure", async () => {
    server.reply({ type: "drop" }, { type: "hang" }, { type: "tool", args: GOOD });
    const proposal = await make(chat, { timeoutMs: 300 }).propose(makeContext());
    expect(proposal?.description).toBe("LR 0.01 -> 0.02");
    expect(sleeps).toEqual([1000, 2000]);

    sleeps.length = 0;
    server.reply({ type: "error", status: 502 }, { type: "error", status: 502 }, { type: "error", status: 502 });
    const error = await make(chat, { maxAttempts: 3 })
      .propose(makeContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toMatch(/unavailable: 3 attempts failed/);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it("gives up on endless malformed replies with ProposalFailed, not a crash", async () => {
    server.reply({ type: "text", text: "I think you should raise the learning rate." }, { type: "tool-raw", raw: '{"description": "x", ' }, { type: "text", text: "" });
    const error = await make(chat)
      .propose(makeContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProposalFailed);
    expect((error as ProposalFailed).reason).toBe("malformed-reply");
    expect(server.requests).toHaveLength(3);
    // Three billed replies (1000 in, 100 out each): their tokens count although none was usable (they were dropped).
    expect((error as ProposalFailed).spent.usage).toEqual({ inputTokens: 3000, outputTokens: 300 });
  });

  it("treats an unreadable response body as a malformed reply", async () => {
    server.reply({ type: "raw", status: 200, body: "<html>gateway</html>" }, { type: "tool", args: GOOD });
    const proposal = await make(chat).propose(makeContext());
    expect(proposal?.description).toBe("LR 0.01 -> 0.02");
  });

  it("falls back to json-in-text when the server does not support tools", async () => {
    server.reply(
      { type: "error", status: 400, message: "registry.ollama.ai/library/gemma:2b does not support tools" },
      { type: "text", text: `\`\`\`json\n${JSON.stringify(GOOD)}\n\`\`\`` },
      { type: "text", text: `\`\`\`json\n${JSON.stringify(GOOD)}\n\`\`\`` },
    );
    const proposer = make(VARIANTS[3] as Variant);
    expect((await proposer.propose(makeContext()))?.description).toBe("LR 0.01 -> 0.02");
    expect(server.requests[0]?.body.tools).toBeDefined();
    expect(server.requests[1]?.body.tools).toBeUndefined();
    // Remembered for the rest of the session.
    await proposer.propose(makeContext());
    expect(server.requests[2]?.body.tools).toBeUndefined();
  });

  it("stops on other client errors, and on exhausted quota, with the server's message", async () => {
    server.reply({ type: "error", status: 404, message: "model: claude-nope not found" });
    await expect(make(anthropic).propose(makeContext())).rejects.toThrow(/HTTP 404\): model: claude-nope not found/);
    server.reply({ type: "error", status: 429, message: "You exceeded your current quota", code: "insufficient_quota" });
    await expect(make(chat).propose(makeContext())).rejects.toThrow(RuntimeFailure);
    expect(sleeps).toEqual([]);
  });

  it("never puts the key in error messages", async () => {
    server.reply({ type: "error", status: 401, message: `Incorrect API key provided: ${KEY}` });
    const error = (await make(chat)
      .propose(makeContext())
      .catch((e: unknown) => e)) as RuntimeFailure;
    expect(error.message).not.toContain(KEY);
    expect(error.message).toContain("[redacted]");
  });

  it("stops waiting when the session is interrupted", async () => {
    server.reply({ type: "hang" });
    const controller = new AbortController();
    const pending = make(chat).propose(makeContext(), controller.signal);
    setTimeout(() => controller.abort(new Error("stopped")), 100);
    await expect(pending).rejects.toThrow("stopped");
  });

  it("reads learned, ideas and expected_delta, and still proposes when they are missing or malformed", async () => {
    server.reply(
      { type: "tool", args: { ...GOOD, learned: "  the last\nchange helped ", ideas: ["try rope", " "], expected_delta: "-0.02" } },
      { type: "tool", args: { ...GOOD, learned: 42, ideas: "one idea", expected_delta: "soon" } },
      { type: "tool", args: { ...GOOD, expected_delta: null } },
    );
    const p = make(chat);
    expect(await p.propose(makeContext())).toMatchObject({ learned: "the last change helped", ideas: ["try rope"], expectedDelta: -0.02 });
    const malformed = await p.propose(makeContext());
    expect(malformed).toMatchObject({ ideas: ["one idea"], edits: GOOD.edits });
    expect(malformed).not.toHaveProperty("learned");
    expect(malformed).not.toHaveProperty("expectedDelta");
    expect(await p.propose(makeContext())).not.toHaveProperty("expectedDelta");
    // The schema asks for them (all required, as OpenAI's strict mode wants).
    const tool = server.requests[0]?.body.tools[0].function;
    expect(tool.parameters.required).toEqual(expect.arrayContaining(["learned", "ideas", "expected_delta"]));
    expect(tool.parameters.properties.expected_delta.type).toEqual(["number", "null"]);
  });

  it("accepts category aliases and double-encoded edits", async () => {
    server.reply({ type: "tool", args: { ...GOOD, category: "Hyperparameter", edits: JSON.stringify(GOOD.edits) } });
    const proposal = await make(chat).propose(makeContext());
    expect(proposal?.category).toBe("hyperparameters");
    expect(proposal?.edits).toHaveLength(1);
  });
});

describe("streaming wire formats of the fake server", () => {
  // The proposers call the non-streaming endpoints; the fake's SSE variants are checked here
  // against the SDK's own streaming parsers so they stay faithful for any future streaming use.
  it("answers stream requests with SSE each SDK parses into the same tool call, text and usage", async () => {
    const tools = { propose_experiment: tool({ description: "x", inputSchema: jsonSchema({ type: "object", properties: {}, additionalProperties: true } as never) }) };
    const models = [
      createAnthropic({ apiKey: KEY, baseURL: server.baseUrl })("claude-sonnet-4-5"),
      createOpenAI({ apiKey: KEY, baseURL: server.baseUrl }).chat("gpt-4.1"),
      createOpenAI({ apiKey: KEY, baseURL: server.baseUrl }).responses("gpt-5"),
    ];
    for (const model of models) {
      server.reply({ type: "tool", args: GOOD, usage: [123, 45], text: "thinking aloud" });
      const result = streamText({ model, prompt: "propose", tools, maxRetries: 0 });
      const calls = await result.toolCalls;
      expect(calls.map((c) => [c.toolName, c.input])).toEqual([["propose_experiment", GOOD]]);
      expect(await result.text).toBe("thinking aloud");
      const usage = await result.usage;
      expect([usage.inputTokens, usage.outputTokens]).toEqual([123, 45]);
    }
    expect(server.requests.map((r) => [r.path, r.body.stream])).toEqual([
      ["/v1/messages", true],
      ["/v1/chat/completions", true],
      ["/v1/responses", true],
    ]);
  });
});
