import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { listsModel, probeEndpoint, readModelList } from "../../src/proposers/llm/endpoint.js";
import { createLlmProposer } from "../../src/proposers/llm/index.js";
import { type FakeProvider, startFakeProvider } from "../helpers/fake-providers.js";

let provider: FakeProvider | null = null;
let hanging: Server | null = null;
afterEach(async () => {
  await provider?.close();
  provider = null;
  hanging?.closeAllConnections();
  await new Promise<void>((resolve) => (hanging ? hanging.close(() => resolve()) : resolve()));
  hanging = null;
});

describe("the LLM endpoint's probe (GET {base}/models, before a session's baseline)", () => {
  it("reads a model list, and sends each provider's own auth headers", async () => {
    provider = await startFakeProvider();
    provider.models = { ids: ["gpt-5", "gpt-5-mini"] };
    expect(await probeEndpoint({ provider: "openai", baseUrl: `${provider.baseUrl}/`, apiKey: "sk-1" })).toEqual({ state: "ok", listed: ["gpt-5", "gpt-5-mini"], anyName: false });
    expect(provider.listings[0]?.path).toBe("/v1/models");
    expect(provider.listings[0]?.headers.authorization).toBe("Bearer sk-1");
    await probeEndpoint({ provider: "anthropic", baseUrl: provider.baseUrl, apiKey: "sk-ant" });
    expect(provider.listings[1]?.headers["x-api-key"]).toBe("sk-ant");
    expect(provider.listings[1]?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(provider.listings[1]?.headers.authorization).toBeUndefined();
    // A local server with no key: no auth header at all.
    await probeEndpoint({ provider: "openai-compatible", baseUrl: provider.baseUrl, apiKey: undefined });
    expect(provider.listings[2]?.headers.authorization).toBeUndefined();
  });

  it("tells a refused key, a server without the route, and no server apart", async () => {
    provider = await startFakeProvider();
    provider.models = { status: 403, message: "this key has no access" };
    expect(await probeEndpoint({ provider: "openai", baseUrl: provider.baseUrl, apiKey: "k" })).toEqual({ state: "auth", status: 403, message: "this key has no access" });
    provider.models = null;
    expect(await probeEndpoint({ provider: "openai", baseUrl: provider.baseUrl, apiKey: "k" })).toEqual({ state: "unknown", status: 404 });
    // A port nothing listens on (a server never asked: no kept-alive connection to it).
    const never = await startFakeProvider();
    const closed = never.baseUrl;
    await never.close();
    const dead = await probeEndpoint({ provider: "openai-compatible", baseUrl: closed, apiKey: undefined });
    expect(dead.state).toBe("unreachable");
    // Node's fetch says "fetch failed"; the probe says why.
    expect(dead.state === "unreachable" && dead.message).toMatch(/ECONNREFUSED/);
  });

  it("gives up on a server that takes the connection and never answers", async () => {
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging?.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as AddressInfo;
    expect(await probeEndpoint({ provider: "openai-compatible", baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: undefined, timeoutMs: 1000 })).toEqual({ state: "unreachable", message: "no answer within 1s" });
  });

  it("reads the ids of the list shapes servers send, and matches a model the way servers answer for it", () => {
    expect(readModelList(JSON.stringify({ object: "list", data: [{ id: "a" }, { id: "b" }] }))).toEqual({ ids: ["a", "b"], anyName: false });
    // Ollama's own /api/tags shape, which some proxies pass through.
    expect(readModelList(JSON.stringify({ models: [{ name: "llama3:latest" }] })).ids).toEqual(["llama3:latest"]);
    expect(readModelList("<html>not json</html>")).toEqual({ ids: [], anyName: false });
    expect(readModelList(JSON.stringify({ data: "nope" })).ids).toEqual([]);
    // llama.cpp's server with one model answers to any name; its router (entries with a status) does not.
    expect(readModelList(JSON.stringify({ object: "list", data: [{ id: "model.gguf", object: "model", owned_by: "llamacpp", meta: {} }] })).anyName).toBe(true);
    expect(readModelList(JSON.stringify({ object: "list", data: [{ id: "qwen", owned_by: "llamacpp", status: { value: "loaded" } }] })).anyName).toBe(false);
    expect(listsModel(["llama3:latest"], "llama3")).toBe(true);
    expect(listsModel(["models/gemini-2.5-pro"], "gemini-2.5-pro")).toBe(true);
    expect(listsModel(["gpt-5"], "gpt-5")).toBe(true);
    expect(listsModel(["gpt-5-mini"], "gpt-5")).toBe(false);
    expect(listsModel(["llama3.1:8b"], "llama3")).toBe(false);
  });
});

describe("the LLM proposer's check", () => {
  it("throws on a refused key with the variable to fix, never the key itself", async () => {
    provider = await startFakeProvider();
    provider.models = { status: 401, message: "invalid key sk-secret-999" };
    const proposer = createLlmProposer({ provider: "openai", model: "gpt-5", baseUrl: provider.baseUrl, env: { OPENAI_API_KEY: "sk-secret-999" } });
    const failure = await proposer.check?.().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RuntimeFailure);
    expect((failure as RuntimeFailure).message).toBe("OpenAI refused the key (HTTP 401): invalid key [redacted]; nothing was changed");
    expect((failure as RuntimeFailure).hint).toContain("Check that OPENAI_API_KEY holds a valid OpenAI key");
  });

  it("warns of a model the list does not name, except Anthropic's (paged, without aliases), and is quiet when it cannot tell", async () => {
    provider = await startFakeProvider();
    provider.models = { ids: Array.from({ length: 10 }, (_, i) => `model-${i}`) };
    const openai = createLlmProposer({ provider: "openai", model: "gpt-5", baseUrl: provider.baseUrl, env: { OPENAI_API_KEY: "k" } });
    const warned = await openai.check?.();
    expect(warned?.warnings).toEqual([
      `OpenAI at ${provider.baseUrl} does not list the model "gpt-5" (it lists model-0, model-1, model-2, model-3, model-4, model-5, model-6, model-7, … 10 in all); if the id is wrong the first proposal fails, and \`autoresearch resume --model <id>\` goes on with the right one`,
    ]);
    const anthropic = createLlmProposer({ provider: "anthropic", model: "claude-sonnet-4-5", baseUrl: provider.baseUrl, env: { ANTHROPIC_API_KEY: "k" } });
    expect(await anthropic.check?.()).toEqual({});
    provider.models = null;
    expect(await openai.check?.()).toEqual({});
  });
});
