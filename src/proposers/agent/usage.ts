import type { TokenUsage } from "../../types.js";
import type { AgentPreset } from "./presets.js";

/** What an agent spent, read from its own structured output. */
export interface AgentUsage {
  usage?: TokenUsage;
  costUsd?: number;
  turns?: number;
}

type Json = Record<string, unknown>;

function jsonLines(stdout: string): Json[] {
  const out: Json[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Json);
    } catch {
      // Not a JSON event (a warning printed between them): skip.
    }
  }
  return out;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const obj = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : {});

/**
 * Cost, tokens and turns from a preset's output (stdout only; aider's report lines are read from
 * stdout too). Null when the output carries none, e.g. the agent died before its first reply.
 */
export function readUsage(preset: AgentPreset, stdout: string): AgentUsage | null {
  switch (preset) {
    case "claude": {
      // stream-json (and json) end with one "result" object: total cost, the session's usage, turns.
      const result = jsonLines(stdout).filter((e) => e.type === "result").pop();
      if (!result) return null;
      const u = obj(result.usage);
      const input = num(u.input_tokens) + num(u.cache_creation_input_tokens) + num(u.cache_read_input_tokens);
      return {
        usage: { inputTokens: input, outputTokens: num(u.output_tokens) },
        ...(typeof result.total_cost_usd === "number" && { costUsd: result.total_cost_usd }),
        ...(typeof result.num_turns === "number" && { turns: result.num_turns }),
      };
    }
    case "codex": {
      // `--json`: each turn.completed carries {input_tokens, cached_input_tokens, output_tokens}
      // (cached tokens are part of input_tokens). No cost.
      const turns = jsonLines(stdout).filter((e) => e.type === "turn.completed");
      if (turns.length === 0) return null;
      const usage = { inputTokens: 0, outputTokens: 0 };
      for (const t of turns) {
        usage.inputTokens += num(obj(t.usage).input_tokens);
        usage.outputTokens += num(obj(t.usage).output_tokens);
      }
      return { usage, turns: turns.length };
    }
    case "gemini": {
      // `--output-format json`: one (pretty-printed) object, stats.models.<model>.tokens per model.
      const start = stdout.indexOf("{");
      const end = stdout.lastIndexOf("}");
      if (start < 0 || end < start) return null;
      let doc: Json;
      try {
        doc = obj(JSON.parse(stdout.slice(start, end + 1)));
      } catch {
        return null;
      }
      const models = obj(obj(doc.stats).models);
      if (Object.keys(models).length === 0) return null;
      const usage = { inputTokens: 0, outputTokens: 0 };
      let requests = 0;
      for (const m of Object.values(models)) {
        const tokens = obj(obj(m).tokens);
        usage.inputTokens += num(tokens.prompt);
        usage.outputTokens += num(tokens.candidates) + num(tokens.thoughts);
        requests += num(obj(obj(m).api).totalRequests);
      }
      return { usage, ...(requests > 0 && { turns: requests }) };
    }
    case "opencode": {
      // `--format json`: one step_finish event per model step, each with its cost and tokens.
      const steps = jsonLines(stdout).filter((e) => e.type === "step_finish");
      if (steps.length === 0) return null;
      const usage = { inputTokens: 0, outputTokens: 0 };
      let cost = 0;
      for (const s of steps) {
        const part = obj(s.part);
        const tokens = obj(part.tokens);
        const cache = obj(tokens.cache);
        usage.inputTokens += num(tokens.input) + num(cache.read) + num(cache.write);
        usage.outputTokens += num(tokens.output) + num(tokens.reasoning);
        cost += num(part.cost);
      }
      return { usage, costUsd: cost, turns: steps.length };
    }
    case "aider": {
      // "Tokens: 2.3k sent, 1.1k cache hit, 150 received. Cost: $0.01 message, $0.02 session."
      const usage = { inputTokens: 0, outputTokens: 0 };
      let messages = 0;
      for (const m of stdout.matchAll(/Tokens: ([\d.]+[kM]?) sent(?:, [\d.]+[kM]? cache (?:write|hit))*, ([\d.]+[kM]?) received\./g)) {
        usage.inputTokens += aiderCount(m[1] as string);
        usage.outputTokens += aiderCount(m[2] as string);
        messages++;
      }
      const costs = [...stdout.matchAll(/Cost: \$[\d.]+ message, \$([\d.]+) session\./g)];
      if (messages === 0 && costs.length === 0) return null;
      const last = costs.pop();
      return { usage, ...(last && { costUsd: Number(last[1]) }), turns: messages };
    }
  }
}

/** aider prints counts as 950, 2.3k or 12k. */
function aiderCount(text: string): number {
  const scale = text.endsWith("k") ? 1e3 : text.endsWith("M") ? 1e6 : 1;
  return Math.round(Number.parseFloat(text) * scale);
}
