import { exampleModel } from "../../config/options.js";
import { generateText, jsonSchema, type ModelMessage, ToolChoiceViolationError, tool, wrapLanguageModel } from "ai";
import { RuntimeFailure, UsageError } from "../../errors.js";
import type { Proposal, ProposalContext, Proposer, TokenUsage } from "../../types.js";
import { ProposalFailed } from "../errors.js";
import { type PriceTable, estimateCost, resolvePriceTable } from "../pricing.js";
import { buildPrompt, PROPOSAL_TOOL_NAME, PROPOSALS_TOOL_NAME } from "../prompt.js";
import { listsModel, probeEndpoint } from "./endpoint.js";
import {
  createModel,
  DEFAULT_BASE_URLS,
  LLM_PROVIDERS,
  type LlmProvider,
  providerLabel,
  resolveApiKey,
  validateBaseUrl,
} from "./provider.js";
import { type BackoffOptions, backoffDelay, classifyError, DEFAULT_BACKOFF, defaultSleep } from "./retry.js";
import { PROPOSAL_JSON_SCHEMA, PROPOSALS_JSON_SCHEMA, parseProposalBatch, parseProposalReply, type ProposalReply } from "./schema.js";

export { LLM_PROVIDERS, type LlmProvider, resolveApiKey } from "./provider.js";
export { parseProposalReply, PROPOSAL_JSON_SCHEMA } from "./schema.js";
export { retryAfterMs, classifyError, backoffDelay } from "./retry.js";

export interface LlmProposerOptions {
  provider: LlmProvider;
  model: string;
  /** API root including the version segment, e.g. http://localhost:11434/v1. */
  baseUrl?: string;
  /** Name of the env var with the key (default ANTHROPIC_API_KEY / OPENAI_API_KEY; none for openai-compatible). */
  apiKeyEnv?: string;
  /** Where keys are read from (default process.env). */
  env?: Record<string, string | undefined>;
  /** OpenAI only: Responses API (default) or Chat Completions. */
  openaiApi?: "chat" | "responses";
  fetch?: typeof fetch;
  /** Injectable for tests; must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Provider calls per reply, including the first, for 429/5xx/network/timeout (default 6). */
  maxAttempts?: number;
  /** Corrective follow-ups after an unusable reply (default 2, so at most 3 replies). */
  maxCorrections?: number;
  /** Overrides merged over the default price table (object or JSON file path). */
  prices?: PriceTable | string;
  /** Per-call timeout in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Prompt budget in characters (default buildPrompt's). */
  promptMaxChars?: number;
  /** Cap on generated tokens (default 16000 for anthropic/openai; unset for openai-compatible). */
  maxOutputTokens?: number;
  backoff?: Partial<BackoffOptions>;
}

const DEFAULT_TIMEOUT_MS = 600_000;

