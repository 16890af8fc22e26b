/**
 * Before a session's baseline: does the LLM endpoint answer, and does it take the key? Without
 * this a wrong --base-url, a server not started or a revoked key is found only when the first
 * proposal is asked for, after the baseline has run (minutes to hours of a real training script).
 * The probe is the providers' model list (GET {base}/models: Anthropic, OpenAI, and the
 * OpenAI-compatible servers — Ollama, vLLM, LM Studio, llama.cpp, LiteLLM — serve it), which costs
 * nothing and needs the same key as a proposal. A server that has no such route says nothing
 * either way; only what the answer makes certain is reported.
 */
import type { LlmProvider } from "./provider.js";

/** How long the probe waits for an answer (a model list comes back in well under a second). */
const ENDPOINT_PROBE_MS = 15_000;

export type EndpointProbe =
  /** It answered with a model list: `listed` the ids in it (empty when the list could not be read); `anyName` as readModelList says. */
  | { state: "ok"; listed: string[]; anyName: boolean }
  /** It answered, but not with a list (no such route, a server error): nothing more can be said. */
  | { state: "unknown"; status: number }
  /** 401 or 403: the key is missing, wrong or has no access. */
  | { state: "auth"; status: number; message: string }
  /** No answer: connection refused, a name that does not resolve, no answer in time. */
  | { state: "unreachable"; message: string };

export interface EndpointProbeOptions {
  provider: LlmProvider;
  /** The API root including its version segment (e.g. https://api.openai.com/v1). */
  baseUrl: string;
  apiKey: string | undefined;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** The headers each provider authenticates with (what its SDK sends). */
function authHeaders(provider: LlmProvider, apiKey: string | undefined): Record<string, string> {
  if (provider === "anthropic") return { "anthropic-version": "2023-06-01", ...(apiKey && { "x-api-key": apiKey }) };
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Asks the endpoint for its model list once (no retries: a probe, not a request that must get through). */
export async function probeEndpoint(options: EndpointProbeOptions): Promise<EndpointProbe> {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/models`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? ENDPOINT_PROBE_MS;
  let response: Response;
  try {
    response = await doFetch(url, { headers: authHeaders(options.provider, options.apiKey), signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return { state: "unreachable", message: networkMessage(error, timeoutMs) };
  }
  const text = await response.text().catch(() => "");
  if (response.status === 401 || response.status === 403) return { state: "auth", status: response.status, message: serverMessage(text) || response.statusText };
  if (!response.ok) return { state: "unknown", status: response.status };
  const list = readModelList(text);
  return { state: "ok", listed: list.ids, anyName: list.anyName };
}

/**
 * A model list's ids: `{data: [{id}]}` (OpenAI, Anthropic and the compatible servers), or Ollama's
 * own `{models: [{name}]}`. `anyName`: the server answers whatever model a request names, so its
 * list says nothing of `--model` (llama.cpp's server with one model, the `owned_by: "llamacpp"`
 * entry without the router's `status`: the docs' `--model any`).
 */
export function readModelList(text: string): { ids: string[]; anyName: boolean } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ids: [], anyName: false };
  }
  const entries = (body as { data?: unknown; models?: unknown } | null)?.data ?? (body as { models?: unknown } | null)?.models;
  if (!Array.isArray(entries)) return { ids: [], anyName: false };
  const ids = entries.map((e) => (e as { id?: unknown; name?: unknown })?.id ?? (e as { name?: unknown })?.name).filter((id): id is string => typeof id === "string");
  const only = entries.length === 1 ? (entries[0] as { owned_by?: unknown; status?: unknown } | null) : null;
  return { ids, anyName: only?.owned_by === "llamacpp" && only.status === undefined };
}

/**
 * Whether `model` is one the list names. Ollama answers for `name` with the `name:latest` it
 * lists, and a listed id may carry a provider's prefix (`models/…`), so those count as named.
 */
export function listsModel(listed: readonly string[], model: string): boolean {
  return listed.some((id) => id === model || id === `${model}:latest` || id.endsWith(`/${model}`));
}

/** The server's own words from an error body (`{error: {message}}`, `{error: "…"}`, `{message}`), else the start of the body. */
function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof body.error === "string" ? body.error : (body.error?.message ?? body.message);
    if (typeof message === "string") return message;
  } catch {
    // not JSON: the text itself
  }
  return text.trim().slice(0, 200);
}

/** Node's fetch says only "fetch failed": the cause (ECONNREFUSED 127.0.0.1:11434, ENOTFOUND host, bad port) is what helps. */
function networkMessage(error: unknown, timeoutMs: number): string {
  if ((error as { name?: unknown })?.name === "TimeoutError") return `no answer within ${Math.round(timeoutMs / 1000)}s`;
  let deepest = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string") return typeof message === "string" && message.includes(code) ? message : `${code}${typeof message === "string" && message ? ` (${message})` : ""}`;
    if (typeof message === "string" && message) deepest = message;
  }
  return deepest;
}
