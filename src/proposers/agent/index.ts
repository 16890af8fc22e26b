import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { basename, isAbsolute, join, normalize, relative, sep } from "node:path";
import { z } from "zod";
import { RuntimeFailure, UsageError } from "../../errors.js";
import { oneLine } from "../../text.js";
import type { AgentInfo, Proposal, ProposalContext, Proposer } from "../../types.js";
import { CATEGORIES } from "../../types.js";
import { Git } from "../../workspace/git.js";
import { ProposalFailed } from "../errors.js";
import { buildPrompt } from "../prompt.js";
import { describeChange, guessCategory } from "./describe.js";
import { describeFatal, type FatalFailure, FailureWatch } from "./failures.js";
import { AGENT_PRESETS, type AgentPreset, isAgentPreset, PRESET_INFO, presetCommand, presetEnv } from "./presets.js";
import { runAgent } from "./spawn.js";
import { restorePath, restoreTree, snapshotTree } from "../../workspace/tree.js";
import { type AgentUsage, readUsage } from "./usage.js";
import { requireLogin } from "./login.js";
import { presetVersion } from "./version.js";

export { AGENT_PRESETS, type AgentPreset, isAgentPreset, PRESET_INFO, presetCommand, presetEnv, quoteArg } from "./presets.js";
export { describeChange, guessCategory } from "./describe.js";
export { readUsage } from "./usage.js";
export { type LoginCheck, presetLogin } from "./login.js";
export { presetVersion } from "./version.js";

export interface AgentProposerOptions {
  /** A shell command line, or a preset name ("claude", "codex", "aider", "gemini", "opencode"). */
  command?: string;
  preset?: AgentPreset;
  /** The repository (or a directory inside it) the agent runs in. */
  cwd: string;
  /** Training script, relative to cwd. */
  trainPath: string;
  /** Paths relative to cwd the restore never touches (".autoresearch", "results.tsv"). */
  protectedPaths: string[];
  /** Seconds before the agent's whole process tree is killed (default 900). */
  timeoutSec?: number;
  /** Seconds between SIGTERM and SIGKILL (default 5). */
  killGraceSec?: number;
  /** The agent's environment (default process.env): its own API keys live here. */
  env?: Record<string, string | undefined>;
  /** Where prompt, proposal and agent logs go (default <cwd>/.autoresearch/agent; always protected). */
  scratchDir?: string;
  /** Prompt budget in characters. */
  promptMaxChars?: number;
}

/** What the agent proposer returns: a Proposal with the whole new script and what was undone. */
export interface AgentProposal extends Proposal {
  newText: string;
  violations: string[];
  /** Model turns the agent took, where its output says. */
  turns?: number;
}

const proposalFileSchema = z.object({
  description: z.string().optional(),
  category: z.string().optional(),
  direction: z.string().optional(),
  rationale: z.string().optional(),
  learned: z.string().optional().catch(undefined),
  ideas: z.preprocess((v) => (typeof v === "string" ? [v] : v), z.array(z.string()).max(50).optional()).catch(undefined),
  expected_delta: z.preprocess((v) => (typeof v === "string" && v.trim() !== "" ? Number(v) : v), z.number().finite().nullable().optional()).catch(undefined),
});

