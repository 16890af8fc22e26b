import { readFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { UsageError } from "../errors.js";
import { parseMinDelta } from "../metric/noise.js";
import { parseStopCondition, type StopCondition } from "../metric/stop-condition.js";
import {
  AGENT_PRESET_NAMES,
  type ConfigInput,
  configFileSchema,
  type DefaultContext,
  describeIssues,
  flagName,
  issueText,
  exampleModel,
  LLM_PROPOSERS,
  OPTION_DEFS,
  type OptionKey,
  type ResearchConfig,
  researchConfigSchema,
} from "./options.js";
import { pathProblems } from "./repo-paths.js";
import { isReservedTag, isValidTag, RESERVED_TAGS } from "./tag.js";
import { CONFIG_FILE } from "../file-names.js";

export { defaultCommand, parseScope } from "./options.js";

/** Values the spec says to ask for, never assume. */
export const REQUIRED_KEYS: readonly OptionKey[] = (Object.keys(OPTION_DEFS) as OptionKey[]).filter((key) => {
  const def = OPTION_DEFS[key];
  // No default and no way to leave it out: budget, metric, direction.
  return def.fallback === undefined && !def.config.safeParse(undefined).success;
});

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
    // An unknown key gets the list of keys; a bad value, where each key's values are said.
    const unknown = parsed.error.issues.some((issue) => issue.code === "unrecognized_keys");
    throw new UsageError(describeIssues(parsed.error, path), unknown ? `Keys accepted: ${Object.keys(OPTION_DEFS).join(", ")}.` : "Fix the value: `autoresearch run --help` says what each flag (and its key) takes.");
  }
  const { $schema: _schema, ...rest } = parsed.data;
  return agentAlias(rest as ConfigInput, `"proposer" in ${path}`);
}

/**
 * `--proposer claude` (codex, aider, gemini, opencode) is the obvious spelling of `--proposer
 * agent --agent claude`: taken as that. With another --agent it is a contradiction, refused.
 */
export function agentAlias(input: ConfigInput, where: string): ConfigInput {
  const name = input.proposer;
  if (typeof name !== "string" || !AGENT_PRESET_NAMES.includes(name)) return input;
  if (input.agent !== undefined && input.agent !== name) {
    throw new UsageError(`${where} ${name} names a coding agent, but --agent is ${JSON.stringify(input.agent)}`, `Use \`--proposer agent --agent ${JSON.stringify(input.agent)}\`, or \`--proposer ${name}\` alone.`);
  }
  return { ...input, proposer: "agent", agent: name };
}

/** Validates flag values with the same schema the config file uses. */
export function validateFlags(flags: ConfigInput): ConfigInput {
  const defined = agentAlias(Object.fromEntries(Object.entries(flags).filter(([key, v]) => v !== undefined && key in OPTION_DEFS)) as ConfigInput, "--proposer");
  const parsed = configFileSchema.safeParse(defined);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? "");
      const flag = key in OPTION_DEFS ? flagName(key as OptionKey) : key;
      return `${flag} ${JSON.stringify((flags as Record<string, unknown>)[key])}: ${issueText(issue)}`;
    });
    throw new UsageError(lines.join("\n"), "Run with --help to see accepted values.");
  }
  return defined as ConfigInput;
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
    `Pass them as flags or in ${CONFIG_FILE}, or run in a terminal to be asked.`,
  );
}

/**
 * The one resolve-and-validate step of every entry point (`run`, `init`, `resume`, `demo` and the
 * library's research()): typed values to the resolved config, defaults from the option table,
 * then every rule that spans settings (validateConfig).
 */
export function resolveConfig(input: ConfigInput, options: ResolveOptions): ResearchConfig {
  return resolveChecked(input, options).config;
}

/**
 * resolveConfig with the result of its checks (the parsed stop condition): what a caller that
 * starts a session passes down, so the config is not checked again on the way.
 */
