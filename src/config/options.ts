import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { devicesProblem, hostList } from "./hosts.js";
import { UsageError } from "../errors.js";
import { shellQuote as posixQuote } from "../text.js";
import { DEFAULT_RESULTS_FILE } from "../file-names.js";
import { MIN_DELTA } from "../metric/noise.js";
import { DEFAULT_BASELINE_RUNS, DEFAULT_CONFIDENCE, DEFAULT_CONFIRM_RUNS, DEFAULT_KEEP_RULE, DEFAULT_PAIRS, KEEP_RULES, type KeepRuleName } from "./keep-rules.js";
import { STOP_CONDITION } from "../metric/stop-condition.js";
import { type Direction, SCOPES, type Scope } from "../types.js";
import { DURATION_HELP, parseDuration } from "./duration.js";
import { dateTag } from "./tag.js";
import { SANDBOX_MODES, type SandboxMode } from "../sandbox/mode.js";

/**
 * The single source of truth for research settings. Each entry is one setting: its config-file
 * key (the entry's name), CLI flag, help, the schema of the value as typed (flag or file), the
 * key and schema of the resolved value stored in session.json, how a typed value becomes the
 * resolved one, its default, and whether and how `init` asks for it. The config-file schema, the
 * published JSON schema, the commander options, the prompts and the `ResearchConfig` type are
 * all derived from this table, so a new option is added here and nowhere else.
 */

/** What a default may depend on: the repo, the clock, the OS and the settings resolved before it. */
export interface DefaultContext {
  root: string;
  now: Date;
  platform: NodeJS.Platform;
  /** The typed values (flags and files merged), by config key. */
  input: Readonly<Record<string, unknown>>;
  /** The settings resolved so far, in table order. */
  config: Record<string, unknown>;
}

export interface OptionDef<F extends string, O extends z.ZodType> {
  flag: string;
  help: string;
  /** The value as typed in a flag or the config file. */
  schema: z.ZodType;
  /** Its key in the resolved config (session.json). */
  field: F;
  /** The resolved value. */
  config: O;
  /** A typed value (already accepted by `schema`) to the resolved value. */
  from: (value: unknown) => Exclude<z.output<O>, undefined>;
  /** The value when none is given; absent: required (asked) or optional (left out). */
  fallback?: (ctx: DefaultContext) => Exclude<z.output<O>, undefined>;
  /** Whether and how `init` asks for it (config/prompts.ts generates its questions from this), or why it is not asked. */
  ask: Ask;
}

/** One answer of a choice question: the value (also its label) and a hint. */
export interface Choice {
  value: string;
  hint: string;
}

/**
 * The questions of the init driver (config/prompts.ts), one per way of asking: a plain text
 * checked by the option's schema (`text`, `number` for a whole number), one of `choices`
 * (`choice`), and the ones with a behaviour of their own: a script of the repo (`script`,
 * `scripts`), the time budget (`duration`, after the platform is detected), the metric (`metric`,
 * names the scripts print offered), its `direction` (guessed from the name), the `scope`, the
 * branch `tag` (an unused one by default) and the `workers` (asked only when several GPUs are
 * detected).
 */
export type AskAs = "script" | "scripts" | "command" | "duration" | "metric" | "direction" | "text" | "number" | "choice" | "scope" | "tag" | "workers";

export type Ask =
  | {
      /** missing: asked whenever no value is given (init and run), never assumed. init: asked by init, its default prefilled. */
      when: "missing" | "init";
      as: AskAs;
      /** The question; `{metric}` and `{gpus}` are filled in when asked. */
      question: string;
      choices?: readonly Choice[];
      /** The default shown when the table's default does not read as an answer (null: "unlimited"). */
      prefill?: string;
      /** Said when the answer is empty and there is no default. */
      empty?: string;
      /** Asked before this option's question instead of in table order (the command before the budget: the platform advice follows from it). */
      before?: string;
    }
  | {
      /** Why init does not ask it (a flag or the config file sets it). */
      notAsked: string;
    };

