import { type AgentPreset, PRESET_INFO } from "./presets.js";

/**
 * Failures no retry will fix: the CLI is missing, not logged in, or cannot reach its API. Each
 * would otherwise cost every iteration its full agent timeout (an unreachable API makes Codex
 * and OpenCode wait forever, Claude Code and Gemini CLI retry for minutes). They are recognised
 * from the agent's own output, as it streams, and end the session with the fix.
 */
export type FatalKind = "missing" | "auth" | "unreachable" | "untrusted";

export interface FatalFailure {
  kind: FatalKind;
  /** The output line (or exit) that gave it away. */
  evidence: string;
}

interface Rule {
  kind: FatalKind;
  test: (line: string) => boolean;
  /** How many matching lines it takes (retries of a transient error are allowed a few). */
  times?: number;
}

type Json = Record<string, unknown>;
function json(line: string): Json | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const v: unknown = JSON.parse(t);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}
/** A line test on the JSON event a line holds (false for any other line). */
const event =
  (test: (e: Json) => boolean) =>
  (line: string): boolean => {
    const e = json(line);
    return e !== null && test(e);
  };
const text = (v: unknown): string => (typeof v === "string" ? v : v && typeof v === "object" ? JSON.stringify(v) : "");

const AUTH_WORDS = /not logged in|please run \/login|invalid api key|invalid x-api-key|api key not valid|API_KEY_INVALID|incorrect api key|\b401\b|unauthori[sz]ed|authentication_error|AuthenticationError|invalid_api_key|missing (?:api key|bearer)/i;

const RULES: Record<AgentPreset, Rule[]> = {
  claude: [
    // The final result of a run that never reached the model: {"is_error":true,"result":"Not logged in · Please run /login"}.
    { kind: "auth", test: event((e) => e.type === "result" && e.is_error === true && AUTH_WORDS.test(text(e.result))) },
    // {"type":"system","subtype":"api_retry","attempt":n,"error_status":null|401|...}: no status means no connection.
    { kind: "auth", test: event((e) => e.subtype === "api_retry" && (e.error_status === 401 || e.error_status === 403)) },
    { kind: "unreachable", times: 3, test: event((e) => e.subtype === "api_retry" && (e.error_status === null || e.error_status === undefined)) },
  ],
  codex: [
    // {"type":"error","message":"Reconnecting... waiting for network (...)"} repeats forever on current releases.
    { kind: "unreachable", test: event((e) => e.type === "error" && /waiting for network/i.test(text(e.message))) },
    // Older releases give up after their reconnects: {"type":"turn.failed","error":{"message":"stream disconnected ... error sending request ..."}}.
    { kind: "unreachable", test: event((e) => e.type === "turn.failed" && /error sending request|failed to lookup address|connection refused|stream disconnected/i.test(text(e.error))) },
    { kind: "auth", test: event((e) => (e.type === "error" || e.type === "turn.failed") && AUTH_WORDS.test(text(e.message) + text(e.error))) },
  ],
  gemini: [
    { kind: "auth", test: (l) => /Please set an Auth method|API key not valid|API_KEY_INVALID/.test(l) },
    { kind: "untrusted", test: (l) => /not running in a trusted directory/i.test(l) },
    // "Attempt 3 failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request"
    { kind: "unreachable", times: 2, test: (l) => /Attempt \d+ failed.*fetch failed/.test(l) },
  ],
  opencode: [
    // {"type":"error","error":{"name":"ProviderAuthError",...}} on stdout, or its error log on
    // stderr, one line per retry (it retries forever): current releases
    //   level=ERROR ... message="stream error" ... error.error="AI_APICallError: Cannot connect to API: ..."
    // and older ones (1.14)
    //   ERROR ... service=llm ... error={"error":{"name":"AI_APICallError","cause":{"code":"FailedToOpenSocket",...
    { kind: "auth", test: event((e) => e.type === "error" && /ProviderAuthError|\b401\b|unauthori[sz]ed|api key/i.test(text(e.error))) },
    { kind: "auth", test: (l) => /(?:stream error|service=llm).*(?:\b401\b|Unauthorized|invalid.{0,20}api key|AuthenticationError)/i.test(l) },
    { kind: "unreachable", times: 3, test: (l) => /(?:stream error|service=llm).*(?:Cannot connect to API|FailedToOpenSocket|ConnectionRefused|ECONNREFUSED|ENOTFOUND)/.test(l) },
  ],
  aider: [
    // With no key aider offers an OpenRouter login, which --yes-always accepts and then waits for a browser.
    { kind: "auth", test: (l) => /Login to OpenRouter or create a free account\?/.test(l) },
    { kind: "auth", test: (l) => /AuthenticationError|API key.*(?:invalid|incorrect|not valid)/i.test(l) },
    { kind: "unreachable", times: 3, test: (l) => /APIConnectionError|Connection error|Cannot connect/i.test(l) },
  ],
};

