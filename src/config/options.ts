import { z } from "zod";
import { DURATION_HELP, parseDuration } from "./duration.js";

/**
 * The single source of truth for research settings: each entry is a config-file key, a CLI
 * flag and its help text. The config-file schema and the commander options are both built
 * from this table so they cannot drift.
 */
const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== null, { message: `expected ${DURATION_HELP}` });
const stringList = z.union([z.string(), z.array(z.string())]);

export const OPTION_DEFS = {
  train: { flag: "--train <path>", help: "training script, the only file that may change (default: train.py)", schema: z.string().min(1) },
  readonly: { flag: "--readonly <path...>", help: "read-only script(s) never modified (default: prepare.py)", schema: stringList },
  budget: { flag: "--budget <duration>", help: "time budget per run: 90s, 5m, 1h30m or seconds (asked, never assumed)", schema: duration },
  metric: { flag: "--metric <name>", help: "metric the training script prints as `<name>: <number>` (asked)", schema: z.string().regex(/^[A-Za-z_][\w.\-/]*$/, "letters, digits, _ . - / only") },
  direction: { flag: "--direction <min|max>", help: "whether lower (min) or higher (max) is better (asked)", schema: z.enum(["min", "max"]) },
  maxIterations: { flag: "--max-iterations <n>", help: "experiments after the baseline, or 'unlimited' (default: unlimited)", schema: z.union([z.number().int().min(0), z.literal("unlimited"), z.string().regex(/^(\d+|unlimited)$/, "a whole number or 'unlimited'")]) },
  scope: { flag: "--scope <list>", help: "what may change: architecture,hyperparameters,optimizer,training or all (default: all)", schema: stringList },
  tag: { flag: "--tag <tag>", help: "branch tag: the session runs on autoresearch/<tag> (default: date, e.g. nov26)", schema: z.string() },
  results: { flag: "--results <path>", help: "results file (default: results.tsv)", schema: z.string().min(1) },
  command: { flag: "--command <cmd>", help: "command that runs one experiment (default: from the repo, e.g. `uv run train.py`)", schema: z.string().min(1) },
  timeout: { flag: "--timeout <duration>", help: "hard timeout per run; the whole process tree is killed (default: 2x budget)", schema: duration },
  metricPattern: { flag: "--metric-pattern <regex>", help: "regex with one capture group to read the metric (default: a line `<metric>: <number>` or `<metric>=<number>`)", schema: z.string() },
  proposer: { flag: "--proposer <name>", help: "builtin | plan | anthropic | openai | openai-compatible | agent (default: builtin)", schema: z.enum(["builtin", "plan", "anthropic", "openai", "openai-compatible", "agent"]) },
  seed: { flag: "--seed <n>", help: "seed for the builtin search (default: 0)", schema: z.union([z.number().int(), z.string().regex(/^-?\d+$/, "a whole number")]) },
  model: { flag: "--model <id>", help: "model id for an LLM proposer", schema: z.string().min(1) },
  baseUrl: { flag: "--base-url <url>", help: "API base URL (openai-compatible servers, gateways)", schema: z.string().url() },
  apiKeyEnv: { flag: "--api-key-env <name>", help: "environment variable that holds the API key", schema: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name") },
  agent: { flag: "--agent <command>", help: "coding-agent CLI command or preset: claude, codex, aider, gemini, opencode", schema: z.string().min(1) },
  openaiApi: { flag: "--openai-api <chat|responses>", help: "which OpenAI API the openai proposer calls (default: responses)", schema: z.enum(["chat", "responses"]) },
  prices: { flag: "--prices <file>", help: "JSON price table overriding the built-in one: {\"model-prefix\": {\"input\": usd_per_M, \"output\": usd_per_M}}", schema: z.string().min(1) },
  agentTimeout: { flag: "--agent-timeout <duration>", help: "how long a coding agent may take for one proposal (default: 15m)", schema: duration },
  plan: { flag: "--plan <file>", help: "plan.jsonl: one proposal per line, run in order (proposer 'plan')", schema: z.string().min(1) },
  hypothesis: { flag: "--hypothesis <text>", help: "direction for the first iterations", schema: z.string() },
  stopWhen: { flag: "--stop-when <condition>", help: "stop when the best metric meets it, e.g. 'val_bpb <= 0.97'", schema: z.string().regex(/^\s*[A-Za-z_][\w.\-/]*\s*(<=|>=|<|>)\s*-?[\d.]+(e-?\d+)?\s*$/i, "'<metric> <= <number>' (or >=, <, >)") },
  maxTime: { flag: "--max-time <duration>", help: "stop after this much wall time, e.g. 8h", schema: duration },
  maxCost: { flag: "--max-cost <usd>", help: "stop when the proposer has cost this many US dollars", schema: z.union([z.number().positive(), z.string().regex(/^\d+(\.\d+)?$/, "a positive number")]) },
  passEnv: { flag: "--pass-env <name...>", help: "environment variable(s) the run gets although their names look like secrets (e.g. WANDB_API_KEY)", schema: z.union([z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"), z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name"))]) },
  share: {
    flag: "--share <path...>",
    help: "untracked path(s) of your checkout to link (never copy) into the experiment clone, besides .venv, venv, data, node_modules; --no-share links nothing",
    schema: z.union([z.literal(false), z.string().min(1), z.array(z.string().min(1))]),
  },
  reportEvery: { flag: "--report-every <n>", help: "progress report every N experiments (default: 10)", schema: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, "a positive whole number")]) },
} as const;

export type OptionKey = keyof typeof OPTION_DEFS;

/** autoresearch.config.json: the same keys as the flags; unknown keys are errors. */
export const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    ...(Object.fromEntries(Object.entries(OPTION_DEFS).map(([key, def]) => [key, def.schema.optional()])) as {
      [K in OptionKey]: z.ZodOptional<(typeof OPTION_DEFS)[K]["schema"]>;
    }),
  })
  .strict();

export type ConfigInput = Partial<Record<OptionKey, unknown>>;

/** Turns the first zod issue list into one line per problem, naming the key. */
export function describeIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") return `${source}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      const key = issue.path.join(".") || "(root)";
      return `${source}: "${key}": ${issue.message}`;
    })
    .join("\n");
}
