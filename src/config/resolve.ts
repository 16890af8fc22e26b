import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { UsageError } from "../errors.js";
import { SCOPES, type ResearchConfig, type Scope } from "../types.js";
import { DURATION_HELP, parseDuration } from "./duration.js";
import { configFileSchema, type ConfigInput, describeIssues, OPTION_DEFS, type OptionKey } from "./options.js";
import { dateTag, isValidTag } from "./tag.js";

export const CONFIG_FILE = "autoresearch.config.json";

/** Values the spec says to ask for, never assume. */
export const REQUIRED_KEYS = ["budget", "metric", "direction"] as const;

/** Reads and validates a config file; every problem names its key. */
export function loadConfigFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read config file ${path}`, "Check the path given to --config.");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON: ${(error as Error).message}`, "Fix the JSON syntax (a trailing comma or a missing quote?).");
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new UsageError(describeIssues(parsed.error, path), `Keys accepted: ${Object.keys(OPTION_DEFS).join(", ")}.`);
  }
  const { $schema: _schema, ...rest } = parsed.data;
  return rest as ConfigInput;
}

/** Validates flag values with the same schema the config file uses. */
export function validateFlags(flags: ConfigInput): ConfigInput {
  const defined = Object.fromEntries(Object.entries(flags).filter(([key, v]) => v !== undefined && key in OPTION_DEFS));
  const parsed = configFileSchema.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      const def = OPTION_DEFS[key as OptionKey];
      const flag = def ? def.flag.split(" ")[0] : key;
      return `${flag} ${JSON.stringify((flags as Record<string, unknown>)[key])}: ${issue.message}`;
    });
    throw new UsageError(lines.join("\n"), "Run with --help to see accepted values.");
  }
  return defined as ConfigInput;
}

export function defaultCommand(root: string, train: string, platform: NodeJS.Platform = process.platform): string {
  const python = platform === "win32" ? "python" : "python3";
  const quoted = /\s/.test(train) ? `"${train}"` : train;
  if (/\.(m?js|cjs)$/.test(train)) return `node ${quoted}`;
  if (/\.(m?ts)$/.test(train)) return `npx tsx ${quoted}`;
  if (existsSync(join(root, "uv.lock")) || existsSync(join(root, "pyproject.toml"))) return `uv run ${quoted}`;
  return `${python} ${quoted}`;
}

export function parseScope(value: unknown): Scope[] {
  const items = (Array.isArray(value) ? value : String(value).split(","))
    .map((s) => String(s).trim().toLowerCase())
    .filter(Boolean)
    .map((s) => (s === "hyper" ? "hyperparameters" : s));
  if (items.length === 0 || items.includes("all")) return [...SCOPES];
  const bad = items.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad.length > 0) {
    throw new UsageError(`unknown scope ${bad.map((b) => `"${b}"`).join(", ")}`, `Use a comma-separated list of ${SCOPES.join(", ")}, or all.`);
  }
  return [...new Set(items)] as Scope[];
}

export interface ResolveOptions {
  root: string;
  now: Date;
  platform?: NodeJS.Platform;
}

export function missingRequired(input: ConfigInput): OptionKey[] {
  return REQUIRED_KEYS.filter((key) => input[key] === undefined || input[key] === "");
}

export function missingMessage(missing: OptionKey[]): UsageError {
  const lines = missing.map((key) => `  ${OPTION_DEFS[key].flag.padEnd(24)} (config key "${key}"): ${OPTION_DEFS[key].help}`);
  return new UsageError(
    `missing required setting${missing.length > 1 ? "s" : ""}, which autoresearch asks for and never assumes:\n${lines.join("\n")}`,
    "Pass them as flags or in autoresearch.config.json, or run in a terminal to be asked.",
  );
}

