import { APICallError, InvalidResponseDataError, JSONParseError, NoContentGeneratedError, TypeValidationError } from "ai";

/** What to do about an error from one provider call. */
export type ErrorClass =
  | { kind: "auth"; status: number; message: string }
  | { kind: "quota"; status: number; message: string }
  | { kind: "tools-unsupported"; status: number; message: string }
  | { kind: "transient"; status?: number; message: string; retryAfterMs?: number }
  | { kind: "bad-response"; message: string }
  | { kind: "fatal"; status?: number; message: string };

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

export function classifyError(error: unknown, now: number = Date.now()): ErrorClass {
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const message = serverMessage(error);
    if (status === undefined) return { kind: "transient", message };
    if (status >= 200 && status < 300) return { kind: "bad-response", message };
    if (status === 401 || status === 403) return { kind: "auth", status, message };
    if (status === 429 && /insufficient_quota|exceeded your current quota|credit balance/i.test(`${message} ${error.responseBody ?? ""}`)) {
      return { kind: "quota", status, message };
    }
    if (status === 408 || status === 409 || status === 425 || status === 429 || status >= 500) {
      return { kind: "transient", status, message, retryAfterMs: retryAfterMs(error.responseHeaders, now) };
    }
    if ((status === 400 || status === 404 || status === 422) && /\btools?\b|tool_choice|function.?call/i.test(message)) {
      return { kind: "tools-unsupported", status, message };
    }
    return { kind: "fatal", status, message };
  }
  if (
    TypeValidationError.isInstance(error) ||
    JSONParseError.isInstance(error) ||
    InvalidResponseDataError.isInstance(error) ||
    NoContentGeneratedError.isInstance(error)
  ) {
    return { kind: "bad-response", message: (error as Error).message };
  }
  if (isNetworkError(error)) return { kind: "transient", message: (error as Error).message };
  return { kind: "fatal", message: error instanceof Error ? error.message : String(error) };
}

function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    if (e instanceof TypeError && /fetch failed|terminated|socket/i.test(e.message)) return true;
  }
  return false;
}

/** The server's own error message when the body has one (Anthropic and OpenAI shapes). */
function serverMessage(error: APICallError): string {
  const data = error.data as { error?: { message?: unknown } } | undefined;
  if (data && typeof data.error?.message === "string") return data.error.message;
  if (error.responseBody) {
    try {
      const body = JSON.parse(error.responseBody) as { error?: { message?: unknown } | string; message?: unknown };
      if (typeof body.error === "string") return body.error;
      if (body.error && typeof body.error.message === "string") return body.error.message;
      if (typeof body.message === "string") return body.message;
    } catch {
      // not JSON: fall through
    }
  }
  return error.message;
}

/** `retry-after-ms`, then `retry-after` (delta seconds or an HTTP date), in milliseconds. */
export function retryAfterMs(headers: Record<string, string> | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const get = (name: string) => {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
    return undefined;
  };
  const ms = get("retry-after-ms");
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const value = get("retry-after");
  if (value === undefined) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Longest server-requested wait we honour. */
  maxRetryAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, maxMs: 60_000, maxRetryAfterMs: 600_000 };

/** Wait before attempt `attempt + 1` (attempt counts from 1): the server's wish, else exponential. */
export function backoffDelay(attempt: number, retryAfter: number | undefined, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, opts.maxRetryAfterMs);
  return Math.min(opts.baseMs * 2 ** (attempt - 1), opts.maxMs);
}

export const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
