import { readFileSync } from "node:fs";
import { z } from "zod";
import { UsageError } from "../errors.js";
import type { TokenUsage } from "../types.js";

/** USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
}

/** Keys are model-id prefixes ("claude-sonnet-4", "gpt-5-mini"); the longest matching prefix wins. */
export type PriceTable = Record<string, ModelPrice>;

/**
 * Approximate list prices (USD per million input/output tokens) of common models, as published
 * by the providers in 2025. Cached-input discounts, batch pricing and long-context surcharges are
 * ignored, so treat the estimate as a guide, not a bill. Override with `--prices file.json`.
 */
export const DEFAULT_PRICES: PriceTable = {
  // Anthropic
  "claude-opus-4-5": { input: 5, output: 25 },
  "claude-opus-4-1": { input: 15, output: 75 },
  "claude-opus-4": { input: 15, output: 75 },
  "claude-sonnet-4": { input: 3, output: 15 },
  "claude-haiku-4": { input: 1, output: 5 },
  "claude-3-7-sonnet": { input: 3, output: 15 },
  "claude-3-5-sonnet": { input: 3, output: 15 },
  "claude-3-5-haiku": { input: 0.8, output: 4 },
  "claude-3-haiku": { input: 0.25, output: 1.25 },
  // OpenAI
  "gpt-5-pro": { input: 15, output: 120 },
  "gpt-5-mini": { input: 0.25, output: 2 },
  "gpt-5-nano": { input: 0.05, output: 0.4 },
  "gpt-5": { input: 1.25, output: 10 },
  "gpt-4-1-mini": { input: 0.4, output: 1.6 },
  "gpt-4-1-nano": { input: 0.1, output: 0.4 },
  "gpt-4-1": { input: 2, output: 8 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4o": { input: 2.5, output: 10 },
  "o1-mini": { input: 1.1, output: 4.4 },
  o1: { input: 15, output: 60 },
  "o3-pro": { input: 20, output: 80 },
  "o3-mini": { input: 1.1, output: 4.4 },
  o3: { input: 2, output: 8 },
  "o4-mini": { input: 1.1, output: 4.4 },
};

const priceFileSchema = z.record(
  z.string().min(1),
  z.object({ input: z.number().min(0), output: z.number().min(0) }).strict(),
);

/** "anthropic/claude-sonnet-4.5" and "claude-sonnet-4-5" name the same model for pricing. */
export function normalizeModelId(model: string): string {
  const last = model.trim().toLowerCase().split("/").pop() ?? "";
  return last.replace(/[.:_]/g, "-");
}

/** Validates and returns a price table from an object (e.g. parsed JSON). */
export function parsePriceTable(value: unknown, source = "price table"): PriceTable {
  const parsed = priceFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new UsageError(
      `invalid ${source}${where}: ${issue?.message ?? "not an object"}`,
      'Write it as {"<model-prefix>": {"input": <USD per 1M input tokens>, "output": <USD per 1M output tokens>}}.',
    );
  }
  return parsed.data;
}

/** Reads a JSON price file; its entries override the defaults. */
export function loadPriceTable(path: string): PriceTable {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read price file ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`price file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePriceTable(json, `price file ${path}`);
}

/** Defaults overlaid with `overrides` (a table object or the path of a JSON file). */
export function resolvePriceTable(overrides?: PriceTable | string): PriceTable {
  if (overrides === undefined) return { ...DEFAULT_PRICES };
  const extra = typeof overrides === "string" ? loadPriceTable(overrides) : parsePriceTable(overrides);
  return { ...DEFAULT_PRICES, ...extra };
}

/** The price of a model by longest matching prefix (after normalisation), or undefined. */
export function findPrice(model: string, table: PriceTable = DEFAULT_PRICES): ModelPrice | undefined {
  const id = normalizeModelId(model);
  let best: { key: string; price: ModelPrice } | undefined;
  for (const [key, price] of Object.entries(table)) {
    const k = normalizeModelId(key);
    if (!id.startsWith(k)) continue;
    // A prefix must end at a word boundary: "o3" matches "o3-2025-04-16" but not "o30".
    const next = id.charAt(k.length);
    if (next !== "" && next !== "-") continue;
    if (!best || k.length > normalizeModelId(best.key).length) best = { key, price };
  }
  return best?.price;
}

/** Estimated USD cost of `usage`, or undefined when the model has no known price. */
export function estimateCost(model: string, usage: TokenUsage, table: PriceTable = DEFAULT_PRICES): number | undefined {
  const price = findPrice(model, table);
  if (!price) return undefined;
  const cost = (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
  return Math.round(cost * 1e8) / 1e8;
}