const PROPOSER_SETTING: Ask = { notAsked: "a setting of the LLM or agent proposer, given with --proposer" };
const STOP_SETTING: Ask = { notAsked: "a stop condition beside max iterations, given by flag when wanted" };
const EXECUTOR_SETTING: Ask = { notAsked: "where runs happen besides this machine (slurm, ssh), given by flag or config file" };
const KEEP_TUNING: Ask = { notAsked: "tuning of the keep rule; given with the rule it tunes" };

function option<const F extends string, O extends z.ZodType>(def: OptionDef<F, O>): OptionDef<F, O> {
  return def;
}

export const EXECUTORS = ["local", "slurm", "ssh"] as const;
/** How experiments relate: a tree of nodes (each decided against its parent) or one chain of keeps. */
export const SEARCH_MODES = ["tree", "chain"] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
export type ExecutorKind = (typeof EXECUTORS)[number];
export const PROPOSERS = ["builtin", "plan", "anthropic", "openai", "openai-compatible", "agent"] as const;
export const LLM_PROPOSERS: readonly string[] = ["anthropic", "openai", "openai-compatible"];

/** A model id to give as an example in an LLM proposer's "needs --model" fix: one of its own provider's. */
export function exampleModel(proposer: string): string {
  if (proposer === "anthropic") return "For example --model claude-sonnet-4-5.";
  if (proposer === "openai") return "For example --model gpt-5.";
  return "For example --model qwen2.5-coder:32b (the name your server lists).";
}

/** Coding-agent presets (src/proposers/agent/presets.ts): `--proposer claude` means `--proposer agent --agent claude`. */
export const AGENT_PRESET_NAMES: readonly string[] = ["claude", "codex", "aider", "gemini", "opencode"];

/** Metric names as the training script prints them: `val_bpb`, `eval/loss`, `top1.acc`. */
export const METRIC_NAME = /^[A-Za-z_][\w.\-/]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const duration = z.union([z.string(), z.number()]).refine((v) => parseDuration(v) !== null, { message: `expected ${DURATION_HELP}` });
const seconds = (v: unknown) => parseDuration(v as string | number) as number;
const stringList = z.union([z.string(), z.array(z.string())]);
const toList = (v: unknown) => ([] as string[]).concat(v as string | string[]);
const envName = z.string().regex(ENV_NAME, "an environment variable name");
const text = (v: unknown) => String(v);
/** A path inside the repository (shared into the experiment clone): relative, no `..`, not in `.git`. */
const sharePath = z
  .string()
  .min(1)
  .refine((p) => !/^([\\/]|[A-Za-z]:)/.test(p) && !p.split(/[\\/]/).includes("..") && p.split(/[\\/]/)[0] !== ".git", { message: "a path inside the repository, relative to its root" });