/** A proposer that lets a coding-agent CLI edit the training script, then keeps only that edit. */
export function createAgentProposer(options: AgentProposerOptions): Proposer {
  const preset = options.preset ?? (options.command && isAgentPreset(options.command.trim()) ? (options.command.trim() as AgentPreset) : undefined);
  if (options.preset !== undefined && !isAgentPreset(options.preset)) {
    throw new UsageError(`unknown agent preset "${String(options.preset)}"`, `Use one of: ${AGENT_PRESETS.join(", ")}, or give a full command with --agent "<command>".`);
  }
  const custom = preset ? undefined : options.command?.trim();
  if (!preset && !custom) {
    throw new UsageError(
      "--proposer agent needs --agent <preset|command>",
      `Presets: ${AGENT_PRESETS.join(", ")}. Or any command that edits the training script, e.g. --agent "my-agent --auto".`,
    );
  }
  if (isAbsolute(options.trainPath) || normalize(options.trainPath).startsWith("..")) {
    throw new UsageError(`the training script must be a path inside the repository, got ${options.trainPath}`);
  }
  const timeoutMs = Math.round((options.timeoutSec ?? 900) * 1000);
  const graceMs = Math.round((options.killGraceSec ?? 5) * 1000);
  if (!(timeoutMs > 0)) throw new UsageError("the agent timeout must be a positive number of seconds");
  const program = preset ?? programOf(custom as string);
  // A custom command that runs a known CLI (its own flags) still gets that CLI's failure
  // detection and usage reading.
  const family = preset ?? presetOf(program);
  const agentEnv = (): Record<string, string> => {
    const source = options.env ?? process.env;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(source)) if (v !== undefined) env[k] = v;
    return preset ? Object.assign(env, presetEnv(preset, source)) : env;
  };

  return {
    name: "agent",
    editsWorkspace: true,
    async check() {
      const agent: AgentInfo = { command: preset ?? (custom as string), version: null };
      if (preset) {
        agent.version = await presetVersion(preset, options.cwd, agentEnv());
        // Before the baseline: a CLI that is not logged in would fail the first proposal, a full run later.
        await requireLogin(preset, { cwd: options.cwd, env: agentEnv() });
      }
      return { agent };
    },
    async propose(ctx: ProposalContext, signal?: AbortSignal): Promise<AgentProposal> {
      // In the loop the agent works in the session's throwaway clone, which the loop inspects and
      // resets afterwards; a library caller's own checkout is snapshotted and restored here.
      const cwd = ctx.workspace?.dir ?? options.cwd;
      const scratchDir = ctx.workspace?.scratchDir ?? options.scratchDir ?? join(options.cwd, ".autoresearch", "agent");
      const here = new Git(cwd, ctx.workspace !== undefined);
      const root = await here.topLevel();
      const prefix = await here.prefix();
      // Every path below is relative to the repository root, as git status prints them.
      const git = new Git(root, ctx.workspace !== undefined);
      const toRepo = (p: string) => normalize(`${prefix}${p}`).split(sep).join("/").replace(/\/$/, "");
      const train = toRepo(options.trainPath);
      mkdirSync(scratchDir, { recursive: true });
      const scratchRel = relative(realpathSync(root), realpathSync(scratchDir)).split(sep).join("/");
      const protectedPaths = [...options.protectedPaths.map(toRepo), ...(scratchRel && !scratchRel.startsWith("..") ? [scratchRel] : [])];

      const promptFile = join(scratchDir, "prompt.md");
      const proposalFile = join(scratchDir, "proposal.json");
      const logPath = join(scratchDir, `agent-${ctx.iteration}.log`);
      rmSync(proposalFile, { force: true });
      const prompt = buildPrompt(ctx, { replyFormat: "agent", maxChars: options.promptMaxChars });
      const promptText = `${prompt.system}\n\nThe proposal file for this run: ${proposalFile}\n\n${prompt.user}\n`;
      writeFileSync(promptFile, promptText);

      const before = ctx.workspace ? null : await snapshotTree(git, root, protectedPaths);
      const command =
        custom ??
        presetCommand(preset as AgentPreset, { trainPath: options.trainPath, promptFile, proposalFile, scratchDir });
      const env = agentEnv();
      Object.assign(env, {
        AUTORESEARCH_PROMPT_FILE: promptFile,
        AUTORESEARCH_PROPOSAL_FILE: proposalFile,
        AUTORESEARCH_TRAIN_FILE: options.trainPath,
      });

      const watch = new FailureWatch(family, program);
      const seen: { fatal: FatalFailure | null } = { fatal: null };
      const result = await runAgent({
        command,
        cwd,
        env,
        stdin: promptText,
        timeoutMs,
        graceMs,
        logPath,
        ...(signal && { signal }),
        watch: (line) => {
          seen.fatal = watch.line(line);
          return seen.fatal?.kind ?? null;
        },
      });

      // Whatever happened, only the training script's change survives, and only in memory.
      const trainAbs = join(root, train);
      const violations = before ? await restoreTree(git, root, before, protectedPaths, train) : [];
      const newText = existsSync(trainAbs) ? readFileSync(trainAbs, "utf8") : null;
      if (before) await restorePath(git, root, train, ctx.trainText);

      const suffix = violations.length > 0 ? ` (restored: ${violations.join("; ")})` : "";
      const tail = result.tail.length > 0 ? `; last output: ${result.tail.slice(-5).join(" | ")}` : "";
      if (result.aborted) throw signal?.reason ?? new Error("aborted");
      // Missing CLI, no login, no network: every further attempt would fail the same way.
      const stopped = seen.fatal ?? (result.timedOut ? null : watch.exit(result.exitCode, result.tail));
      if (stopped) {
        const { message, hint } = describeFatal(stopped, family, program);
        throw new RuntimeFailure(`${message}; the agent's output is in ${logPath}`, hint);
      }
      const spent: AgentUsage = (family ? readUsage(family, result.stdout) : null) ?? {};
      const failed = (reason: string, message: string) => new ProposalFailed(reason, message, violations, spent);
      if (result.timedOut) {
        throw failed("agent-timeout", `the agent did not finish within ${timeoutMs / 1000}s and was killed${suffix}`);
      }
      if (result.exitCode !== 0) {
        const how = result.exitCode === null ? `was killed by ${result.signal ?? "a signal"}` : `exited with code ${result.exitCode}`;
        throw failed("agent-exit", `the agent ${how}${tail}${suffix}`);
      }
      if (newText === null) {
        throw failed("agent-deleted-train", `the agent deleted ${options.trainPath}${suffix}`);
      }
      if (newText === ctx.trainText) {
        throw failed("agent-no-change", `the agent did not change ${options.trainPath}${tail}${suffix}`);
      }

      const file = readProposalFile(proposalFile);
      const category = parseCategory(file?.category) ?? guessCategory(ctx.trainText, newText);
      const description = shortLine(file?.description) || describeChange(options.trainPath, ctx.trainText, newText);
      const proposal: AgentProposal = { description, category, newText, violations };
      if (spent.usage) proposal.usage = spent.usage;
      if (spent.costUsd !== undefined) proposal.costUsd = spent.costUsd;
      if (spent.turns !== undefined) proposal.turns = spent.turns;
      const direction = shortLine(file?.direction);
      if (direction) proposal.direction = direction;
      const learned = shortLine(file?.learned);
      if (learned) proposal.learned = learned;
      const ideas = (file?.ideas ?? []).map((idea) => shortLine(idea)).filter(Boolean);
      if (ideas.length > 0) proposal.ideas = ideas;
      if (typeof file?.expected_delta === "number") proposal.expectedDelta = file.expected_delta;
      const rationale = file?.rationale?.trim() ?? "";
      const notes = [rationale, violations.length > 0 ? `Restored after the agent: ${violations.join("; ")}.` : ""].filter(Boolean);
      if (notes.length > 0) proposal.rationale = notes.join("\n");
      return proposal;
    },
  };
}

