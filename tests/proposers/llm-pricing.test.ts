import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { backoffDelay, parseProposalReply, retryAfterMs } from "../../src/proposers/llm/index.js";
import { DEFAULT_PRICES, estimateCost, findPrice, resolvePriceTable } from "../../src/proposers/pricing.js";

describe("pricing", () => {
  it("matches model ids by the longest prefix, dated and dotted ids included", () => {
    expect(findPrice("claude-sonnet-4-5-20250929")).toEqual({ input: 3, output: 15 });
    expect(findPrice("claude-opus-4-5")).toEqual({ input: 5, output: 25 });
    expect(findPrice("claude-opus-4-1-20250805")).toEqual({ input: 15, output: 75 });
    expect(findPrice("claude-haiku-4-5")).toEqual({ input: 1, output: 5 });
    expect(findPrice("anthropic/claude-sonnet-4.5")).toEqual({ input: 3, output: 15 });
    expect(findPrice("gpt-5")).toEqual({ input: 1.25, output: 10 });
    expect(findPrice("gpt-5-mini-2025-08-07")).toEqual({ input: 0.25, output: 2 });
    expect(findPrice("gpt-4.1-mini")).toEqual({ input: 0.4, output: 1.6 });
    expect(findPrice("gpt-4o-2024-08-06")).toEqual({ input: 2.5, output: 10 });
    expect(findPrice("o3")).toEqual({ input: 2, output: 8 });
    expect(findPrice("o3-mini")).toEqual({ input: 1.1, output: 4.4 });
    expect(findPrice("o30")).toBeUndefined();
    expect(findPrice("llama3.1:8b")).toBeUndefined();
  });

  it("estimates cost from tokens; unknown models have no cost", () => {
    expect(estimateCost("gpt-4.1", { inputTokens: 500_000, outputTokens: 10_000 })).toBeCloseTo(1.08, 8);
    expect(estimateCost("my-local-model", { inputTokens: 5, outputTokens: 5 })).toBeUndefined();
  });

  it("is overridable by an object or a JSON file", () => {
    const table = resolvePriceTable({ "llama3": { input: 0, output: 0 }, "gpt-5": { input: 2, output: 20 } });
    expect(findPrice("llama3.1:8b", table)).toEqual({ input: 0, output: 0 });
    expect(findPrice("gpt-5-2025-08-07", table)).toEqual({ input: 2, output: 20 });
    expect(findPrice("gpt-5-mini", table)).toEqual(DEFAULT_PRICES["gpt-5-mini"]);

    const dir = mkdtempSync(join(tmpdir(), "prices-"));
    const file = join(dir, "prices.json");
    writeFileSync(file, JSON.stringify({ "my-model": { input: 1, output: 2 } }));
    expect(findPrice("my-model-v2", resolvePriceTable(file))).toEqual({ input: 1, output: 2 });
    writeFileSync(file, JSON.stringify({ "my-model": { input: "cheap" } }));
    expect(() => resolvePriceTable(file)).toThrow(UsageError);
    writeFileSync(file, "{not json");
    expect(() => resolvePriceTable(file)).toThrow(/not valid JSON/);
    expect(() => resolvePriceTable(join(dir, "missing.json"))).toThrow(/cannot read price file/);
  });
});

describe("retry timing", () => {
  it("reads retry-after as seconds, an HTTP date, or retry-after-ms", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(retryAfterMs({ "retry-after": "12" }, now)).toBe(12_000);
    expect(retryAfterMs({ "Retry-After": "0.5" }, now)).toBe(500);
    expect(retryAfterMs({ "retry-after": "Wed, 01 Jan 2025 00:00:30 GMT" }, now)).toBe(30_000);
    expect(retryAfterMs({ "retry-after": "Tue, 31 Dec 2024 00:00:30 GMT" }, now)).toBe(0);
    expect(retryAfterMs({ "retry-after-ms": "250", "retry-after": "1" }, now)).toBe(250);
    expect(retryAfterMs({ "retry-after": "soon" }, now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });

  it("backs off exponentially to a cap, and caps what the server asks", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, undefined))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(backoffDelay(1, 5000)).toBe(5000);
    expect(backoffDelay(1, 3_600_000)).toBe(600_000);
  });
});

describe("reply parsing", () => {
  const good = { description: "x", category: "optimizer", rationale: "r", direction: "d", edits: [{ search: "a", replace: "b" }] };

  it("takes the last parsable ```json block, or a bare object, or a name/arguments wrapper", () => {
    const text = `First try:\n\`\`\`json\n{broken\n\`\`\`\nFinal:\n\`\`\`json\n${JSON.stringify(good)}\n\`\`\``;
    expect(parseProposalReply({ text })).toMatchObject({ ok: true, reply: { category: "optimizer" } });
    expect(parseProposalReply({ text: `Sure! ${JSON.stringify(good)} Good luck.` })).toMatchObject({ ok: true });
    expect(parseProposalReply({ text: JSON.stringify({ name: "propose_experiment", arguments: good }) })).toMatchObject({ ok: true });
    expect(parseProposalReply({ toolInput: JSON.stringify({ name: "propose_experiment", arguments: JSON.stringify(good) }) })).toMatchObject({ ok: true });
  });

  it("explains what is wrong", () => {
    const bad = parseProposalReply({ toolInput: { ...good, category: "magic", edits: [{ search: "", replace: "b" }] } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toContain("category");
      expect(bad.error).toContain("edits.0.search: search must not be empty");
    }
    const none = parseProposalReply({ text: "no idea" });
    expect(none.ok).toBe(false);
    const empty = parseProposalReply({ text: "" });
    expect(!empty.ok && empty.error).toContain("empty");
  });

  it("flattens a multi-line description and tolerates missing rationale, direction, learned, ideas and expected_delta", () => {
    const r = parseProposalReply({ toolInput: { description: "  raise\nthe LR  ", category: "hyperparameters", edits: good.edits } });
    expect(r).toEqual({
      ok: true,
      reply: { description: "raise the LR", category: "hyperparameters", rationale: "", direction: "", learned: "", ideas: [], expectedDelta: null, edits: good.edits },
    });
  });
});

