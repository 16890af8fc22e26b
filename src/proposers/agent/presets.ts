/**
 * Non-interactive command lines for common coding-agent CLIs. Each gets the prompt on stdin and
 * in $AUTORESEARCH_PROMPT_FILE, may only edit the training script, and is told to write its
 * proposal JSON to $AUTORESEARCH_PROPOSAL_FILE. Paths are substituted (quoted for the platform's
 * shell) rather than referenced as $VARS, so the same preset works under cmd.exe.
 */
export const AGENT_PRESETS = ["claude", "codex", "aider", "gemini", "opencode"] as const;
export type AgentPreset = (typeof AGENT_PRESETS)[number];

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
      // Print mode reads the prompt from stdin; acceptEdits lets it edit files without asking,
      // while shell commands (running training, installing packages) stay unapproved.
      return "claude -p --permission-mode acceptEdits --output-format text";
    case "codex":
      // `exec` is the non-interactive mode; `-` reads the prompt from stdin; --full-auto is the
      // workspace-write sandbox with no approval prompts.
      return "codex exec --full-auto -";
    case "aider":
      return [
        "aider",
        "--yes-always",
        "--no-auto-commits",
        "--no-dirty-commits",
        "--no-gitignore",
        "--no-check-update",
        "--no-show-model-warnings",
        "--no-pretty",
        "--no-stream",
        "--analytics-disable",
        "--map-tokens 0",
        `--chat-history-file ${q(`${input.scratchDir}${sep}aider.chat.history.md`)}`,
        `--input-history-file ${q(`${input.scratchDir}${sep}aider.input.history`)}`,
        `--message-file ${q(input.promptFile)}`,
        q(input.trainPath),
      ].join(" ");
    case "gemini":
      // Piped stdin is prepended to the -p prompt; --yolo auto-approves its tools (non-interactive
      // mode cannot ask).
      return `gemini --yolo -p ${q(pointer)}`;
    case "opencode":
      return `opencode run ${q(pointer)}`;
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