export function resolveChecked(input: ConfigInput, options: ResolveOptions): CheckedConfig {
  const missing = missingRequired(input);
  if (missing.length > 0) throw missingMessage(missing);
  const config: Record<string, unknown> = {};
  const ctx: DefaultContext = { root: options.root, now: options.now, platform: options.platform ?? process.platform, input, config };
  for (const [key, def] of Object.entries(OPTION_DEFS) as [OptionKey, (typeof OPTION_DEFS)[OptionKey]][]) {
    const value = input[key] === undefined ? def.fallback?.(ctx) : def.from(input[key]);
    if (value !== undefined) config[def.field] = value;
  }
  const checked = validateConfig(config as ResearchConfig, options.root);
  checkProposerSettings(checked.config);
  return checked;
}

/**
 * What building the proposer from the config needs. Only where the proposer is made from the
 * config (the CLI): a library caller hands research() a Proposer of its own.
 */
function checkProposerSettings(config: ResearchConfig): void {
  if (config.proposer === "plan" && !config.plan) throw new UsageError("the plan proposer needs a plan file", "Pass --plan plan.jsonl.");
  if (config.proposer === "agent" && !config.agent) {
    throw new UsageError("the agent proposer needs an agent command", "Pass --agent claude (or codex, aider, gemini, opencode, or a full command).");
  }
  if (LLM_PROPOSERS.includes(config.proposer) && !config.model) {
    throw new UsageError(`the ${config.proposer} proposer needs a model id`, `Pass --model. ${exampleModel(config.proposer)}`);
  }
  checkProposerOwnSettings(config);
}

/** No setting that only another proposer reads: refused, it would be ignored without a word. `resuming`: the proposer is the session's. */
function checkProposerOwnSettings(config: ResearchConfig, resuming = false): void {
  // A setting only another proposer reads would be ignored without a word (the table once showed "builtin (gpt-5)"
  // while the offline search ran). Not --api-key-env: the variable it names is kept from the runs whatever proposes.
  const owners: [OptionKey[], (p: string) => boolean, string, string][] = [
    [["model", "baseUrl", "openaiApi", "prices"], (p) => LLM_PROPOSERS.includes(p), "the LLM proposers", `--proposer ${LLM_PROPOSERS.join(", ")}`],
    [["agent", "agentTimeout"], (p) => p === "agent", "the agent proposer", "--proposer agent (or an agent's name: --proposer claude)"],
  ];
  for (const [keys, uses, who, how] of owners) {
    if (uses(config.proposer)) continue;
    const key = keys.find((k) => config[OPTION_DEFS[k].field as keyof ResearchConfig] !== undefined);
    if (key === undefined) continue;
    const flag = flagName(key);
    const fix = resuming ? `Leave ${flag} out: a session keeps the proposer it started with (\`autoresearch run\` with ${how} starts one that uses it).` : `Choose one with ${how}, or leave ${flag} out.`;
    throw new UsageError(`${flag} (config key "${key}") is read by ${who}, but the proposer is ${config.proposer}`, fix);
  }
}

export interface CheckedConfig {
  config: ResearchConfig;
  /** The parsed --stop-when, for the loop. */
  stopCondition: StopCondition | null;
}

const REPO_PATHS = [
  ["train", "train"],
  ["readonly", "readonly"],
  ["results", "results"],
] as const;

/**
 * Every check of a resolved config, the same for every entry point: each value against its
 * schema, then the rules between settings. Returns the config and its parsed stop condition.
 * The executor's own settings (--hosts ...) are its own to check: checkExecutorConfig in
 * src/executors/registry.ts, called beside this by whoever starts a session.
 */