/** Builds the full config from validated input (file values overridden by flags). */
export function resolveConfig(input: ConfigInput, options: ResolveOptions): ResearchConfig {
  const missing = missingRequired(input);
  if (missing.length > 0) throw missingMessage(missing);

  const budgetSec = parseDuration(input.budget as string | number);
  if (budgetSec === null) throw new UsageError(`invalid budget ${JSON.stringify(input.budget)}`, `Use ${DURATION_HELP}.`);
  const timeoutSec = input.timeout === undefined ? budgetSec * 2 : parseDuration(input.timeout as string);
  if (timeoutSec === null) throw new UsageError(`invalid timeout ${JSON.stringify(input.timeout)}`, `Use ${DURATION_HELP}.`);
  if (timeoutSec < budgetSec) {
    throw new UsageError(`the timeout (${timeoutSec}s) is shorter than the budget (${budgetSec}s)`, "Give --timeout at least the budget, or leave it out (default: 2x budget).");
  }
  const maxIterations = input.maxIterations === undefined || input.maxIterations === "unlimited" ? null : Number(input.maxIterations);
  const tag = (input.tag as string | undefined) ?? dateTag(options.now);
  if (!isValidTag(tag)) {
    throw new UsageError(`invalid tag ${JSON.stringify(tag)}`, "Use letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit), e.g. --tag nov26-lr.");
  }
  const train = (input.train as string | undefined) ?? "train.py";
  const readonly = input.readonly === undefined ? ["prepare.py"] : ([] as string[]).concat(input.readonly as string | string[]);
  const proposer = (input.proposer as string | undefined) ?? (input.plan ? "plan" : "builtin");
  if (proposer === "plan" && !input.plan) throw new UsageError("the plan proposer needs a plan file", "Pass --plan plan.jsonl.");
  if (proposer === "agent" && !input.agent) {
    throw new UsageError("the agent proposer needs an agent command", "Pass --agent claude (or codex, aider, gemini, opencode, or a full command).");
  }
  if (["anthropic", "openai", "openai-compatible"].includes(proposer) && !input.model) {
    throw new UsageError(`the ${proposer} proposer needs a model id`, "Pass --model, e.g. --model claude-sonnet-4-5 or --model gpt-5.");
  }
  if (input.metricPattern !== undefined) {
    try {
      new RegExp(String(input.metricPattern));
    } catch (error) {
      throw new UsageError(`invalid --metric-pattern: ${(error as Error).message}`, "Give a JavaScript regular expression with one capture group for the number, e.g. '^val_bpb=([0-9.]+)'.");
    }
  }
  if (input.stopWhen !== undefined) {
    const named = /^\s*([A-Za-z_][\w.\-/]*)/.exec(String(input.stopWhen))?.[1];
    if (named !== input.metric) {
      throw new UsageError(
        `the stop condition ${JSON.stringify(input.stopWhen)} names ${named}, but the session optimises ${input.metric}`,
        `Write it with the session's metric, e.g. --stop-when "${input.metric} ${input.direction === "max" ? ">=" : "<="} <value>".`,
      );
    }
  }
  const maxTimeSec = input.maxTime === undefined ? undefined : (parseDuration(input.maxTime as string) ?? undefined);
  const share = input.share === undefined || input.share === false ? input.share : ([] as string[]).concat(input.share as string | string[]);
  for (const path of share || []) {
    if (isAbsolute(path) || path.split(/[\\/]/).includes("..") || path.split(/[\\/]/)[0] === ".git") {
      throw new UsageError(`--share ${path}: a shared path must be inside the repository`, "Give a path relative to the repository root, e.g. --share checkpoints/pretrained.");
    }
  }
  return {
    train,
    readonly,
    budgetSec,
    metric: input.metric as string,
    direction: input.direction as "min" | "max",
    maxIterations,
    scope: parseScope(input.scope ?? "all"),
    tag,
    results: (input.results as string | undefined) ?? "results.tsv",
    command: (input.command as string | undefined) ?? defaultCommand(options.root, train, options.platform),
    timeoutSec,
    proposer,
    seed: input.seed === undefined ? 0 : Number(input.seed),
    reportEvery: input.reportEvery === undefined ? 10 : Number(input.reportEvery),
    ...(input.metricPattern !== undefined && { metricPattern: String(input.metricPattern) }),
    ...(input.model !== undefined && { model: String(input.model) }),
    ...(input.baseUrl !== undefined && { baseUrl: String(input.baseUrl) }),
    ...(input.apiKeyEnv !== undefined && { apiKeyEnv: String(input.apiKeyEnv) }),
    ...(input.agent !== undefined && { agent: String(input.agent) }),
    ...(input.agentTimeout !== undefined && { agentTimeoutSec: parseDuration(input.agentTimeout as string) as number }),
    ...(input.openaiApi !== undefined && { openaiApi: input.openaiApi as "chat" | "responses" }),
    ...(input.prices !== undefined && { prices: String(input.prices) }),
    ...(input.plan !== undefined && { plan: String(input.plan) }),
    ...(input.hypothesis !== undefined && { hypothesis: String(input.hypothesis) }),
    ...(input.stopWhen !== undefined && { stopWhen: String(input.stopWhen) }),
    ...(maxTimeSec !== undefined && { maxTimeSec }),
    ...(input.maxCost !== undefined && { maxCostUsd: Number(input.maxCost) }),
    ...(share !== undefined && { share }),
  };
}
