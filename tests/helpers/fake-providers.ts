import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExperimentRecord, PlatformInfo, ProposalContext } from "../../src/types.js";
import { cpuPlatform } from "./platforms.js";

/**
 * A local HTTP server on 127.0.0.1 that speaks the providers' real wire formats:
 *   POST /v1/messages          Anthropic Messages (tool_use content blocks)
 *   POST /v1/chat/completions  OpenAI Chat Completions (choices[0].message.tool_calls)
 *   POST /v1/responses         OpenAI Responses (output[] items of type function_call)
 * Each request takes the next queued reply; every request is recorded for assertions.
 * Requests asking for `stream: true` are answered with Server-Sent Events in each API's format.
 */
export type FakeReply =
  /** A propose_experiment tool call whose arguments are `args` (serialised as the API does). */
  | { type: "tool"; args: unknown; name?: string; usage?: [input: number, output: number]; text?: string }
  /** A tool call whose arguments string is sent verbatim (may be invalid JSON). */
  | { type: "tool-raw"; raw: string; usage?: [number, number] }
  /** A plain assistant text reply. */
  | { type: "text"; text: string; usage?: [number, number] }
  /** An API error in the provider's error shape. */
  | { type: "error"; status: number; message?: string; errorType?: string; code?: string; headers?: Record<string, string> }
  /** Anything else: a status, headers and a raw body. */
  | { type: "raw"; status: number; body: string; headers?: Record<string, string> }
  /** Never answer (the client must time out). */
  | { type: "hang" }
  /** Close the connection without answering. */
  | { type: "drop" };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  // biome-ignore lint/suspicious/noExplicitAny: a recorded JSON body, inspected freely by tests
  body: any;
}

export interface FakeProvider {
  /** API root including /v1, as passed to the SDK's baseURL. */
  baseUrl: string;
  /** The proposal requests (POSTs), in order; the model-list probes are in `listings`. */
  requests: RecordedRequest[];
  /** GET /v1/models requests (the proposer's check before a session's baseline). */
  listings: RecordedRequest[];
  /**
   * How GET /v1/models is answered: a model list (`{data: [{id}]}`), an error status, or (null,
   * the default) 404, as a server without that route answers.
   */
  models: { ids: string[] } | { status: number; message: string } | null;
  reply(...replies: FakeReply[]): void;
  /** Awaited before request `index` (0-based) is answered: lets a test act while the client waits. */
  beforeReply(hook: (index: number) => Promise<void> | void): void;
  /** Replies not yet used. */
  pending(): number;
  close(): Promise<void>;
}

type Api = "anthropic" | "chat" | "responses";

export async function startFakeProvider(): Promise<FakeProvider> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const listings: RecordedRequest[] = [];
  const hanging = new Set<ServerResponse>();
  let seq = 0;
  let hook: ((index: number) => Promise<void> | void) | null = null;

  const server = createServer(async (req, res) => {
    const raw = await readBody(req);
    // biome-ignore lint/suspicious/noExplicitAny: parsed JSON of unknown shape
    let body: any = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      body = raw;
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    if (req.method === "GET" && path === "/v1/models") {
      listings.push({ method: "GET", path, headers: req.headers, body });
      const answer = fake.models;
      if (answer === null) sendJson(res, 404, { error: { message: `no route GET ${path}`, type: "invalid_request_error", param: null, code: null } });
      else if ("ids" in answer) sendJson(res, 200, { object: "list", data: answer.ids.map((id) => ({ id, object: "model", created: 0, owned_by: "fake" })) });
      else sendJson(res, answer.status, { error: { message: answer.message, type: "authentication_error" } });
      return;
    }
    requests.push({ method: req.method ?? "", path, headers: req.headers, body });
    if (hook) await hook(requests.length - 1);
    const api: Api | null =
      path === "/v1/messages" ? "anthropic" : path === "/v1/chat/completions" ? "chat" : path === "/v1/responses" ? "responses" : null;
    if (req.method !== "POST" || api === null) {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error", param: null, code: null } });
      return;
    }
    const next = queue.shift() ?? { type: "error", status: 500, message: "fake provider: no reply queued" };
    seq++;
    const id = seq;
    switch (next.type) {
      case "hang":
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      case "drop":
        req.socket.destroy();
        return;
      case "raw":
        res.writeHead(next.status, { "content-type": "application/json", ...next.headers });
        res.end(next.body);
        return;
      case "error":
        sendJson(res, next.status, errorBody(api, next), { ...(api === "anthropic" ? { "request-id": `req_${id}` } : { "x-request-id": `req_${id}` }), ...next.headers });
        return;
      default: {
        const model = typeof body?.model === "string" ? body.model : "unknown";
        if (body?.stream === true) {
          sendSse(res, streamEvents(api, next, model, id));
        } else {
          sendJson(res, 200, successBody(api, next, model, id));
        }
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const fake: FakeProvider = {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    listings,
    models: null,
    reply: (...replies) => queue.push(...replies),
    beforeReply: (fn) => {
      hook = fn;
    },
    pending: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text).toString(), ...headers });
  res.end(text);
}

function sendSse(res: ServerResponse, events: { event?: string; data: unknown }[]): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  for (const e of events) {
    if (e.event) res.write(`event: ${e.event}\n`);
    res.write(`data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`);
  }
  res.end();
}