export const OPTION_DEFS = {
  train: option({
    flag: "--train <path>",
    help: "training script, the only file that may change (default: train.py)",
    ask: { when: "init", as: "script", question: "Training script (the only file the agent may modify)" },
    schema: z.string().min(1),
    field: "train",
    config: z.string().min(1),
    from: text,
    fallback: () => "train.py",
  }),
  readonly: option({
    flag: "--readonly <path...>",
    help: "read-only script(s) never modified (default: prepare.py)",
    ask: { when: "init", as: "scripts", question: "Read-only script(s), never modified (comma-separated, or none)" },
    schema: stringList,
    field: "readonly",
    config: z.array(z.string().min(1)),
    from: toList,
    fallback: () => ["prepare.py"],
  }),
  budget: option({
    flag: "--budget <duration>",
    help: "time budget per run: 90s, 5m, 1h30m or seconds (asked, never assumed)",
    ask: { when: "missing", as: "duration", question: "How long should each training run be? (e.g. 3m, 10m, 30m, 90s, 1h30m)" },
    schema: duration,
    field: "budgetSec",
    config: z.number().positive(),
    from: seconds,
  }),
  metric: option({
    flag: "--metric <name>",
    help: "metric the training script prints as `<name>: <number>` (asked)",
    ask: { when: "missing", as: "metric", question: "Metric name (the training script prints it as `<name>: <number>`, e.g. val_bpb, val_loss, accuracy)" },
    schema: z.string().regex(METRIC_NAME, "letters, digits, _ . - / only"),
    field: "metric",
    config: z.string().regex(METRIC_NAME, "letters, digits, _ . - / only"),
    from: text,
  }),
  direction: option({
    flag: "--direction <min|max>",
    help: "whether lower (min) or higher (max) is better (asked)",
    ask: {
      when: "missing",
      as: "direction",
      question: "Should {metric} be minimized or maximized?",
      choices: [
        { value: "min", hint: "lower is better: loss, bpb, perplexity, error" },
        { value: "max", hint: "higher is better: accuracy, F1, score" },
      ],
    },
    schema: z.enum(["min", "max"]),
    field: "direction",
    config: z.enum(["min", "max"]),
    from: (v) => v as Direction,
  }),
  maxIterations: option({
    flag: "--max-iterations <n>",
    help: "experiments after the baseline, or 'unlimited' (default: unlimited)",
    ask: { when: "init", as: "text", question: "Max iterations (experiments after the baseline, or unlimited)", prefill: "unlimited" },
    schema: z.union([z.number().int().min(0), z.literal("unlimited"), z.string().regex(/^(\d+|unlimited)$/, "a whole number or 'unlimited'")]),
    field: "maxIterations",
    config: z.number().int().min(0).nullable(),
    from: (v) => (v === "unlimited" ? null : Number(v)),
    fallback: () => null,
  }),
  scope: option({
    flag: "--scope <list>",
    help: "what may change: some of architecture, hyperparameters, optimizer, training (comma-separated), or all (default: all)",
    ask: { when: "init", as: "scope", question: "Allowed modification scope (all selected = all)" },
    schema: stringList,
    field: "scope",
    config: z.array(z.enum(SCOPES)),
    from: (v) => parseScope(v),
    fallback: () => [...SCOPES],
  }),
  tag: option({
    flag: "--tag <tag>",
    help: "branch tag: the session runs on autoresearch/<tag> (default: date, e.g. nov26)",
    ask: { when: "init", as: "tag", question: "Branch tag (the session runs on autoresearch/<tag>)" },
    schema: z.string(),
    field: "tag",
    // Checked by validateConfig, with a message that names the flag and the rule.
    config: z.string().min(1),
    from: text,
    fallback: (ctx) => dateTag(ctx.now),
  }),
  results: option({
    flag: "--results <path>",
    help: `results file (default: ${DEFAULT_RESULTS_FILE})`,
    ask: { when: "init", as: "text", question: "Results file", empty: "a file name is required" },
    schema: z.string().min(1),
    field: "results",
    config: z.string().min(1),
    from: text,
    fallback: () => DEFAULT_RESULTS_FILE,
  }),
  command: option({
    flag: "--command <cmd>",
    help: "command that runs one experiment (default: from the repo, e.g. `uv run train.py`)",
    ask: { when: "init", as: "command", before: "budget", question: "Command that runs one experiment (its Python must have what the script imports)" },
    schema: z.string().min(1),
    field: "command",
    config: z.string().min(1),
    from: text,
    fallback: (ctx) => defaultCommand(ctx.root, String(ctx.config.train), ctx.platform),
  }),
  timeout: option({
    flag: "--timeout <duration>",
    help: "hard timeout per run; the whole process tree is killed (default: 2x budget)",
    ask: { notAsked: "twice the budget unless given" },
    schema: duration,
    field: "timeoutSec",
    config: z.number().positive(),
    from: seconds,
    fallback: (ctx) => Number(ctx.config.budgetSec) * 2,
  }),
  metricPattern: option({
    flag: "--metric-pattern <regex>",
    help: "regex with one capture group to read the metric (default: a line `<metric>: <number>` or `<metric>=<number>`)",
    ask: { notAsked: "only for scripts that do not print `<metric>: <number>`" },
    schema: z.string(),
    field: "metricPattern",
    config: z.string().optional(),
    from: text,
  }),
  proposer: option({
    flag: "--proposer <name>",
    help: `${PROPOSERS.join(" | ")} (default: builtin); ${AGENT_PRESET_NAMES.join(", ")} stand for agent with that --agent`,
    ask: { notAsked: "the builtin search (plan with --plan) unless given; shown in the table" },
    schema: z.enum(PROPOSERS),
    field: "proposer",
    // A library caller may bring its own Proposer and name it here; the CLI takes only PROPOSERS.
    config: z.string().min(1),
    from: text,
    fallback: (ctx) => (ctx.input.plan ? "plan" : "builtin"),
  }),
  seed: option({
    flag: "--seed <n>",
    help: "seed for the builtin search (default: 0)",
    ask: { notAsked: "a reproducibility setting, 0 unless given" },
    schema: z.union([z.number().int(), z.string().regex(/^-?\d+$/, "a whole number")]),
    field: "seed",
    config: z.number().int(),
    from: Number,
    fallback: () => 0,
  }),
  runSeed: option({
    flag: "--run-seed <n>",
    help: "AUTORESEARCH_SEED of each experiment's first run; repeats use the next ones (default: 0)",
    ask: { notAsked: "a reproducibility setting, 0 unless given" },
    schema: z.union([z.number().int(), z.string().regex(/^-?\d+$/, "a whole number")]),
    field: "runSeed",
    config: z.number().int().optional(),
    from: Number,
    fallback: () => 0,
  }),
  baselineRuns: option({
    flag: "--baseline-runs <k>",
    help: "runs of the unmodified baseline; their spread is the noise floor (default: 2; 1 with --keep-rule any is the spec's plain loop)",
    ask: { when: "init", as: "number", question: "Baseline runs (their spread is the noise floor; 2 by default, 1 = the spec's single run)" },
    schema: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, "a positive whole number")]),
    field: "baselineRuns",
    config: z.number().int().positive().optional(),
    from: Number,
    // Noise-aware by default (issue 26): the noise floor is measured from the start.
    fallback: () => DEFAULT_BASELINE_RUNS,
  }),
  keepRule: option({
    flag: "--keep-rule <any|threshold|confirm>",
    help: "confirm (default): a change near the noise floor is re-run beside its parent and kept only when it beats it beyond the noise; any: better by any amount (the spec's rule); threshold: by more than --min-delta",
    ask: {
      when: "init",
      as: "choice",
      question: "Keep rule: confirm keeps only gains beyond the noise; any is the spec's loop",
      choices: [
        { value: "confirm", hint: "re-runs a change near the noise beside its parent" },
        { value: "any", hint: "better by any amount on one run; keeps noise wins" },
        { value: "threshold", hint: "better by more than --min-delta" },
      ],
    },
    schema: z.enum(KEEP_RULES),
    field: "keepRule",
    config: z.enum(KEEP_RULES).optional(),
    from: (v) => v as KeepRuleName,
    fallback: () => DEFAULT_KEEP_RULE,
  }),
  minDelta: option({
    flag: "--min-delta <x>",
    help: "with --keep-rule threshold: the smallest gain kept, absolute or a percent of the best (0.01, 0.5%)",
    ask: KEEP_TUNING,
    schema: z.union([z.number().nonnegative(), z.string().regex(MIN_DELTA, "a number, or a percent such as 0.5%")]),
    field: "minDelta",
    config: z.union([z.number().nonnegative(), z.string()]).optional(),
    from: (v) => (typeof v === "number" ? v : String(v).trim()),
  }),
  confirmRuns: option({
    flag: "--confirm-runs <r>",
    help: `with --keep-rule confirm: the most parent/change pairs of a paired decision (default: ${DEFAULT_PAIRS}); with --pair-band 0, the extra runs of a would-be keep (default: ${DEFAULT_CONFIRM_RUNS})`,
    ask: KEEP_TUNING,
    schema: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, "a positive whole number")]),
    field: "confirmRuns",
    config: z.number().int().positive().optional(),
    from: Number,
    // No fallback: left out, the paired rule takes up to DEFAULT_PAIRS pairs (what the keeps bench
    // measured; 2 lost most real gains under drift) and the unpaired one DEFAULT_CONFIRM_RUNS runs.
  }),
  confidence: option({
    flag: "--confidence <z>",
    help: "with --keep-rule confirm: keep when the mean beats the best by more than Z × the noise floor (default: 2)",
    ask: KEEP_TUNING,
    schema: z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?$/, "a number such as 2")]),
    field: "confidence",
    config: z.number().nonnegative().optional(),
    from: Number,
    fallback: () => DEFAULT_CONFIDENCE,
  }),
  pairBand: option({
    flag: "--pair-band <z>",
    help: "with --keep-rule confirm: a first run within Z × the noise floor of its parent, better or worse, is decided on interleaved parent/change runs (default: --confidence; 0: off)",
    ask: KEEP_TUNING,
    schema: z.union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?$/, "a number such as 2, or 0 to turn pairing off")]),
    field: "pairBand",
    config: z.number().nonnegative().optional(),
    from: Number,
  }),
  check: option({
    flag: "--check <command...>",
    help: "correctness check(s) run on a would-be keep (tests, a held-out eval); a failure discards it; each argument one whole command, quoted: --check \"python3 check.py\" \"pytest -q\"",
    ask: { notAsked: "commands of the user's own, given by flag or config file" },
    schema: stringList,
    field: "checks",
    config: z.array(z.string().min(1)).optional(),
    from: toList,
  }),
  model: option({ flag: "--model <id>", help: "model id for an LLM proposer", schema: z.string().min(1), field: "model", config: z.string().min(1).optional(), from: text, ask: PROPOSER_SETTING }),
  baseUrl: option({ flag: "--base-url <url>", help: "API base URL (openai-compatible servers, gateways)", schema: z.string().url(), field: "baseUrl", config: z.string().optional(), from: text, ask: PROPOSER_SETTING }),
  apiKeyEnv: option({ flag: "--api-key-env <name>", help: "environment variable that holds the API key", schema: envName, field: "apiKeyEnv", config: envName.optional(), from: text, ask: PROPOSER_SETTING }),
  agent: option({
    flag: "--agent <command>",
    help: "coding-agent CLI command or preset: claude, codex, aider, gemini, opencode",
    ask: PROPOSER_SETTING,
    schema: z.string().min(1),
    field: "agent",
    config: z.string().min(1).optional(),
    from: text,
  }),
  openaiApi: option({
    flag: "--openai-api <chat|responses>",
    help: "which OpenAI API the openai proposer calls (default: responses)",
    ask: PROPOSER_SETTING,
    schema: z.enum(["chat", "responses"]),
    field: "openaiApi",
    config: z.enum(["chat", "responses"]).optional(),
    from: (v) => v as "chat" | "responses",
  }),
  prices: option({
    flag: "--prices <file>",
    help: 'JSON price table overriding the built-in one: {"model-prefix": {"input": usd_per_M, "output": usd_per_M}}',
    ask: PROPOSER_SETTING,
    schema: z.string().min(1),
    field: "prices",
    config: z.string().min(1).optional(),
    from: text,
  }),
  agentTimeout: option({
    flag: "--agent-timeout <duration>",
    help: "how long a coding agent may take for one proposal (default: 15m)",
    ask: PROPOSER_SETTING,
    schema: duration,
    field: "agentTimeoutSec",
    config: z.number().positive().optional(),
    from: seconds,
  }),
  plan: option({ flag: "--plan <file>", help: "plan.jsonl: one proposal per line, run in order (proposer 'plan')", schema: z.string().min(1), field: "plan", config: z.string().min(1).optional(), from: text, ask: { notAsked: "given with --proposer plan" } }),
  hypothesis: option({ flag: "--hypothesis <text>", help: "direction for the first iterations (read by the LLM and agent proposers only)", schema: z.string(), field: "hypothesis", config: z.string().optional(), from: text, ask: { notAsked: "free text for the first iterations, given by flag when wanted" } }),
  stopWhen: option({
    flag: "--stop-when <condition>",
    help: "stop when the best metric meets it, e.g. 'val_bpb <= 0.97'",
    ask: STOP_SETTING,
    schema: z.string().regex(STOP_CONDITION, "'<metric> <= <number>' (or >=, <, >)"),
    field: "stopWhen",
    config: z.string().optional(),
    from: text,
  }),
  maxTime: option({ flag: "--max-time <duration>", help: "stop after this much wall time from each start (run or resume), e.g. 8h", schema: duration, field: "maxTimeSec", config: z.number().positive().optional(), from: seconds, ask: STOP_SETTING }),
  maxCost: option({
    flag: "--max-cost <usd>",
    help: "stop when the proposer has cost this many US dollars",
    ask: STOP_SETTING,
    // A flag's text: a number above 0 (0 passed the pattern and was refused later under the config key's name).
    schema: z.union([z.number().positive(), z.string().regex(/^(?=[\d.]*[1-9])\d+(\.\d+)?$/, "a positive number")]),
    field: "maxCostUsd",
    config: z.number().positive().optional(),
    from: Number,
  }),
  passEnv: option({
    flag: "--pass-env <name...>",
    help: "environment variable(s) the run gets although their names look like secrets (e.g. WANDB_API_KEY)",
    ask: { notAsked: "an exception to the secret filter, given explicitly" },
    schema: z.union([envName, z.array(envName)]),
    field: "passEnv",
    config: z.array(envName).optional(),
    from: toList,
  }),
  share: option({
    flag: "--share <path...>",
    help: "untracked path(s) of your checkout to link (never copy) into the experiment clone, besides .venv, venv, data, node_modules; --no-share links nothing",
    ask: { notAsked: "the usual paths (.venv, data, ...) are shared by default; more by flag or config file" },
    schema: z.union([z.literal(false), sharePath, z.array(sharePath)]),
    field: "share",
    config: z.union([z.literal(false), z.array(z.string().min(1))]).optional(),
    from: (v) => (v === false ? false : toList(v)),
  }),
  // Not asked: auto is right wherever a sandbox runs; off is for a run that must write outside its clone.
  sandbox: option({
    flag: "--sandbox <mode>",
    help: "confine each run so it can write only its working tree: auto (bubblewrap on Linux, sandbox-exec on macOS, where they run), bwrap (required), off (default: auto)",
    schema: z.enum(SANDBOX_MODES),
    field: "sandbox",
    ask: { notAsked: "auto is right wherever a sandbox runs; the table shows the protection in force" },
    config: z.enum(SANDBOX_MODES).optional(),
    from: (v) => v as SandboxMode,
    fallback: () => "auto" as const,
  }),
  notify: option({
    flag: "--notify <url>",
    help: "POST a JSON message (Slack-compatible `text`) on a new best, a crash streak and at the end; the URL is a credential, shown redacted",
    ask: { notAsked: "a webhook URL is a credential, given explicitly" },
    schema: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//i.test(url), "an http(s) URL"),
    field: "notify",
    config: z.string().optional(),
    from: text,
  }),
  workers: option({
    flag: "--workers <n>",
    help: "experiments run at the same time, each in its own clone on its own device; 'auto': one per visible GPU (default: one per --devices entry, else 1)",
    ask: { when: "init", as: "workers", question: "Workers: experiments run at the same time, one GPU each ({gpus} GPUs detected; 1 = one at a time)" },
    schema: z.union([z.number().int().positive(), z.literal("auto"), z.string().regex(/^([1-9]\d*|auto)$/, "a positive whole number or 'auto'")]),
    field: "workers",
    config: z.union([z.number().int().positive(), z.literal("auto")]).optional(),
    from: (v) => (v === "auto" ? ("auto" as const) : Number(v)),
    // One worker per device named with --devices (README: "unless --workers asks for fewer"), else one.
    fallback: (ctx) => (ctx.input.devices === undefined ? 1 : Math.max(1, hostList(ctx.input.devices).length)),
  }),
  devices: option({
    flag: "--devices <list>",
    help: "devices the workers use, one per worker, e.g. 0,1,2,3 (exported as CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES; default: the visible GPUs)",
    ask: { notAsked: "the visible GPUs unless given; init asks the workers instead" },
    schema: stringList.refine((v) => devicesProblem(hostList(v)) === null, { error: (issue) => devicesProblem(hostList(issue.input)) ?? "" }),
    field: "devices",
    config: z
      .array(z.string())
      .min(1)
      .refine((v) => devicesProblem(v) === null, { error: (issue) => devicesProblem(issue.input as string[]) ?? "" })
      .optional(),
    from: hostList,
  }),
  lookahead: option({
    flag: "--lookahead <n>",
    help: "proposals made ahead while runs train, 0 = none (default: the number of workers; 0 for the builtin proposer with several workers in a tree, and for a plan with one worker)",
    ask: { notAsked: "the number of workers unless given" },
    schema: z.union([z.number().int().min(0), z.string().regex(/^\d+$/, "a whole number")]),
    field: "lookahead",
    config: z.number().int().min(0).optional(),
    from: Number,
  }),
  search: option({
    flag: "--search <tree|chain>",
    help: "tree: every run is a node decided against its parent, winners combine (default); chain: one chain of keeps, a stale winner re-run on the new best",
    schema: z.enum(SEARCH_MODES),
    field: "search",
    ask: { notAsked: "the tree is right for one worker and many; chain only to compare with the older search" },
    config: z.enum(SEARCH_MODES).optional(),
    from: (v) => v as SearchMode,
    fallback: () => "tree" as const,
  }),
  stagnation: option({
    flag: "--stagnation <n>",
    help: "children of the best in a row without a keep before proposals may build on other strong nodes (default: 2 x workers, at least 2)",
    schema: z.union([z.number().int().min(1), z.string().regex(/^\d+$/, "a whole number")]),
    field: "stagnation",
    ask: { notAsked: "tuning of the tree search; the default follows the number of workers" },
    config: z.number().int().min(1).optional(),
    from: Number,
  }),
  executor: option({
    flag: "--executor <kind>",
    help: "where runs happen: local, slurm (sbatch from the clone) or ssh (--hosts) (default: local)",
    ask: EXECUTOR_SETTING,
    schema: z.enum(EXECUTORS),
    field: "executor",
    config: z.enum(EXECUTORS).optional(),
    from: (v) => v as ExecutorKind,
    fallback: () => "local" as const,
  }),
  slurmArgs: option({
    flag: "--slurm-args <args>",
    help: "sbatch options for every job, e.g. \"--partition=gpu --gres=gpu:1 --account=x\" (executor slurm)",
    ask: EXECUTOR_SETTING,
    schema: z.string(),
    field: "slurmArgs",
    config: z.string().optional(),
    from: text,
  }),
  hosts: option({
    flag: "--hosts <list>",
    help: "ssh hosts for executor ssh, with the devices to use on each joined by +, e.g. gpu1,gpu2:0+1 (names from your ssh config work)",
    ask: EXECUTOR_SETTING,
    schema: stringList,
    field: "hosts",
    config: z.array(z.string().min(1)).min(1).optional(),
    from: hostList,
  }),
  remoteDir: option({
    flag: "--remote-dir <path>",
    help: "folder on each ssh host where experiment trees live (default: ~/.cache/autoresearch)",
    ask: EXECUTOR_SETTING,
    schema: z.string().min(1),
    field: "remoteDir",
    config: z.string().min(1).optional(),
    from: text,
  }),
  maxPending: option({
    flag: "--max-pending <duration>",
    help: "a SLURM job still queued after this long is cancelled and recorded as a crash (default: wait; queue time never counts against the timeout)",
    ask: EXECUTOR_SETTING,
    schema: duration,
    field: "maxPendingSec",
    config: z.number().positive().optional(),
    from: seconds,
  }),
  reportEvery: option({
    flag: "--report-every <n>",
    help: "progress report every N experiments (default: 10)",
    ask: { notAsked: "10 unless given; resume may change it" },
    schema: z.union([z.number().int().positive(), z.string().regex(/^[1-9]\d*$/, "a positive whole number")]),
    field: "reportEvery",
    config: z.number().int().positive(),
    from: Number,
    fallback: () => 10,
  }),
};