/** What a person needs from the line: a JSON event's message, else the line, kept short. */
function evidenceOf(line: string): string {
  const e = json(line);
  const error = e ? (e.error && typeof e.error === "object" ? (e.error as Json) : null) : null;
  const retry = e?.subtype === "api_retry" ? `API retry ${String(e.attempt)}: ${e.error_status === null ? "no connection" : `HTTP ${String(e.error_status)}`}` : undefined;
  const message = e ? [retry, e.result, e.message, error?.message, e.error].find((v) => typeof v === "string" && v !== "") : undefined;
  // OpenCode's log lines: the error itself, not the session ids before it.
  const logged = /error\.error="([^"]+)"/.exec(line)?.[1] ?? /"name":"(\w+)".*?"code":"(\w+)"/.exec(line)?.slice(1, 3).join(": ");
  const text = typeof message === "string" ? message : (logged ?? line.trim());
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** Shell messages for a command it cannot find (sh, bash, dash, zsh, cmd.exe). */
const NOT_FOUND = /(?:command not found|: not found|No such file or directory|is not recognized as an internal or external command)/;

/** Watches one agent run's output lines; `line` returns the failure once enough evidence is in. */
export class FailureWatch {
  private readonly counts = new Map<Rule, number>();
  private readonly rules: Rule[];

  constructor(
    private readonly preset: AgentPreset | undefined,
    private readonly program: string,
  ) {
    this.rules = preset ? RULES[preset] : [];
  }

  line(line: string): FatalFailure | null {
    for (const rule of this.rules) {
      if (!rule.test(line)) continue;
      const n = (this.counts.get(rule) ?? 0) + 1;
      this.counts.set(rule, n);
      if (n >= (rule.times ?? 1)) return { kind: rule.kind, evidence: evidenceOf(line) };
    }
    return null;
  }

  /** After the exit: the shell's "not found" (127), or exit codes a CLI documents. */
  exit(code: number | null, tail: string[]): FatalFailure | null {
    const preset = this.preset;
    const shellMissing = tail.find((l) => NOT_FOUND.test(l) && l.includes(this.program));
    if (code === 127 || (code === 9009 && process.platform === "win32") || (code !== 0 && shellMissing)) {
      return { kind: "missing", evidence: shellMissing ?? `exit code ${code}` };
    }
    // Gemini CLI: 41 is FatalAuthenticationError, 55 the untrusted-folder check.
    if (preset === "gemini" && code === 41) return { kind: "auth", evidence: tail.at(-1) ?? "exit code 41" };
    if (preset === "gemini" && code === 55) return { kind: "untrusted", evidence: tail.at(-1) ?? "exit code 55" };
    // Lines that only count once the agent has given up (e.g. an older Gemini CLI's last "fetch failed").
    if (code !== 0 && preset === "gemini" && tail.some((l) => /fetch failed/.test(l))) return { kind: "unreachable", evidence: tail.find((l) => /fetch failed/.test(l)) ?? "" };
    return null;
  }
}

/** The error message and its fix, for a preset or a custom command's program. */
export function describeFatal(failure: FatalFailure, preset: AgentPreset | undefined, program: string): { message: string; hint: string } {
  const info = preset ? PRESET_INFO[preset] : undefined;
  const who = info ? info.cli : program;
  switch (failure.kind) {
    case "missing":
      return {
        message: `the agent command "${who}" was not found (${failure.evidence})`,
        hint: info ? `Install it (${info.install}) and check that \`${who} --version\` works in this shell, or give a full command with --agent "<command>".` : `Check that "${who}" is installed and on PATH in this shell, or give its full path in --agent.`,
      };
    case "auth":
      return {
        message: `${who} is not logged in or its API key was refused (${failure.evidence})`,
        // The hint is printed after "fix:": it starts with what to do, not "To fix:" again.
        hint: info ? `${info.login[0]?.toUpperCase()}${info.login.slice(1)}. Then resume with \`autoresearch resume\`.` : `Log ${who} in or set its API key, then resume with \`autoresearch resume\`.`,
      };
    case "unreachable":
      return {
        message: `${who} cannot reach its API (${failure.evidence})`,
        hint: "Check the network, proxy (HTTPS_PROXY) and firewall from this machine; once the agent answers a one-line prompt, resume with `autoresearch resume`.",
      };
    case "untrusted":
      return {
        message: `${who} refuses to run in an untrusted folder (${failure.evidence})`,
        hint: "Set GEMINI_CLI_TRUST_WORKSPACE=true (the preset sets it) or trust the repository once in interactive gemini, then resume with `autoresearch resume`.",
      };
  }
}
