import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RuntimeFailure } from "../../errors.js";
import { type AgentPreset, PRESET_INFO } from "./presets.js";
import { runCli } from "./version.js";

/**
 * Whether a preset's CLI can reach its model, asked before the baseline: a CLI that is installed
 * but not logged in would otherwise be found out only at the first proposal, one full baseline
 * run later. Each CLI is asked the way it offers:
 * - claude: `claude auth status` prints JSON with a boolean `loggedIn` (an API key or token in
 *   the environment counts too);
 * - codex: `codex login status` exits 0 when logged in, 1 with "Not logged in"; `codex exec`
 *   also takes CODEX_API_KEY from the environment, which the status command does not read;
 * - gemini: no status command; headless mode needs one of its key variables or an auth type
 *   chosen in ~/.gemini/settings.json (else it exits 41, "Please set an Auth method");
 * - opencode: `opencode auth list` counts stored credentials and provider variables;
 * - aider: keys come from the environment, a .env file or .aider.conf.yml (else, with
 *   --yes-always, it starts the OpenRouter browser login and waits).
 * Only a clear "no" stops the session; an answer that cannot be read is "unknown" and the
 * proposal-time detection (failures.ts) still applies.
 */
export type LoginState = "ok" | "missing" | "unknown";

export interface LoginCheck {
  state: LoginState;
  /** What was seen: "ANTHROPIC_API_KEY is set", "`codex login status`: Not logged in". */
  detail: string;
}

export interface LoginOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  /** Default 30 s: these commands only read local files. */
  timeoutMs?: number;
}

const set = (env: Record<string, string | undefined>, name: string): boolean => typeof env[name] === "string" && (env[name] as string).trim() !== "";
const firstSet = (env: Record<string, string | undefined>, names: readonly string[]): string | undefined => names.find((n) => set(env, n));
const home = (env: Record<string, string | undefined>): string => env.HOME || env.USERPROFILE || homedir();
const lastLine = (text: string): string => text.trim().split(/\r?\n/).filter(Boolean).pop()?.trim().slice(0, 160) ?? "";

/** Variables each CLI reads as a credential in place of a login. */
export const LOGIN_VARIABLES: Record<AgentPreset, readonly string[]> = {
  claude: ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"],
  codex: ["CODEX_API_KEY"],
  gemini: ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA"],
  opencode: [],
  aider: [],
};

export async function presetLogin(preset: AgentPreset, options: LoginOptions): Promise<LoginCheck> {
  const { env, cwd } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const cli = PRESET_INFO[preset].cli;
  const byVariable = firstSet(env, LOGIN_VARIABLES[preset]);
  if (byVariable) return { state: "ok", detail: `${byVariable} is set` };
  const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  switch (preset) {
    case "claude": {
      const { code, stdout, output } = await runCli(cli, ["auth", "status"], cwd, clean, timeoutMs);
      const status = parseJsonObject(stdout);
      // Only the JSON field decides: exit 1 is also what any other error of the CLI returns.
      if (status && typeof status.loggedIn === "boolean") {
        const method = typeof status.authMethod === "string" ? ` (${status.authMethod})` : "";
        return status.loggedIn ? { state: "ok", detail: `logged in${method}` } : { state: "missing", detail: "`claude auth status`: not logged in" };
      }
      return { state: "unknown", detail: `\`claude auth status\` gave no login state (${code === null ? "no answer" : `exit code ${code}`}${lastLine(output) ? `: ${lastLine(output)}` : ""})` };
    }
    case "codex": {
      const { code, output } = await runCli(cli, ["login", "status"], cwd, clean, timeoutMs);
      if (code === 0) return { state: "ok", detail: lastLine(output).replace(/ - \S+$/, "") || "logged in" };
      if (/not logged in/i.test(output)) return { state: "missing", detail: "`codex login status`: Not logged in" };
      return { state: "unknown", detail: `\`codex login status\` gave no login state (${code === null ? "no answer" : `exit code ${code}`}${lastLine(output) ? `: ${lastLine(output)}` : ""})` };
    }
    case "gemini": {
      const dir = env.GEMINI_CLI_HOME ? env.GEMINI_CLI_HOME : home(env);
      const path = join(dir, ".gemini", "settings.json");
      const text = readOr(path);
      const settings = parseJsonObject(text);
      // A file it cannot read as plain JSON (comments) is not a "no".
      if (text.trim() !== "" && settings === null) return { state: "unknown", detail: `${path} could not be read as JSON` };
      const security = settings?.security as Record<string, unknown> | undefined;
      const auth = security?.auth as Record<string, unknown> | undefined;
      // Current releases keep it under security.auth.selectedType, older ones at the top.
      const chosen = auth?.selectedType ?? settings?.selectedAuthType;
      if (typeof chosen === "string" && chosen !== "") return { state: "ok", detail: `auth type ${chosen} in ${path}` };
      return { state: "missing", detail: `none of ${LOGIN_VARIABLES.gemini.join(", ")} is set and ${path} chooses no auth type` };
    }
    case "opencode": {
      const { code, output } = await runCli(cli, ["auth", "list"], cwd, { ...clean, NO_COLOR: "1" }, timeoutMs);
      const credentials = /(\d+)\s+credentials?\b/i.exec(output);
      const variables = /(\d+)\s+environment variables?\b/i.exec(output);
      if (code !== 0 || !credentials) return { state: "unknown", detail: `\`opencode auth list\` gave no count (${code === null ? "no answer" : `exit code ${code}`})` };
      const n = Number(credentials[1]) + Number(variables?.[1] ?? 0);
      return n > 0 ? { state: "ok", detail: `${credentials[0]}${variables ? `, ${variables[0]}` : ""}` } : { state: "missing", detail: "`opencode auth list`: 0 credentials, no provider variable set" };
    }
    case "aider": {
      const key = Object.keys(env).find((name) => /_API_KEY$/.test(name) && set(env, name));
      if (key) return { state: "ok", detail: `${key} is set` };
      const files = [join(cwd, ".env"), join(cwd, ".aider.conf.yml"), join(home(env), ".env"), join(home(env), ".aider.conf.yml"), join(home(env), ".aider", "oauth-keys.env")];
      const found = files.find((f) => existsSync(f));
      if (found) return { state: "ok", detail: `keys may come from ${found}` };
      return { state: "missing", detail: "no *_API_KEY variable is set and there is no .env or .aider.conf.yml" };
    }
  }
}

/** presetLogin for `run`: a clear "not logged in" stops the session before anything changes. */
export async function requireLogin(preset: AgentPreset, options: LoginOptions): Promise<LoginCheck> {
  const check = await presetLogin(preset, options);
  if (check.state === "missing") {
    const login = PRESET_INFO[preset].login;
    throw new RuntimeFailure(`${PRESET_INFO[preset].cli} is not logged in (${check.detail}); nothing was changed`, `${login[0]?.toUpperCase()}${login.slice(1)}, then run again.`);
  }
  return check;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function parseJsonObject(text: string): Record<string, unknown> | null {
  const start = text.indexOf("{");
  if (start < 0) return null;
  try {
    const value: unknown = JSON.parse(text.slice(start));
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
