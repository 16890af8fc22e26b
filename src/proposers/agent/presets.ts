/**
 * Non-interactive command lines for common coding-agent CLIs. Each gets the prompt on stdin and
 * in $AUTORESEARCH_PROMPT_FILE, may only edit the training script, and is told to write its
 * proposal JSON to $AUTORESEARCH_PROPOSAL_FILE. Paths are substituted (quoted for the platform's
 * shell) rather than referenced as $VARS, so the same preset works under cmd.exe.
 *
 * Every flag below was checked against the real CLI's `--help` and behaviour, at the oldest and
 * the newest release in PRESET_INFO (docs/proposers.md lists them); tests run each command line
 * against a stand-in that rejects unknown flags the way the real CLI does.
 */
export const AGENT_PRESETS = ["claude", "codex", "aider", "gemini", "opencode"] as const;
export type AgentPreset = (typeof AGENT_PRESETS)[number];

export interface PresetInfo {
  /** The executable the preset runs. */
  cli: string;
  /** How to install it, for the "not found" error. */
  install: string;
  /** How to log in or give it a key, for the "not logged in" error. */
  login: string;
  /** The releases the command line was checked against: [oldest supported, newest checked]. */
  checked: [string, string];
}

export const PRESET_INFO: Record<AgentPreset, PresetInfo> = {
  claude: {
    cli: "claude",
    install: "npm install -g @anthropic-ai/claude-code",
    login: "run `claude` once and log in with /login, or set ANTHROPIC_API_KEY",
    checked: ["2.1.200", "2.1.332"],
  },
  codex: {
    cli: "codex",
    install: "npm install -g @openai/codex",
    login: "run `codex login` (or `codex login --with-api-key` with an OpenAI key on stdin)",
    checked: ["0.120.0", "0.171.0"],
  },
  aider: {
    cli: "aider",
    install: "python -m pip install aider-install && aider-install",
    login: "set the key of the model's provider (e.g. ANTHROPIC_API_KEY or OPENAI_API_KEY) and pick the model in .aider.conf.yml or with AIDER_MODEL",
    checked: ["0.83.0", "0.86.2"],
  },
  gemini: {
    cli: "gemini",
    install: "npm install -g @google/gemini-cli",
    login: "set GEMINI_API_KEY, or run `gemini` once and choose how to log in",
    checked: ["0.30.0", "0.61.0"],
  },
  opencode: {
    cli: "opencode",
    install: "npm install -g opencode-ai",
    login: "run `opencode auth login` and set a model in opencode.json",
    checked: ["1.14.34", "1.18.33"],
  },
};

/** Tools Claude Code may use: reading and editing files, no shell, no web. */
export const CLAUDE_TOOLS = "Read,Edit,Write,Glob,Grep";

/** What OpenCode may not do, merged into its permission config through its environment. */
export const OPENCODE_DENY = { bash: "deny", webfetch: "deny", websearch: "deny" } as const;

export interface AgentCommandInput {
  /** Training script, relative to the agent's working directory. */
  trainPath: string;
  promptFile: string;
  proposalFile: string;
  /** Directory for the agent's own scratch files (aider's histories). */
  scratchDir: string;
  platform?: NodeJS.Platform;
}

export function isAgentPreset(value: string): value is AgentPreset {
  return (AGENT_PRESETS as readonly string[]).includes(value);
}

/** The full shell command line a preset runs. */
export function presetCommand(preset: AgentPreset, input: AgentCommandInput): string {
  const platform = input.platform ?? process.platform;
  const q = (arg: string) => quoteArg(arg, platform);
  const sep = platform === "win32" ? "\\" : "/";
  const pointer = `Follow the instructions given on standard input; they are also in the file ${input.promptFile}. Edit only ${input.trainPath}, then write your proposal JSON to ${input.proposalFile}.`;
  switch (preset) {
    case "claude":
      // Print mode reads the prompt from stdin. --tools leaves only file tools: with the shell
      // available, acceptEdits also auto-approves rm, sed -i, touch... The stream carries retry
      // events (an unreachable API shows at once) and ends with the result: cost, tokens, turns.
      return `claude -p --tools ${CLAUDE_TOOLS} --permission-mode acceptEdits --output-format stream-json --verbose`;
    case "codex":
      // `exec` is the non-interactive mode (it never asks for approval); `-` reads the prompt
      // from stdin. The workspace-write sandbox lets its commands write only inside the repo and
      // gives them no network (no package installs). --full-auto is gone from current releases.
      return "codex exec --sandbox workspace-write --json -";
    case "aider":
      // --no-git: aider sees only the training script (it cannot offer to add prepare.py),
      // never commits, never edits .gitignore. --yes-always then only answers edits: URLs,
      // the browser install and shell commands are off. --no-analytics, unlike
      // --analytics-disable, does not write the user's config.
      return [
        "aider",
        "--yes-always",
        "--no-git",
        "--no-detect-urls",
        "--disable-playwright",
        "--no-suggest-shell-commands",
        "--no-auto-lint",
        "--no-check-update",
        "--no-show-model-warnings",
        "--no-analytics",
        "--no-pretty",
        "--no-stream",
        "--map-tokens 0",
        `--chat-history-file ${q(`${input.scratchDir}${sep}aider.chat.history.md`)}`,
        `--input-history-file ${q(`${input.scratchDir}${sep}aider.input.history`)}`,
        `--message-file ${q(input.promptFile)}`,
        q(input.trainPath),
      ].join(" ");
    case "gemini":
      // Piped stdin is prepended to the -p prompt. auto_edit approves the edit tools; headless
      // mode drops every tool that would need approval, the shell included. The trust check is
      // passed through the environment (presetEnv): --skip-trust is not in older releases.
      return `gemini --approval-mode auto_edit --output-format json -p ${q(pointer)}`;
    case "opencode":
      // The shell and web tools are denied through OPENCODE_PERMISSION (presetEnv); JSON events
      // carry each step's cost and tokens. Its error log on stderr is the only sign of an
      // unreachable API (it retries forever, silently otherwise).
      return `opencode run --format json --print-logs --log-level ERROR ${q(pointer)}`;
  }
}

/** Variables a preset needs in the agent's environment, given the user's environment. */
export function presetEnv(preset: AgentPreset, env: Record<string, string | undefined>): Record<string, string> {
  switch (preset) {
    case "gemini":
      // Otherwise Gemini CLI exits 55 in a folder the user never trusted interactively.
      return { GEMINI_CLI_TRUST_WORKSPACE: "true" };
    case "opencode": {
      // The user's own permission rules stay, except that the shell and the web are denied.
      let own: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(env.OPENCODE_PERMISSION ?? "{}");
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) own = parsed as Record<string, unknown>;
      } catch {
        // Not JSON: OpenCode itself would skip it with a warning; ours replaces it.
      }
      return { OPENCODE_PERMISSION: JSON.stringify({ ...own, ...OPENCODE_DENY }) };
    }
    default:
      return {};
  }
}

/** Quotes one argument for /bin/sh (POSIX) or cmd.exe (Windows). */
export function quoteArg(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") {
    if (/^[\w@%+=:,./\\-]+$/.test(arg)) return arg;
    return `"${arg.replace(/"/g, '""')}"`;
  }
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
