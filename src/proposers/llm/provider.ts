import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { wrapLanguageModel } from "ai";
import { UsageError } from "../../errors.js";

export const LLM_PROVIDERS = ["anthropic", "openai", "openai-compatible"] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

export const DEFAULT_BASE_URLS: Record<Exclude<LlmProvider, "openai-compatible">, string> = {
  anthropic: "https://api.anthropic.com/v1",
  openai: "https://api.openai.com/v1",
};

const DEFAULT_KEY_ENV: Record<LlmProvider, string | undefined> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  // Local servers (Ollama, vLLM, LM Studio) need no key; gateways name theirs with --api-key-env.
  "openai-compatible": undefined,
};

const PROVIDER_LABEL: Record<LlmProvider, string> = {
  anthropic: "Anthropic",
  openai: "OpenAI",
  "openai-compatible": "the OpenAI-compatible server",
};

export function providerLabel(provider: LlmProvider): string {
  return PROVIDER_LABEL[provider];
}

/** The variable that holds the provider's key: --api-key-env, else the provider's own (none for local servers). */
export function keyEnvName(provider: LlmProvider, apiKeyEnv: string | undefined): string | undefined {
  return apiKeyEnv ?? DEFAULT_KEY_ENV[provider];
}

/** The env var holding the key, and its value (undefined when none is needed). */
export interface ResolvedKey {
  envName: string | undefined;
  apiKey: string | undefined;
}

/**
 * Keys come from the environment only, never from flags or files, so they never land in shell
 * history, the config file or the session record. A missing key is a usage error at creation.
 */
export function resolveApiKey(
  provider: LlmProvider,
  apiKeyEnv: string | undefined,
  env: Record<string, string | undefined>,
): ResolvedKey {
  if (apiKeyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv)) {
    throw new UsageError(
      `--api-key-env expects the NAME of an environment variable, got "${apiKeyEnv.length > 40 ? `${apiKeyEnv.slice(0, 4)}…` : apiKeyEnv}"`,
      "Put the key in a variable (export MY_KEY=...) and pass --api-key-env MY_KEY; never pass the key itself.",
    );
  }
  const envName = keyEnvName(provider, apiKeyEnv);
  if (envName === undefined) return { envName: undefined, apiKey: undefined };
  const apiKey = env[envName]?.trim();
  if (!apiKey) {
    const how =
      apiKeyEnv === undefined
        ? `Set it in the shell that runs autoresearch (export ${envName}=...), or keep the key in another variable and pass --api-key-env NAME.`
        : `Set it in the shell that runs autoresearch (export ${envName}=...).`;
    throw new UsageError(`${envName} is not set: the ${provider} proposer needs an API key`, `${how} Keys are read from the environment only.`);
  }
  return { envName, apiKey };
}

export type ProviderModel = Parameters<typeof wrapLanguageModel>[0]["model"];

export interface ModelOptions {
  provider: LlmProvider;
  model: string;
  baseUrl?: string;
  apiKey?: string;
  openaiApi: "chat" | "responses";
  fetch?: typeof fetch;
}

export function createModel(opts: ModelOptions): ProviderModel {
  switch (opts.provider) {
    case "anthropic":
      return createAnthropic({
        apiKey: opts.apiKey,
        baseURL: opts.baseUrl ?? DEFAULT_BASE_URLS.anthropic,
        fetch: opts.fetch,
      })(opts.model);
    case "openai": {
      const openai = createOpenAI({
        apiKey: opts.apiKey,
        baseURL: opts.baseUrl ?? DEFAULT_BASE_URLS.openai,
        fetch: opts.fetch,
      });
      return opts.openaiApi === "chat" ? openai.chat(opts.model) : openai.responses(opts.model);
    }
    case "openai-compatible": {
      if (!opts.baseUrl) {
        throw new UsageError(
          "--proposer openai-compatible needs --base-url",
          "For example --base-url http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM) or http://localhost:1234/v1 (LM Studio).",
        );
      }
      return createOpenAICompatible({
        name: "openai-compatible",
        baseURL: opts.baseUrl,
        apiKey: opts.apiKey,
        fetch: opts.fetch,
        includeUsage: true,
      })(opts.model);
    }
  }
}

export function validateBaseUrl(baseUrl: string | undefined): void {
  if (baseUrl === undefined) return;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`--base-url "${baseUrl}" is not a URL`, "Give the API root, e.g. http://localhost:11434/v1.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`--base-url must be http(s), got ${url.protocol}`);
  }
}
