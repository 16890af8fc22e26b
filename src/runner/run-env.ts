/**
 * The environment an experiment runs with: the user's environment minus secrets. The run is
 * code a model just wrote; it must never see the proposer's API keys or other credentials.
 *
 * A variable is a secret when its name
 *  - starts with a provider or service prefix (SECRET_PREFIX: ANTHROPIC_, OPENAI_, AWS_SECRET, GH_, ...), or
 *  - has a secret word as one of its `_`/`-`-separated parts (SECRET_WORDS: TOKEN, SECRET, PASSWORD,
 *    KEY, AUTH, CREDENTIALS, ...), or spells a key with the parts run together (APIKEY, ACCESSKEY ...),
 *    or ends in PASSWORD, PASSWD, SECRET, TOKEN or APIKEY (PGPASSWORD, GHTOKEN).
 * Matching whole parts keeps TOKENIZERS_PARALLELISM, GIT_AUTHOR_NAME or KEYBOARD-like names.
 * A variable is also a secret, whatever its name, when its value carries a credential
 * (isSecretValue): a URL with `user:password@` (DATABASE_URL, REDIS_URL, a proxy), a connection
 * string with a key or password field, or a JSON Web Token.
 * Names given with `passEnv` (config key / `--pass-env`) are passed through even so; the
 * proposer's own key variable (`apiKeyEnv`) is always removed unless passed explicitly.
 * AUTORESEARCH_* variables from the parent are dropped; the loop sets its own per run.
 */
export const SECRET_WORDS = [
  "TOKEN",
  "TOKENS",
  "SECRET",
  "SECRETS",
  "PASSWORD",
  "PASSWORDS",
  "PASSWD",
  "PASSPHRASE",
  "PASS",
  "CREDENTIAL",
  "CREDENTIALS",
  "CREDS",
  "KEY",
  "KEYS",
  "APIKEY",
  "AUTH",
  "COOKIE",
  "COOKIES",
  "PAT",
  "DSN",
  "JWT",
  "BEARER",
  "CONNSTR",
] as const;

const WORDS = new Set<string>(SECRET_WORDS);
const JOINED_KEY =
  /(API|ACCESS|PRIVATE|SECRET|SESSION|SIGNING|ENCRYPTION|MASTER|CLIENT|SERVICE|DEPLOY|LICENSE)KEY|(PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|JWT)$|CONNECTION_?STRING|CONN_STR|SESSION_?(ID|COOKIE)$/i;
export const SECRET_PREFIX =
  /^(ANTHROPIC_|OPENAI_|AZURE_OPENAI_|AZURE_CLIENT_|GEMINI_|GOOGLE_API|GOOGLE_APPLICATION_CREDENTIALS|MISTRAL_|GROQ_|COHERE_|TOGETHER_|OPENROUTER_|DEEPSEEK_|XAI_|FIREWORKS_|PERPLEXITY_|REPLICATE_|AWS_SECRET|AWS_SESSION|AWS_ACCESS|GH_|GITHUB_TOKEN|GITLAB_TOKEN|NPM_TOKEN|NODE_AUTH|PYPI_|TWINE_|HF_TOKEN|HUGGING_FACE_HUB_TOKEN|HUGGINGFACE_TOKEN|WANDB_API_KEY|SLACK_|DISCORD_|STRIPE_|SENTRY_DSN|DATABASE_URL|MYSQL_PWD|DOCKER_AUTH|CLAUDE_|CODEX_)/i;

export function isSecretName(name: string): boolean {
  if (SECRET_PREFIX.test(name) || JOINED_KEY.test(name)) return true;
  return name
    .toUpperCase()
    .split(/[_\-.]+/)
    .some((part) => WORDS.has(part));
}

/** `scheme://user:password@host`: credentials in a URL (the user part alone is not a secret). */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;
/** `...;AccountKey=...;` / `Password=...` / `SharedAccessSignature=...`: a connection string's secret fields. */
const CONNECTION_SECRET = /(?:^|;)\s*(?:Account ?Key|Shared ?Access ?(?:Key|Signature)|Password|Pwd|Token|Secret)\s*=/i;
/** A JSON Web Token: three base64url parts, the first two JSON objects (`eyJ`). */
const JWT = /\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]+/;

export function isSecretValue(value: string): boolean {
  return URL_WITH_PASSWORD.test(value) || CONNECTION_SECRET.test(value) || JWT.test(value);
}

/**
 * Verdicts of isSecretName/isSecretValue by `name=value`: every git call and every run sanitizes
 * the same few dozen variables again (half a dozen times an experiment, a few regular
 * expressions per variable), so each pair is judged once. A changed value is a new key; the map
 * is emptied when it grows past a size no real environment reaches.
 */
const verdicts = new Map<string, boolean>();
const MAX_VERDICTS = 4096;

function isSecret(name: string, value: string): boolean {
  const key = `${name}=${value}`;
  let secret = verdicts.get(key);
  if (secret === undefined) {
    secret = isSecretName(name) || isSecretValue(value);
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(key, secret);
  }
  return secret;
}

/**
 * Copies `env` without secrets. `allow` names variables the user explicitly passes through;
 * `deny` names more to remove (e.g. the proposer's configured key variable).
 */
export function sanitizeEnv(env: NodeJS.ProcessEnv, allow: readonly string[] = [], deny: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (allow.includes(name)) {
      out[name] = value;
      continue;
    }
    if (isSecret(name, value) || deny.includes(name)) continue;
    // Our own variables are set per run; a stale one from a parent session must not leak in.
    if (name.toUpperCase().startsWith("AUTORESEARCH_")) continue;
    out[name] = value;
  }
  return out;
}