export function validateConfig(config: ResearchConfig, root: string): CheckedConfig {
  const parsed = researchConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new UsageError(describeIssues(parsed.error, "research config"), "Run with --help to see accepted values.");
  }
  const checked = parsed.data;
  if (checked.timeoutSec < checked.budgetSec) {
    throw new UsageError(`the timeout (${checked.timeoutSec}s) is shorter than the budget (${checked.budgetSec}s)`, "Give --timeout at least the budget, or leave it out (default: 2x budget).");
  }
  if (!isValidTag(checked.tag)) {
    throw new UsageError(`invalid tag ${JSON.stringify(checked.tag)}`, "Use letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit), e.g. --tag nov26-lr.");
  }
  if (isReservedTag(checked.tag)) {
    throw new UsageError(
      `tag ${JSON.stringify(checked.tag)} is a name the tool uses for its own files in .git/autoresearch/ (${RESERVED_TAGS.join(", ")})`,
      `Pick another tag, e.g. --tag ${checked.tag.replace(/[^A-Za-z0-9]/g, "")}-1.`,
    );
  }
  for (const [key, field] of REPO_PATHS) {
    for (const path of ([] as string[]).concat(checked[field])) {
      if (!insideRoot(root, path)) {
        throw new UsageError(`${flagName(key)} "${path}": outside the repository ${root}`, "Give a path inside the repo (paths are relative to the repository root).");
      }
    }
  }
  const paths = pathProblems(checked, root);
  if (paths.length > 0) throw new UsageError(paths.join("\n"), "Paths are relative to the repository root; fix the ones named above.");
  if (checked.metricPattern !== undefined) checkMetricPattern(checked.metricPattern);
  let stopCondition: StopCondition | null = null;
  if (checked.stopWhen !== undefined) {
    stopCondition = parseStopCondition(checked.stopWhen);
    if (!stopCondition) {
      throw new UsageError(`--stop-when ${JSON.stringify(checked.stopWhen)}: '<metric> <= <number>' (or >=, <, >)`, `Write it as --stop-when "${checked.metric} ${checked.direction === "max" ? ">=" : "<="} <value>".`);
    }
    if (stopCondition.metric !== checked.metric) {
      throw new UsageError(
        `the stop condition ${JSON.stringify(checked.stopWhen)} names ${stopCondition.metric}, but the session optimises ${checked.metric}`,
        `Write it with the session's metric, e.g. --stop-when "${checked.metric} ${checked.direction === "max" ? ">=" : "<="} <value>".`,
      );
    }
  }
  checkKeepRule(checked);
  checkChecks(checked.checks ?? []);
  return { config: checked, stopCondition };
}

/**
 * `--check <command...>` takes one command per argument, so `--check python3 check.py` is two
 * checks, "python3" (which passes: it reads an empty stdin) and "check.py" (not a command): a
 * good change would be discarded for it. A check that is a script's name alone, no path, is
 * that mistake (a script of the repo runs as "./check.sh" or "python3 check.py").
 */
function checkChecks(checks: readonly string[]): void {
  const lone = checks.find((c) => /^[\w.-]+\.(?:py|js|mjs|cjs|ts|sh|R|jl|lua|rb|pl)$/.test(c.trim()));
  if (lone === undefined) return;
  const before = checks[checks.indexOf(lone) - 1];
  const whole = before && !/\s/.test(before.trim()) ? `${before.trim()} ${lone.trim()}` : `python3 ${lone.trim()}`;
  throw new UsageError(
    `--check ${JSON.stringify(lone)} is not a command: each --check argument is one whole command`,
    `Quote each command with its arguments, e.g. --check "${whole}" (or "./${lone.trim()}" for an executable script).`,
  );
}