/** A proposer that asks a hosted or local LLM for one propose_experiment tool call. */
export function createLlmProposer(options: LlmProposerOptions): Proposer {
  const provider = options.provider;
  if (!LLM_PROVIDERS.includes(provider)) {
    throw new UsageError(`unknown LLM provider "${String(provider)}"`, `Use one of: ${LLM_PROVIDERS.join(", ")}.`);
  }
  const modelId = options.model?.trim();
  if (!modelId) {
    throw new UsageError(`--proposer ${provider} needs --model`, exampleModel(provider));
  }
  validateBaseUrl(options.baseUrl);
  if (options.openaiApi !== undefined && options.openaiApi !== "chat" && options.openaiApi !== "responses") {
    throw new UsageError(`--openai-api must be chat or responses, got "${String(options.openaiApi)}"`);
  }
  const key = resolveApiKey(provider, options.apiKeyEnv, options.env ?? process.env);
  /** Token counts of the last HTTP reply, kept even when generateText then throws (e.g. text instead of a tool call). */
  let lastUsage: { inputTokens: number; outputTokens: number } | null = null;
  const model = wrapLanguageModel({
    model: createModel({
      provider,
      model: modelId,
      baseUrl: options.baseUrl,
      apiKey: key.apiKey,
      openaiApi: options.openaiApi ?? "responses",
      fetch: options.fetch,
    }),
    middleware: {
      specificationVersion: "v3",
      wrapGenerate: async ({ doGenerate }) => {
        const result = await doGenerate();
        lastUsage = {
          inputTokens: result.usage.inputTokens.total ?? 0,
          outputTokens: result.usage.outputTokens.total ?? 0,
        };
        return result;
      },
    },
  });
  const prices = resolvePriceTable(options.prices);
  const sleep = options.sleep ?? defaultSleep;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 6);
  const maxCorrections = Math.max(0, options.maxCorrections ?? 2);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const maxOutputTokens = options.maxOutputTokens ?? (provider === "openai-compatible" ? undefined : 16_000);
  const label = providerLabel(provider);
  const redact = (text: string) => (key.apiKey ? text.split(key.apiKey).join("[redacted]") : text);
  /** Switched off for the session when the server says it cannot do tools; replies then come as ```json. */
  let useTools = true;

  const tools = {
    [PROPOSAL_TOOL_NAME]: tool({
      description: "Propose exactly one experiment: one focused change to the training script, as exact search/replace edits.",
      inputSchema: jsonSchema<unknown>(PROPOSAL_JSON_SCHEMA as never),
    }),
  };
  const batchTools = {
    [PROPOSALS_TOOL_NAME]: tool({
      description: "Propose several diverse experiments at once, one per free worker: each one focused change to the training script, as exact search/replace edits.",
      inputSchema: jsonSchema<unknown>(PROPOSALS_JSON_SCHEMA as never),
    }),
  };

  interface CallResult {
    text: string;
    toolCalls: { toolName: string; input: unknown }[];
  }

  /** One reply, retrying transient failures with backoff. Returns null for an unparsable response body. */
  async function callOnce(messages: ModelMessage[], system: string, signal?: AbortSignal, batch = false, notice?: (message: string) => void): Promise<CallResult | null> {
    const toolset: Record<string, (typeof tools)[typeof PROPOSAL_TOOL_NAME]> = batch ? batchTools : tools;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error(`no reply within ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs);
      const onAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const result = await generateText({
          model,
          system,
          messages,
          maxRetries: 0,
          abortSignal: controller.signal,
          ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
          ...(useTools ? { tools: toolset, toolChoice: { type: "tool" as const, toolName: batch ? PROPOSALS_TOOL_NAME : PROPOSAL_TOOL_NAME } } : {}),
        });
        return {
          text: result.text,
          toolCalls: result.toolCalls.map((c) => ({ toolName: c.toolName, input: c.input })),
        };
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        // Text instead of the forced tool call: still a reply (it may hold a ```json block).
        if (ToolChoiceViolationError.isInstance(error)) {
          const text = error.content
            .map((part) => (part.type === "text" ? part.text : ""))
            .join("");
          return { text, toolCalls: [] };
        }
        const info = timedOut
          ? ({ kind: "transient", message: `no reply within ${Math.round(timeoutMs / 1000)}s` } as const)
          : classifyError(error);
        const status = "status" in info && info.status !== undefined ? ` (HTTP ${info.status})` : "";
        switch (info.kind) {
          case "auth":
            throw new RuntimeFailure(
              `${label} rejected the request${status}: ${redact(info.message)}`,
              key.envName
                ? `Check that ${key.envName} holds a valid key with access to model "${modelId}".`
                : "The server wants an API key: put it in a variable and pass --api-key-env NAME.",
            );
          case "quota":
            throw new RuntimeFailure(`${label} refused the request${status}: ${redact(info.message)}`, "The account is out of quota or credit; top it up and resume.");
          case "tools-unsupported":
            if (useTools) {
              useTools = false;
              attempt--;
              continue;
            }
            throw new RuntimeFailure(`${label} rejected the request${status}: ${redact(info.message)}`);
          case "fatal":
            throw new RuntimeFailure(
              `${label} request failed${status}: ${redact(info.message)}`,
              info.status === 404 ? `Check the model id "${modelId}" and the base URL; \`autoresearch resume --model <id> --base-url <url>\` goes on with the right ones.` : undefined,
            );
          case "bad-response":
            return null;
          case "transient": {
            if (attempt >= maxAttempts) {
              throw new RuntimeFailure(
                `${label} is unavailable: ${attempt} attempts failed, the last${status}: ${redact(info.message)}`,
                "Resume the session later (autoresearch resume), or with --base-url <url> if the endpoint is wrong.",
              );
            }
            const delay = backoffDelay(attempt, "retryAfterMs" in info ? info.retryAfterMs : undefined, backoff);
            // Said, so minutes of "proposing…" have a reason on screen.
            notice?.(`${label}${status}: ${redact(info.message)}; retry ${attempt + 1} of ${maxAttempts} in ${Math.max(1, Math.round(delay / 1000))}s`);
            await sleep(delay, signal);
            continue;
          }
        }
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      }
    }
  }

  return {
    name: provider,
    /**
     * Before the baseline, nothing changed yet: an endpoint that does not answer, or refuses the
     * key, stops the session now rather than at the first proposal, a whole baseline later. A model
     * the server's list does not name is said (a warning: lists leave out aliases and gateways
     * route more than they list); Anthropic's list is paged and leaves out aliases, so it is not asked.
     */
    async check() {
      const baseUrl = options.baseUrl ?? (provider === "openai-compatible" ? "" : DEFAULT_BASE_URLS[provider]);
      const probe = await probeEndpoint({ provider, baseUrl, apiKey: key.apiKey, fetch: options.fetch });
      if (probe.state === "unreachable") {
        throw new RuntimeFailure(
          `${label} does not answer at ${baseUrl}: ${redact(probe.message)}; nothing was changed`,
          options.baseUrl
            ? `Check --base-url (the API root, e.g. http://localhost:11434/v1 for Ollama) and that the server is running, then run again.`
            : "Check this machine's network connection to it, then run again; behind a gateway, give its address with --base-url.",
        );
      }
      if (probe.state === "auth") {
        throw new RuntimeFailure(
          `${label} refused the key (HTTP ${probe.status}): ${redact(probe.message)}; nothing was changed`,
          key.envName ? `Check that ${key.envName} holds a valid ${label} key, then run again.` : "The server wants an API key: put it in a variable and pass --api-key-env NAME.",
        );
      }
      if (probe.state === "ok" && provider !== "anthropic" && !probe.anyName && probe.listed.length > 0 && !listsModel(probe.listed, modelId)) {
        const shown = probe.listed.slice(0, 8).join(", ");
        return {
          warnings: [
            `${label} at ${baseUrl} does not list the model "${modelId}" (it lists ${shown}${probe.listed.length > 8 ? `, … ${probe.listed.length} in all` : ""}); if the id is wrong the first proposal fails, and \`autoresearch resume --model <id>\` goes on with the right one`,
          ],
        };
      }
      return {};
    },
    async propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal | null> {
      const prompt = buildPrompt(ctx, { maxChars: options.promptMaxChars });
      return askUntilUsable<Proposal>({
        prompt,
        signal,
        notice: ctx.notice,
        batch: false,
        tool: PROPOSAL_TOOL_NAME,
        what: "proposal",
        read: (reply, usage) => {
          const parsed = parseProposalReply(reply);
          return parsed.ok ? { ok: true, value: toProposal(parsed.reply, usage, modelId, prices) } : { ok: false, error: parsed.error };
        },
        again: "exactly one %TOOL% call (or, without tools, one ```json block) containing description, category, rationale, direction, learned, ideas, expected_delta and edits [{search, replace}]",
      });
    },

    /**
     * One request for k diverse experiments (several workers free). Each experiment of the reply
     * is validated on its own: one that does not match the schema comes back marked `refused`
     * (recorded like any refused proposal), the others are kept. A reply with no usable experiment
     * at all gets the same corrective follow-ups as a single proposal. The request's tokens and
     * cost are carried by the first experiment, so totals and --max-cost count them once.
     */
    async proposeMany(ctx: ProposalContext, k: number, signal?: AbortSignal): Promise<Proposal[]> {
      const prompt = buildPrompt(ctx, { maxChars: options.promptMaxChars, batch: k });
      return askUntilUsable<Proposal[]>({
        prompt,
        signal,
        notice: ctx.notice,
        batch: true,
        tool: PROPOSALS_TOOL_NAME,
        what: "batch of proposals",
        read: (reply, usage) => {
          const parsed = parseProposalBatch(reply);
          if (!parsed.ok) return { ok: false, error: parsed.error };
          if (!parsed.items.some((i) => i.ok)) return { ok: false, error: `no experiment of the batch was usable: ${parsed.items.map((i) => (i.ok ? "" : i.error)).join("; ")}` };
          const proposals = parsed.items.slice(0, k).map((item): Proposal =>
            item.ok ? toProposal(item.reply, { inputTokens: 0, outputTokens: 0 }, modelId, prices) : { description: item.description, category: "other", refused: item.error },
          );
          const first = proposals[0] as Proposal;
          first.usage = { ...usage };
          const cost = estimateCost(modelId, usage, prices);
          if (cost === undefined) delete first.costUsd;
          else first.costUsd = cost;
          for (const p of proposals.slice(1)) {
            delete p.usage;
            delete p.costUsd;
          }
          return { ok: true, value: proposals };
        },
        again: 'exactly one %TOOL% call (or, without tools, one ```json block) holding {"experiments": [...]}, each experiment with description, category, rationale, direction, learned, ideas, expected_delta and edits [{search, replace}]',
      });
    },
  };

  /**
   * Asks until a reply can be used: each unusable reply is shown back to the model with why, up
   * to maxCorrections times; the tokens of every reply count.
   */
  async function askUntilUsable<T>(request: {
    prompt: { system: string; user: string };
    signal: AbortSignal | undefined;
    notice: ((message: string) => void) | undefined;
    batch: boolean;
    tool: string;
    what: string;
    read: (reply: { toolInput: unknown } | { text: string }, usage: TokenUsage) => { ok: true; value: T } | { ok: false; error: string };
    again: string;
  }): Promise<T> {
    const messages: ModelMessage[] = [{ role: "user", content: request.prompt.user }];
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let lastError = "";
    for (let reply = 0; reply <= maxCorrections; reply++) {
      lastUsage = null;
      const result = await callOnce(messages, request.prompt.system, request.signal, request.batch, request.notice);
      const got = lastUsage as { inputTokens: number; outputTokens: number } | null;
      if (got) {
        usage.inputTokens += got.inputTokens;
        usage.outputTokens += got.outputTokens;
      }
      if (result === null) {
        lastError = "the response could not be read";
        continue;
      }
      const call = result.toolCalls.find((c) => c.toolName === request.tool) ?? result.toolCalls[0];
      const read = request.read(call ? { toolInput: call.input } : { text: result.text }, usage);
      if (read.ok) return read.value;
      lastError = read.error;
      const echoed = call ? `${request.tool}(${stringify(call.input)})` : result.text;
      messages.push({ role: "assistant", content: clipText(echoed || "(empty reply)", 4_000) });
      messages.push({ role: "user", content: `Your reply could not be used: ${lastError}. Reply again with ${request.again.replace("%TOOL%", request.tool)}.` });
    }
    // The replies were billed though none could be used: what they cost counts towards --max-cost and the usage shown.
    const cost = estimateCost(modelId, usage, prices);
    throw new ProposalFailed("malformed-reply", `${label} gave no usable ${request.what} after ${maxCorrections + 1} replies: ${lastError}`, [], { usage: { ...usage }, ...(cost !== undefined && { costUsd: cost }) });
  }
}

function toProposal(reply: ProposalReply, usage: TokenUsage, model: string, prices: PriceTable): Proposal {
  const proposal: Proposal = {
    description: reply.description,
    category: reply.category,
    edits: reply.edits,
    usage: { ...usage },
  };
  if (reply.rationale) proposal.rationale = reply.rationale;
  if (reply.direction) proposal.direction = reply.direction;
  if (reply.learned) proposal.learned = reply.learned;
  if (reply.ideas.length > 0) proposal.ideas = reply.ideas;
  if (reply.expectedDelta !== null) proposal.expectedDelta = reply.expectedDelta;
  const cost = estimateCost(model, usage, prices);
  if (cost !== undefined) proposal.costUsd = cost;
  return proposal;
}

function stringify(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function clipText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