type ContentReply = Extract<FakeReply, { type: "tool" | "tool-raw" | "text" }>;

function argsOf(r: ContentReply): string | null {
  if (r.type === "tool") return JSON.stringify(r.args);
  if (r.type === "tool-raw") return r.raw;
  return null;
}

function usageOf(r: ContentReply): [number, number] {
  return r.usage ?? [1000, 100];
}

function successBody(api: Api, r: ContentReply, model: string, id: number): unknown {
  const [input, output] = usageOf(r);
  const args = argsOf(r);
  const name = r.type === "tool" ? (r.name ?? "propose_experiment") : "propose_experiment";
  const text = r.type === "text" ? r.text : r.type === "tool" ? r.text : undefined;
  if (api === "anthropic") {
    const content: unknown[] = [];
    if (text) content.push({ type: "text", text });
    if (args !== null) {
      // Anthropic sends the input as a JSON object; invalid raw arguments cannot occur on this API,
      // so tool-raw is sent as a string input (what a broken gateway might do).
      let input: unknown = args;
      try {
        input = JSON.parse(args);
      } catch {
        // keep the string
      }
      content.push({ type: "tool_use", id: `toolu_${id}`, name, input });
    }
    return {
      id: `msg_${id}`,
      type: "message",
      role: "assistant",
      model,
      content,
      stop_reason: args !== null ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: { input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    };
  }
  if (api === "chat") {
    return {
      id: `chatcmpl-${id}`,
      object: "chat.completion",
      created: 1_760_000_000,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: text ?? null,
            refusal: null,
            ...(args !== null ? { tool_calls: [{ id: `call_${id}`, type: "function", function: { name, arguments: args } }] } : {}),
          },
          logprobs: null,
          finish_reason: args !== null ? "tool_calls" : "stop",
        },
      ],
      usage: {
        prompt_tokens: input,
        completion_tokens: output,
        total_tokens: input + output,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
      system_fingerprint: "fp_fake",
    };
  }
  const outputItems: unknown[] = [{ type: "reasoning", id: `rs_${id}`, summary: [] }];
  if (text) {
    outputItems.push({
      type: "message",
      id: `msg_${id}`,
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text, annotations: [] }],
    });
  }
  if (args !== null) {
    outputItems.push({ type: "function_call", id: `fc_${id}`, call_id: `call_${id}`, name, arguments: args, status: "completed" });
  }
  return {
    id: `resp_${id}`,
    object: "response",
    created_at: 1_760_000_000,
    status: "completed",
    error: null,
    incomplete_details: null,
    model,
    output: outputItems,
    parallel_tool_calls: true,
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + output,
    },
  };
}