/** The program a custom command runs (its first word), for error messages. */
function programOf(command: string): string {
  const first = /^\s*(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(command);
  return first?.[1] ?? first?.[2] ?? first?.[3] ?? command;
}

/** The preset whose CLI a program is (`gemini`, `/usr/local/bin/claude`, `codex.cmd`), if any. */
function presetOf(program: string): AgentPreset | undefined {
  const name = basename(program.replace(/\\/g, "/")).replace(/\.(cmd|exe|bat|ps1)$/i, "");
  return AGENT_PRESETS.find((p) => PRESET_INFO[p].cli === name);
}

function readProposalFile(path: string): z.infer<typeof proposalFileSchema> | null {
  if (!existsSync(path)) return null;
  try {
    const text = readFileSync(path, "utf8");
    const match = /\{[\s\S]*\}/.exec(text);
    const parsed = proposalFileSchema.safeParse(JSON.parse(match ? match[0] : text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  } finally {
    rmSync(path, { force: true });
  }
}

function parseCategory(value: string | undefined): (typeof CATEGORIES)[number] | undefined {
  const v = value?.trim().toLowerCase();
  if (!v) return undefined;
  if ((CATEGORIES as readonly string[]).includes(v)) return v as (typeof CATEGORIES)[number];
  if (v.startsWith("hyper")) return "hyperparameters";
  if (v.startsWith("optim")) return "optimizer";
  if (v.startsWith("arch")) return "architecture";
  return undefined;
}

function shortLine(text: string | undefined): string {
  return oneLine(text ?? "", 200);
}