export type OptionKey = keyof typeof OPTION_DEFS;
type Defs = typeof OPTION_DEFS;

/** autoresearch.config.json: the same keys as the flags; unknown keys are errors. */
export const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    ...(Object.fromEntries(Object.entries(OPTION_DEFS).map(([key, def]) => [key, def.schema.optional()])) as {
      [K in OptionKey]: z.ZodOptional<Defs[K]["schema"]>;
    }),
  })
  .strict();

/** The confirmed research config (Phase 0), as stored in session.json: one field per option. */
export const researchConfigSchema = z.object(
  Object.fromEntries(Object.values(OPTION_DEFS).map((def) => [def.field, def.config])) as {
    [K in OptionKey as Defs[K]["field"]]: Defs[K]["config"];
  },
);

export type ResearchConfig = z.output<typeof researchConfigSchema>;

export type ConfigInput = Partial<Record<OptionKey, unknown>>;

/** Turns the first zod issue list into one line per problem, naming the key. */
export function describeIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      if (issue.code === "unrecognized_keys") return `${source}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      const key = issue.path.join(".") || "(root)";
      return `${source}: "${key}": ${issueText(issue)}`;
    })
    .join("\n");
}

/**
 * A schema issue in the user's words: a value not among a key's choices lists them plainly (zod
 * says `Invalid option: expected one of "min"|"max"`), the proposer's with the coding agents'
 * names it also takes.
 */
export function issueText(issue: z.core.$ZodIssue): string {
  // zod's own words ("Too small: expected number to be >0") said plainly.
  if (issue.code === "too_small" || issue.code === "too_big") {
    const bound = Number(issue.code === "too_small" ? issue.minimum : issue.maximum);
    const side = issue.code === "too_small" ? (issue.inclusive ? "at least" : "more than") : issue.inclusive ? "at most" : "less than";
    if (issue.origin === "number") return `must be ${side} ${bound}`;
    if (issue.origin === "array") return `must list ${side} ${bound} item${bound === 1 ? "" : "s"}`;
    if (issue.origin === "string") return bound === 1 && issue.code === "too_small" ? "must not be empty" : `must be ${side} ${bound} characters long`;
    return issue.message;
  }
  if (issue.code === "invalid_union") {
    // Each alternative's first complaint, a word's as the word itself ("must be a whole number, or unlimited"); the
    // string and null forms left out (a string is the flag's form of a number, null means "none").
    const texts = issue.errors
      .flatMap((branch) => branch.slice(0, 1))
      .filter((i) => !(i.code === "invalid_type" && (i.expected === "null" || i.expected === "string")))
      .map((i) => (i.code === "invalid_value" ? i.values.map(String).join(" or ") : issueText(i)));
    return texts.length > 0 ? [...new Set(texts)].join(", or ") : issue.message;
  }
  if (issue.code === "invalid_type") return `must be ${issue.expected === "int" ? "a whole number" : issue.expected === "array" ? "a list" : `a ${issue.expected}`}`;
  if (issue.code !== "invalid_value") return issue.message;
  const agents = issue.path[0] === "proposer" ? ` (or a coding agent's name: ${AGENT_PRESET_NAMES.join(", ")})` : "";
  return `not one of ${issue.values.map(String).join(", ")}${agents}`;
}

/** The flag as typed, e.g. "--stop-when". */
export function flagName(key: OptionKey): string {
  return OPTION_DEFS[key].flag.split(" ")[0] as string;
}

/**
 * One word for the shell that runs the command: POSIX sh single quotes (a `'` inside becomes
 * `'\''`), cmd.exe double quotes on Windows. Plain names stay as they are.
 */
export function shellQuote(word: string, platform: NodeJS.Platform = process.platform): string {
  if (platform !== "win32") return posixQuote(word);
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/"/g, '""')}"`;
}

export function defaultCommand(root: string, train: string, platform: NodeJS.Platform = process.platform): string {
  const python = platform === "win32" ? "python" : "python3";
  const quoted = shellQuote(train, platform);
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
