/**
 * The environment an experiment runs with: the user's environment minus secrets. The run is
 * code a model just wrote; it must never see the proposer's API keys or other credentials.
 */
const SECRET_NAME = /(API[_-]?KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE[_-]?KEY|ACCESS[_-]?KEY|SESSION[_-]?KEY|AUTH)/i;
const SECRET_PREFIX = /^(ANTHROPIC_|OPENAI_|AZURE_OPENAI_|GEMINI_|GOOGLE_API|MISTRAL_|GROQ_|COHERE_|TOGETHER_|OPENROUTER_|DEEPSEEK_|XAI_|AWS_SECRET|GH_|GITHUB_TOKEN|NPM_TOKEN|HF_TOKEN|HUGGING_FACE_HUB_TOKEN)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) || SECRET_PREFIX.test(name);
}

/** Copies `env` without secrets; `allow` names variables the user explicitly passes through. */
export function sanitizeEnv(env: NodeJS.ProcessEnv, allow: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (isSecretName(name) && !allow.includes(name)) continue;
    // Our own variables are set per run; a stale one from a parent session must not leak in.
    if (name.startsWith("AUTORESEARCH_")) continue;
    out[name] = value;
  }
  return out;
}