/** Streaming variants, for clients that ask for `stream: true`. */
function streamEvents(api: Api, r: ContentReply, model: string, id: number): { event?: string; data: unknown }[] {
  const [input, output] = usageOf(r);
  const args = argsOf(r);
  const text = r.type === "text" ? r.text : r.type === "tool" ? r.text : undefined;
  if (api === "anthropic") {
    const events: { event?: string; data: unknown }[] = [
      {
        event: "message_start",
        data: { type: "message_start", message: { id: `msg_${id}`, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: input, output_tokens: 1 } } },
      },
    ];
    let index = 0;
    if (text) {
      events.push(
        { event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "text", text: "" } } },
        { event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text } } },
        { event: "content_block_stop", data: { type: "content_block_stop", index } },
      );
      index++;
    }
    if (args !== null) {
      events.push(
        { event: "content_block_start", data: { type: "content_block_start", index, content_block: { type: "tool_use", id: `toolu_${id}`, name: "propose_experiment", input: {} } } },
        { event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: args } } },
        { event: "content_block_stop", data: { type: "content_block_stop", index } },
      );
    }
    events.push(
      { event: "message_delta", data: { type: "message_delta", delta: { stop_reason: args !== null ? "tool_use" : "end_turn", stop_sequence: null }, usage: { output_tokens: output } } },
      { event: "message_stop", data: { type: "message_stop" } },
    );
    return events;
  }
  if (api === "chat") {
    const base = { id: `chatcmpl-${id}`, object: "chat.completion.chunk", created: 1_760_000_000, model };
    const events: { data: unknown }[] = [{ data: { ...base, choices: [{ index: 0, delta: { role: "assistant", content: text ?? "" }, finish_reason: null }] } }];
    if (args !== null) {
      events.push({
        data: { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: `call_${id}`, type: "function", function: { name: "propose_experiment", arguments: args } }] }, finish_reason: null }] },
      });
    }
    events.push({ data: { ...base, choices: [{ index: 0, delta: {}, finish_reason: args !== null ? "tool_calls" : "stop" }] } });
    events.push({ data: { ...base, choices: [], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } } });
    events.push({ data: "[DONE]" });
    return events;
  }
  const final = successBody("responses", r, model, id) as { output: Record<string, unknown>[] } & Record<string, unknown>;
  const events: { event?: string; data: unknown }[] = [];
  let sequence = 0;
  const push = (type: string, data: Record<string, unknown>) => events.push({ event: type, data: { type, sequence_number: sequence++, ...data } });
  push("response.created", { response: { ...final, status: "in_progress", output: [], usage: null } });
  push("response.in_progress", { response: { ...final, status: "in_progress", output: [], usage: null } });
  final.output.forEach((item, outputIndex) => {
    const itemId = item.id as string;
    if (item.type === "message") {
      const part = (item.content as { text: string }[])[0] as { text: string };
      push("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", content: [] } });
      push("response.content_part.added", { item_id: itemId, output_index: outputIndex, content_index: 0, part: { type: "output_text", text: "", annotations: [] } });
      push("response.output_text.delta", { item_id: itemId, output_index: outputIndex, content_index: 0, delta: part.text, logprobs: [] });
      push("response.output_text.done", { item_id: itemId, output_index: outputIndex, content_index: 0, text: part.text, logprobs: [] });
      push("response.content_part.done", { item_id: itemId, output_index: outputIndex, content_index: 0, part: { type: "output_text", text: part.text, annotations: [] } });
    } else if (item.type === "function_call") {
      push("response.output_item.added", { output_index: outputIndex, item: { ...item, status: "in_progress", arguments: "" } });
      push("response.function_call_arguments.delta", { item_id: itemId, output_index: outputIndex, delta: item.arguments });
      push("response.function_call_arguments.done", { item_id: itemId, output_index: outputIndex, arguments: item.arguments });
    } else {
      push("response.output_item.added", { output_index: outputIndex, item });
    }
    push("response.output_item.done", { output_index: outputIndex, item });
  });
  push("response.completed", { response: final });
  return events;
}

function errorBody(api: Api, r: Extract<FakeReply, { type: "error" }>): unknown {
  const message = r.message ?? `error ${r.status}`;
  if (api === "anthropic") {
    return { type: "error", error: { type: r.errorType ?? anthropicErrorType(r.status), message } };
  }
  return { error: { message, type: r.errorType ?? openaiErrorType(r.status), param: null, code: r.code ?? null } };
}

function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

function openaiErrorType(status: number): string {
  if (status === 429) return "requests";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** A well-formed proposal for `train` that changes `from` to `to`. */
export function proposalArgs(from: string, to: string, description = "raise the learning rate"): Record<string, unknown> {
  return {
    description,
    category: "hyperparameters",
    rationale: "the loss was still falling fast at the end of the budget",
    direction: "learning-rate schedule",
    edits: [{ search: from, replace: to }],
  };
}

// --- proposal contexts for proposer tests ----------------------------------------------------


export const TRAIN_TEXT = `import math
from prepare import load_data, evaluate

LR = 0.01
BATCH_SIZE = 64
DEPTH = 4
ACTIVATION = "gelu"

def main():
    data = load_data()
    loss = train(data, lr=LR, batch_size=BATCH_SIZE, depth=DEPTH)
    print(f"val_bpb: {evaluate(loss):.6f}")

main()
`;

export const PREPARE_TEXT = `def load_data():
    return list(range(100))

def evaluate(loss):
    return loss
`;

export function makeRecord(id: number, overrides: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    id,
    commit: `${id.toString(16).padStart(4, "0")}${"a".repeat(36)}`,
    parent: "b".repeat(40),
    trainHash: `hash${id}`,
    description: id === 0 ? "Baseline — no modifications" : `experiment ${id}`,
    category: id === 0 ? "baseline" : "hyperparameters",
    status: "discard",
    reason: "regression",
    metric: 1.0,
    memGb: 1.5,
    params: 1000,
    bestBefore: id === 0 ? null : 1.0,
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: "2025-01-01T00:01:00.000Z",
    durationSec: 60,
    proposer: "test",
    lines: 12,
    ...overrides,
  };
}

export const CPU_PLATFORM: PlatformInfo = cpuPlatform();

export function makeContext(overrides: Partial<ProposalContext> = {}): ProposalContext {
  const baseline = makeRecord(0, { status: "keep", reason: "baseline", metric: 1.0 });
  return {
    iteration: 1,
    trainPath: "train.py",
    trainText: TRAIN_TEXT,
    readonlyFiles: [{ path: "prepare.py", text: PREPARE_TEXT }],
    readme: "# Tiny project\nTrain with `python train.py`.\n",
    metric: { name: "val_bpb", direction: "min" },
    history: [baseline],
    rejected: [],
    baseline,
    best: baseline,
    failureStreak: 0,
    platform: CPU_PLATFORM,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    ...overrides,
  };
}