/** A threshold needs its minimum, and a minimum without the threshold rule is a mistake worth naming. */
function checkKeepRule(config: ResearchConfig): void {
  const rule = config.keepRule ?? "any";
  if (config.minDelta !== undefined && parseMinDelta(config.minDelta) === null) {
    throw new UsageError(`--min-delta ${JSON.stringify(config.minDelta)}: not a non-negative number or percent`, "Give an amount of the metric (0.01) or a percent of the best (0.5%).");
  }
  if (rule === "threshold" && config.minDelta === undefined) {
    throw new UsageError("--keep-rule threshold needs --min-delta", "Pass the smallest gain worth keeping, e.g. --min-delta 0.01 or --min-delta 0.5%.");
  }
  if (rule !== "threshold" && config.minDelta !== undefined) {
    throw new UsageError(`--min-delta is used by --keep-rule threshold, but the keep rule is ${rule}`, "Add --keep-rule threshold, or leave --min-delta out.");
  }
}

function checkMetricPattern(pattern: string): void {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (error) {
    throw new UsageError(`invalid --metric-pattern: ${(error as Error).message}`, "Give a JavaScript regular expression with one capture group for the number, e.g. '^val_bpb=([0-9.]+)'.");
  }
  // An alternation with the empty pattern always matches and yields one slot per capture group.
  const groups = (new RegExp(`${regex.source}|`).exec("")?.length ?? 1) - 1;
  if (groups < 1) {
    throw new UsageError(`--metric-pattern ${JSON.stringify(pattern)} has no capture group for the number`, "Put the number in parentheses, e.g. '^val_bpb=([0-9.]+)'.");
  }
}

function insideRoot(root: string, path: string): boolean {
  const rel = relative(root, isAbsolute(path) ? path : join(root, path));
  return !rel.startsWith("..") && !isAbsolute(rel);
}

/** The resume settings that belong to a proposer (the LLM's): given, they are checked against the session's proposer. */
const PROPOSER_RESUME_KEYS = ["model", "baseUrl", "apiKeyEnv", "openaiApi"] as const;
/**
 * Settings a resumed session may change; everything else stays as confirmed at setup. The LLM's
 * model and endpoint are among them: they change what proposes, never what is measured, and a
 * mistyped --base-url would otherwise need a new session (and its baseline) to mend.
 */
export const RESUME_KEYS = ["maxIterations", "maxTime", "stopWhen", "maxCost", "reportEvery", ...PROPOSER_RESUME_KEYS] as const;
const PROPOSER_FIELDS = new Set<string>(PROPOSER_RESUME_KEYS.map((key) => OPTION_DEFS[key].field));
/**
 * The resume settings that stay the session's from then on (written to session.json), not this
 * invocation's alone: its limits (a later plain `resume` keeps the ones given last) and what
 * proposes. --report-every is how this invocation prints.
 */
export const LASTING_RESUME_KEYS: readonly ResumeKey[] = ["maxIterations", "maxTime", "stopWhen", "maxCost", ...PROPOSER_RESUME_KEYS];
export type ResumeKey = (typeof RESUME_KEYS)[number];
export type ResumeOverrides = Partial<Pick<ResearchConfig, (typeof OPTION_DEFS)[ResumeKey]["field"]>>;

/** Typed resume flags (checked like run's) to resolved overrides. */
export function resolveOverrides(flags: ConfigInput): ResumeOverrides {
  const typed = validateFlags(Object.fromEntries(RESUME_KEYS.map((key) => [key, flags[key]])));
  const overrides: Record<string, unknown> = {};
  for (const key of RESUME_KEYS) {
    if (typed[key] !== undefined) overrides[OPTION_DEFS[key].field] = OPTION_DEFS[key].from(typed[key]);
  }
  return overrides as ResumeOverrides;
}

/** A stored config with resume overrides, through the same checks as a new session's. */
export function applyOverrides(config: ResearchConfig, overrides: ResumeOverrides, root: string): CheckedConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const checked = validateConfig({ ...config, ...defined }, root);
  // A --model given to a session of the builtin search is refused as run refuses it (a library caller's session,
  // whose proposer it made itself, is not checked for what the CLI would need to make one).
  if (Object.keys(defined).some((field) => PROPOSER_FIELDS.has(field))) checkProposerOwnSettings(checked.config, true);
  return checked;
}
