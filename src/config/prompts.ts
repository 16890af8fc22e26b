/**
 * Setting up: collect the research config, show the spec's config table, get explicit
 * confirmation. The time budget and the metric with its direction are always asked (never
 * assumed) unless given by flag or config file; without a terminal a missing one is exit 2.
 */
import type { Protection } from "../sandbox/index.js";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import * as p from "@clack/prompts";
import pc from "picocolors";
import { AutoresearchError, Interrupted, UsageError } from "../errors.js";
import { describeDirection, guessDirection, isQualityMetricName } from "../metric/index.js";
import { usesTorch } from "../platform/adjustments.js";
import { notesFor } from "../platform/detect.js";
import { pythonForCommand } from "../platform/command.js";
import { type CommandCandidate, suggestCommand } from "../platform/suggest-command.js";
import { type PlatformInfo, SCOPES, type Scope } from "../types.js";
import { Git } from "../workspace/git.js";
import { DURATION_HELP, formatDuration, parseDuration } from "./duration.js";
import { type Ask, type AskAs, type ConfigInput, OPTION_DEFS, type OptionKey, type ResearchConfig } from "./options.js";
import { type BudgetEdit, budgetConflicts, budgetEdit, describeConflict } from "./readonly-budget.js";
import { type CheckedConfig, defaultCommand, missingMessage, missingRequired, parseScope, resolveChecked } from "./resolve.js";
import { platformText, renderConfigTable } from "./table.js";
import { dateTag, tagProblem } from "./tag.js";
import { researchBranch } from "../workspace/branch-names.js";
import { columnsOf, fitWidth } from "../text.js";

export interface CollectOptions {
  root: string;
  now: Date;
  /** A person at a terminal can be asked (stdin and stdout are TTYs). */
  interactive: boolean;
  /** --yes: confirm the table without asking; values the spec says to ask for are still asked. */
  yes: boolean;
  /** The platform, or a function that detects it for the experiment command. */
  platform: PlatformInfo | ((command: string) => Promise<PlatformInfo>);
  /** init: also ask the optional settings, defaults prefilled. run: ask only the required ones. */
  askAll?: boolean;
  /** Keys whose values came from the repo's own autoresearch.config.json: with askAll they are prefilled, not taken as given. */
  prefill?: readonly OptionKey[];
  /** Shown at the confirmation; default "Use this config?". */
  confirmMessage?: string;
  os?: NodeJS.Platform;
  /** The protection the config's runs would get (the executors know; the config table shows it). */
  protectionOf?: (config: ResearchConfig) => Protection;
  /** Finds the commands to suggest (default suggestCommand: probes the repo's interpreters). */
  suggestCommand?: typeof suggestCommand;
  /** For tests: where prompts read keys and write. Default process.stdin / process.stdout. */
  input?: Readable;
  output?: Writable;
}

export interface CollectResult {
  config: ResearchConfig;
  /** The config with the result of its one check, to pass down to research() unchanged. */
  checked: CheckedConfig;
  platform: PlatformInfo;
  /** The final input values (flags, files, answers), as a config file would hold them. */
  input: ConfigInput;
  /** Read-only TIME_BUDGET updates the user chose: apply as one setup commit before any hashes are taken. */
  budgetEdits: BudgetEdit[];
  /** Said to the user already; kept for session records. */
  warnings: string[];
  table: string;
}

// ------------------------------------------------------------------------------------------
// Metric names found in the scripts
// ------------------------------------------------------------------------------------------

export interface MetricCandidate {
  name: string;
  file: string;
}

const NAME = String.raw`[A-Za-z_][\w.\-/]*`;
// `val_bpb: {x}` (f-string), `val_bpb: ${x}` (template), `val_bpb: %.4f` (printf), `print("val_bpb:", x)`.
const PRINTED = [
  new RegExp(String.raw`(?<![\w.\-/])(${NAME}):\s*(?:\{|\$\{|%[-+ #0-9.]*[dfgeisr])`, "g"),
  new RegExp(String.raw`["'\x60]\s*(${NAME}):\s*["'\x60]`, "g"),
];

function words(name: string): string[] {
  return name.split(/[_.\-/]+/).filter(Boolean);
}

/** Metric-like names the scripts print as `<name>: <value>`, validation/eval ones first. */
export function findMetricNames(files: { path: string; text: string }[]): MetricCandidate[] {
  const found = new Map<string, { file: string; order: number; score: number }>();
  let order = 0;
  for (const { path, text } of files) {
    for (const pattern of PRINTED) {
      for (const match of text.matchAll(pattern)) {
        const name = (match[1] as string).replace(/[.\-/]+$/, "");
        if (!isQualityMetricName(name) || found.has(name)) continue;
        const at = (match.index ?? 0) + match[0].indexOf(match[1] as string);
        // Names that start a printed string (a summary line like `val_bpb: 0.99`) rank higher.
        const startsString = /["'`]\s*$/.test(text.slice(Math.max(0, at - 3), at));
        const score = (words(name).some((w) => /^(val|valid|validation|eval|test|dev)$/i.test(w)) ? 2 : 0) + (startsString ? 1 : 0);
        found.set(name, { file: path, order: order++, score });
      }
    }
  }
  return [...found.entries()].sort((a, b) => b[1].score - a[1].score || a[1].order - b[1].order).map(([name, v]) => ({ name, file: v.file }));
}

// ------------------------------------------------------------------------------------------
// Paths and tags
// ------------------------------------------------------------------------------------------

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Checks the paths of a resolved config; every problem names the value and the flag. */
export function checkPaths(config: ResearchConfig, root: string, given: ConfigInput = {}): void {
  const problems: string[] = [];
  const defaulted = (key: OptionKey) => (given[key] === undefined ? " (the default)" : "");
  // Paths outside the repository were refused by validateConfig already.
  if (!isFile(join(root, config.train))) problems.push(`--train "${config.train}"${defaulted("train")}: no such file in ${root}`);
  for (const path of config.readonly) {
    if (!isFile(join(root, path))) problems.push(`--readonly "${path}"${defaulted("readonly")}: no such file in ${root}`);
    else if (path === config.train) problems.push(`--readonly "${path}": it is also the training script, the one file that may change`);
  }
  if (config.results === config.train || config.readonly.includes(config.results)) problems.push(`--results "${config.results}": it is a script of the session`);
  else if (existsSync(join(root, config.results)) && !isFile(join(root, config.results))) problems.push(`--results "${config.results}": is a directory`);
  if (problems.length > 0) {
    throw new UsageError(problems.join("\n"), 'Paths are relative to the repository root: --train <file> (config key "train"), --readonly <file...> ("readonly", [] for none), --results <file> ("results").');
  }
}

/** Paths given by flag or file are checked before anything is asked. */
function checkGivenPaths(values: ConfigInput, root: string): void {
  const problems: string[] = [];
  if (values.train !== undefined && !isFile(join(root, String(values.train)))) problems.push(`--train "${values.train}": no such file in ${root}`);
  if (values.readonly !== undefined) {
    for (const path of ([] as string[]).concat(values.readonly as string | string[])) {
      if (!isFile(join(root, path))) problems.push(`--readonly "${path}": no such file in ${root}`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join("\n"), "Give an existing file: --train <file> is the script the tool may modify, --readonly <file...> the ones it must never touch (config-file paths are relative to the repository root).");
}

/** The date tag (e.g. "nov26"), or "nov26-2", "nov26-3" ... when that branch exists already. */
export async function unusedTag(root: string, now: Date): Promise<string> {
  const base = dateTag(now);
  const git = new Git(root);
  if (!(await git.isRepo().catch(() => false))) return base;
  for (let n = 1; n < 1000; n++) {
    const tag = n === 1 ? base : `${base}-${n}`;
    if (!(await git.branchExists(researchBranch(tag)))) return tag;
  }
  return base;
}

// ------------------------------------------------------------------------------------------
// The flow
// ------------------------------------------------------------------------------------------

function cancelled<T>(value: T): Exclude<T, symbol> {
  if (p.isCancel(value)) throw new Interrupted("cancelled at the prompt: nothing was written");
  return value as Exclude<T, symbol>;
}

type Io = { input: Readable | undefined; output: Writable | undefined };

/**
 * A text prompt whose default is shown as a default (dimmed, as a placeholder): typing replaces
 * it and Enter on an empty line keeps it. Validated as submitted, the default when empty.
 */
/**
 * clack's log lines and text questions are not broken to the terminal's width (a line the terminal
 * breaks loses the guide bar on the left): they are broken here, room left for the bar and its spaces.
 */
const GUIDE = 3;
function fitted(io: Io, text: string): string {
  const width = columnsOf(io.output ?? process.stdout);
  return fitWidth(text, width === undefined ? undefined : width - GUIDE);
}
const log = {
  info: (text: string, io: Io) => p.log.info(fitted(io, text), io),
  warn: (text: string, io: Io) => p.log.warn(fitted(io, text), io),
  step: (text: string, io: Io) => p.log.step(fitted(io, text), io),
};

async function textWithDefault(io: Io, message: string, fallback: string | undefined, validate: (value: string) => string | undefined | Promise<string | undefined>): Promise<string> {
  const answer = await p.text({
    ...io,
    // A question's own lines after the first carry the guide bar (clack draws it on the first only).
    message: fitted(io, message).split("\n").join(`\n${pc.gray("│")}  `),
    ...(fallback && { placeholder: fallback, defaultValue: fallback }),
    validate: (v) => validate((v ?? "").trim() || (fallback ?? "")),
  });
  return cancelled(answer).trim() || (fallback ?? "");
}

function schemaError(key: OptionKey, value: unknown): string | undefined {
  const parsed = OPTION_DEFS[key].schema.safeParse(value);
  return parsed.success ? undefined : `"${String(value)}": ${parsed.error.issues[0]?.message ?? "invalid"}`;
}

function readText(root: string, path: string): string {
  try {
    return readFileSync(join(root, path), "utf8");
  } catch {
    return "";
  }
}

function candidatesFor(root: string, pattern: RegExp): string[] {
  try {
    return readdirSync(root).filter((f) => pattern.test(f) && isFile(join(root, f))).sort();
  } catch {
    return [];
  }
}

// ------------------------------------------------------------------------------------------
// The questions, generated from the option table
// ------------------------------------------------------------------------------------------

type Asked = Extract<Ask, { as: AskAs }>;

/** One init question: an option of the table and how it is asked. */
export interface Question {
  key: OptionKey;
  ask: Asked;
}

/** What the questions share while the config is collected. */
interface Asking {
  values: ConfigInput;
  opts: CollectOptions;
  io: Io;
  /** The option's default from the table, as resolveConfig would apply it (a list for list options). */
  preset: (key: OptionKey) => unknown[];
  /** The platform of the experiment command; detection starts on the first call and runs once. */
  platform: () => Promise<PlatformInfo>;
  warn: (message: string) => void;
}

/** Asks one question (when `asking`); a few also act when not asked: the tag gets its default, the workers their note. */
type Asker = (question: Question, asking: boolean, at: Asking) => Promise<void>;

const ASKERS: Record<AskAs, Asker> = {
  async script({ key, ask }, asking, { values, opts, io, preset, platform }) {
    if (asking) {
      const preferred = String(preset(key)[0]);
      const fallback = isFile(join(opts.root, preferred)) ? preferred : (candidatesFor(opts.root, /^train.*\.(py|m?js|ts)$/)[0] ?? preferred);
      values[key] = await textWithDefault(io, ask.question, String(values[key] ?? fallback), (v) => (v && isFile(join(opts.root, v)) ? undefined : `"${v}": no such file in ${opts.root}`));
    }
    // The command, hence the platform, follows from the training script: detection starts now
    // and runs while the next questions are answered. Its failures fall back inside detectPlatform.
    platform().catch(() => {});
  },

  async scripts({ key, ask }, asking, { values, opts, io, preset }) {
    if (!asking) return;
    const train = String(values.train ?? preset("train")[0]);
    const defaults = preset(key).map(String);
    const current = values[key] === undefined ? null : ([] as string[]).concat(values[key] as string | string[]);
    const fallback = defaults.every((f) => isFile(join(opts.root, f))) ? defaults : candidatesFor(opts.root, /^prepare.*\.(py|m?js|ts)$/);
    // Enter keeps the default, so "none" is how to say none when there is a default.
    const toList = (v: string) => (/^none$/i.test(v) ? [] : v.split(",").map((s) => s.trim()).filter(Boolean));
    const answer = await textWithDefault(io, ask.question, (current ?? fallback).join(", "), (v) => {
      const list = toList(v);
      const bad = list.find((f) => !isFile(join(opts.root, f)));
      if (bad) return `"${bad}": no such file in ${opts.root}`;
      if (list.includes(train)) return "the training script cannot also be read-only";
      return undefined;
    });
    values[key] = toList(answer);
  },

  // What the repo suggests (a .venv, uv, the interpreter that imports torch), then the platform
  // probed with the answer: a command whose Python lacks the torch the script imports is said
  // to fail, and asked again unless the user keeps it.
  async command({ key, ask }, asking, { values, opts, io, preset, platform, warn }) {
    if (!asking) return;
    const train = String(values.train ?? preset("train")[0]);
    const torch = usesTorch(readText(opts.root, train));
    let suggestion = String(values[key] ?? defaultCommand(opts.root, train, opts.os ?? process.platform));
    if (values[key] === undefined && /\.py$/.test(train)) {
      log.step(torch ? "Looking for the project's Python (and which one imports torch) ..." : "Looking for the project's Python ...", io);
      const found = await (opts.suggestCommand ?? suggestCommand)({ root: opts.root, train, fallback: suggestion, torch, os: opts.os ?? process.platform });
      suggestion = found.suggested.command;
      const torchText = (c: CommandCandidate) => (c.torch === undefined ? "" : c.torch === null ? ", no torch" : `, torch ${c.torch}`);
      log.info(`Found: ${found.candidates.map((c) => `${c.command} (${c.why}${torchText(c)})`).join("; ")}`, io);
    }
    for (;;) {
      // The note about Python is for a Python script only (a Node or shell script has none).
      const question = /\.py$/.test(train) ? ask.question : ask.question.replace(/ \(its Python[^)]*\)$/, "");
      const answer = await textWithDefault(io, question, suggestion, (v) => (v ? undefined : "a command is required"));
      values[key] = answer;
      if (!torch) return;
      const detected = await platform();
      const python = pythonForCommand(answer, opts.os ?? process.platform);
      if (python === null || detected.torch !== null) return;
      warn(`torch is not installed in ${python.display}, but ${train} imports it: every run of \`${answer}\` would fail`);
      const retry = cancelled(
        await p.select<boolean>({
          ...io,
          message: "What should happen?",
          options: [
            { value: true, label: "Enter another command", hint: "the project's own environment, e.g. .venv/bin/python or uv run" },
            { value: false, label: "Keep it", hint: "torch gets installed there before the session starts" },
          ],
          initialValue: true,
        }),
      );
      if (!retry) return;
      suggestion = answer;
    }
  },

  async duration({ key, ask }, asking, { values, opts, io, platform, preset }) {
    if (!asking) return;
    // The platform decides the budget advice (CPU: shorter budgets).
    log.step("Detecting the platform (the command's Python, torch, GPU) ...", io);
    const detected = await platform();
    // What the probe noted, here (before the table), and only what concerns this script.
    const notes = notesFor(detected, usesTorch(readText(opts.root, String(values.train ?? preset("train")[0]))));
    log.info([`Platform: ${platformText(detected)}`, ...notes.map((note) => pc.dim(note))].join("\n"), io);
    if (detected.kind === "cpu") log.warn("CPU only: runs are 5-10x slower than on a GPU, so prefer a short time budget (a few minutes) and a small model.", io);
    // No example as a placeholder: it would look like a default that Enter then refuses. Only
    // the repo's own config offers one, and only a value that is accepted.
    const given = values[key] !== undefined && parseDuration(values[key] as string | number) !== null ? String(values[key]) : undefined;
    values[key] = await textWithDefault(io, ask.question, given, (v) => {
      if (!v) return `a time budget is required: ${DURATION_HELP}`;
      return parseDuration(v) === null ? `"${v}" is not ${DURATION_HELP}` : undefined;
    });
  },

  // Names the scripts print are offered.
  async metric({ key, ask }, asking, { values, opts, io, preset }) {
    if (!asking) return;
    const train = String(values.train ?? preset("train")[0]);
    const readonlyList = values.readonly === undefined ? preset("readonly").map(String) : ([] as string[]).concat(values.readonly as string | string[]);
    const candidates = findMetricNames([train, ...readonlyList].map((path) => ({ path, text: readText(opts.root, path) })));
    const OTHER = "\0other";
    let metric: string | undefined;
    if (candidates.length > 0) {
      const choice = cancelled(
        await p.select<string>({
          ...io,
          message: "Which metric should the loop optimize?",
          options: [...candidates.map((c) => ({ value: c.name, label: c.name, hint: `printed by ${c.file}` })), { value: OTHER, label: "another name ..." }],
          ...(values[key] !== undefined && candidates.some((c) => c.name === values[key]) && { initialValue: String(values[key]) }),
        }),
      );
      if (choice !== OTHER) metric = choice;
    }
    if (metric === undefined) {
      const given = values[key] !== undefined && schemaError(key, values[key]) === undefined ? String(values[key]) : undefined;
      metric = await textWithDefault(io, ask.question, given, (v) => (!v ? "a metric name is required" : schemaError(key, v)));
    }
    values[key] = metric;
  },

  // Guessed from the metric's name.
  async direction({ key, ask }, asking, { values, io }) {
    if (!asking) return;
    const metric = String(values.metric);
    const guess = (values[key] as "min" | "max" | undefined) ?? guessDirection(metric) ?? "min";
    values[key] = cancelled(await p.select<string>({ ...io, message: ask.question.replace("{metric}", metric), options: choiceOptions(ask), initialValue: guess }));
  },

  async text({ key, ask }, asking, at) {
    if (asking) at.values[key] = await askText({ key, ask }, at);
  },

  async number({ key, ask }, asking, at) {
    if (asking) at.values[key] = Number(await askText({ key, ask }, at));
  },

  async choice({ key, ask }, asking, { values, io, preset }) {
    if (!asking) return;
    values[key] = cancelled(await p.select<string>({ ...io, message: ask.question, options: choiceOptions(ask), initialValue: String(values[key] ?? preset(key)[0]) }));
  },

  async scope({ key, ask }, asking, { values, io }) {
    if (!asking) return;
    const current = values[key] === undefined ? [...SCOPES] : parseScope(values[key]);
    const chosen = cancelled(
      await p.multiselect<Scope>({
        ...io,
        message: ask.question,
        options: SCOPES.map((s) => ({ value: s, label: s })),
        initialValues: current,
        required: true,
      }),
    );
    values[key] = chosen.length === SCOPES.length ? "all" : chosen;
  },

  // Not asked, it is still chosen here: the date tag, or the next one free when its branch exists.
  async tag({ key, ask }, asking, { values, opts, io }) {
    if (values[key] !== undefined && !asking) return;
    const fallback = values[key] === undefined ? await unusedTag(opts.root, opts.now) : String(values[key]);
    if (!asking) {
      values[key] = fallback;
      return;
    }
    const git = new Git(opts.root);
    const isRepo = await git.isRepo().catch(() => false);
    values[key] = await textWithDefault(io, ask.question, fallback, async (tag) => {
      const problem = tagProblem(tag);
      if (problem) return `"${tag}": ${problem}`;
      if (isRepo && (await git.branchExists(researchBranch(tag)))) return `${researchBranch(tag)} already exists: pick another tag (or continue it with \`autoresearch resume\`)`;
      return undefined;
    });
  },

  // Init only, when several GPUs are detected: the question suggests one per GPU. Without the
  // question (--yes, no terminal) the key keeps its default, 1, and the note says how to use them all.
  async workers({ key, ask }, asking, { values, opts, io, platform, warn }) {
    if (!opts.askAll || (values[key] !== undefined && !asking)) return;
    const detected = await platform();
    const gpus = detected.kind === "cuda" ? (detected.gpuCount ?? 1) : 0;
    if (gpus <= 1) return;
    if (asking) {
      const answer = await textWithDefault(io, ask.question.replace("{gpus}", String(gpus)), String(values[key] ?? gpus), (v) => {
        const invalid = schemaError(key, v);
        if (invalid) return invalid;
        return v !== "auto" && Number(v) > gpus ? `${v} workers but ${gpus} GPUs: at most ${gpus} (or auto)` : undefined;
      });
      values[key] = answer === "auto" ? "auto" : Number(answer);
    } else if (values[key] === undefined) {
      warn(`${gpus} GPUs detected; this session uses 1 worker (--workers ${gpus} or --workers auto runs one experiment per GPU)`);
    }
  },
};

/** A text answer checked by the option's schema; its default prefilled. */
function askText({ key, ask }: Question, { values, io, preset }: Asking): Promise<string> {
  const shown = String(values[key] ?? ask.prefill ?? preset(key)[0]);
  return textWithDefault(io, ask.question, shown, (v) => (v || ask.empty === undefined ? schemaError(key, v) : ask.empty));
}

function choiceOptions(ask: Asked): { value: string; label: string; hint: string }[] {
  return (ask.choices ?? []).map((c) => ({ value: c.value, label: c.value, hint: c.hint }));
}

/**
 * The init questions in table order, and the options of a table that say neither how init asks
 * them nor why it does not (a test keeps that list empty, so no new option is forgotten in init).
 */
export function planQuestions(defs: Readonly<Record<string, { ask?: Ask }>> = OPTION_DEFS): { questions: Question[]; unmarked: string[] } {
  const questions: Question[] = [];
  const unmarked: string[] = [];
  for (const [key, { ask }] of Object.entries(defs)) {
    if (ask && "notAsked" in ask && ask.notAsked.trim() !== "") continue;
    if (ask && "as" in ask && Object.hasOwn(ASKERS, ask.as) && ask.question.trim() !== "") questions.push({ key: key as OptionKey, ask });
    else unmarked.push(key);
  }
  // A question marked `before` moves ahead of the one it names.
  for (const question of questions.filter((q) => q.ask.before !== undefined)) {
    if (!questions.some((q) => q.key === question.ask.before)) continue;
    questions.splice(questions.indexOf(question), 1);
    questions.splice(questions.findIndex((q) => q.key === question.ask.before), 0, question);
  }
  return { questions, unmarked };
}

const QUESTIONS = planQuestions().questions;

export async function collectConfig(given: ConfigInput, opts: CollectOptions): Promise<CollectResult> {
  const values: ConfigInput = { ...given };
  const io = { input: opts.input, output: opts.output };
  const out = opts.output ?? process.stdout;
  const os = opts.os ?? process.platform;
  const interactive = opts.interactive;
  const askAll = Boolean(opts.askAll) && !opts.yes;
  const prefill = new Set(opts.prefill ?? []);
  // Defaults shown in the prompts are the option table's, as resolveConfig would apply them.
  const preset = (key: OptionKey): unknown[] => {
    const value = OPTION_DEFS[key].fallback?.({ root: opts.root, now: opts.now, platform: os, input: values, config: {} }) ?? [];
    return ([] as unknown[]).concat(value);
  };
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    if (interactive) log.warn(message, io);
    else out.write(`warning: ${message}\n`);
  };
  // One detection per command: the command question may change it after detection started.
  const detections = new Map<string, Promise<PlatformInfo>>();
  const platform = (): Promise<PlatformInfo> => {
    const command = String(values.command ?? defaultCommand(opts.root, String(values.train ?? preset("train")[0]), os));
    let detection = detections.get(command);
    if (!detection) {
      detection = typeof opts.platform === "function" ? opts.platform(command) : Promise.resolve(opts.platform);
      detections.set(command, detection);
    }
    return detection;
  };

  // Without a terminal nothing can be asked: name every missing value and where it comes from.
  if (!interactive) {
    const missing = missingRequired(values);
    if (missing.length > 0) throw missingMessage(missing);
  }
  if (values.scope !== undefined) parseScope(values.scope);
  checkGivenPaths(values, opts.root);

  /** Should this value be asked: a required one when missing (or, with init, prefilled from the repo's config); an optional one by init. */
  const shouldAsk = (key: OptionKey) => interactive && (values[key] === undefined || (askAll && prefill.has(key)));
  const askOptional = (key: OptionKey) => interactive && askAll && (values[key] === undefined || prefill.has(key));

  if (interactive) p.intro("autoresearch — research config", io);

  const at: Asking = { values, opts, io, preset, platform, warn };
  for (const question of QUESTIONS) {
    const asking = question.ask.when === "missing" ? shouldAsk(question.key) : askOptional(question.key);
    await ASKERS[question.ask.as](question, asking, at);
  }

  const checked = resolveChecked(values, { root: opts.root, now: opts.now, platform: os });
  const { config } = checked;
  checkPaths(config, opts.root, values);
  const detected = await platform();

  // Point 7: a read-only script that fixes its own TIME_BUDGET.
  const budgetEdits: BudgetEdit[] = [];
  const conflicts = budgetConflicts(opts.root, config.readonly, config.budgetSec);
  if (conflicts.length > 0) {
    for (const c of conflicts) warn(describeConflict(c, config.budgetSec));
    let update = false;
    if (interactive && !opts.yes) {
      update = cancelled(
        await p.select<boolean>({
          ...io,
          message: "The read-only script keeps its own time budget. What should happen?",
          options: [
            { value: true, label: `Update it to ${formatDuration(config.budgetSec)} now`, hint: "one setup commit before the session starts; never changed later" },
            { value: false, label: "Keep it", hint: "the script's own budget rules its runs" },
          ],
          initialValue: false,
        }),
      );
    } else {
      warn("keeping the read-only script's own time budget (it is never changed after setup; run `autoresearch init` in a terminal to update it)");
    }
    if (update) {
      for (const path of [...new Set(conflicts.map((c) => c.path))]) {
        budgetEdits.push(budgetEdit(opts.root, path, conflicts.filter((c) => c.path === path), config.budgetSec));
      }
    }
  }

  // The spec's config table, then explicit confirmation.
  const protection = opts.protectionOf?.(config);
  const script = readText(opts.root, config.train);
  const scriptUsesTorch = usesTorch(script);
  const python = pythonForCommand(config.command, os);
  // Said before the table (and so also with --yes): the runs would fail, whatever the table says.
  if (scriptUsesTorch && detected.torch === null && python !== null && !warnings.some((w) => w.startsWith("torch is not installed"))) {
    warn(`torch is not installed in ${python.display}, but ${config.train} imports it: every run of \`${config.command}\` would fail (give the command of the project's own Python with --command, e.g. ".venv/bin/python ${config.train}" or "uv run ${config.train}")`);
  }
  const tableOptions = { torch: scriptUsesTorch, script, ...(protection && { protection }) };
  const table = renderConfigTable(config, detected, tableOptions);
  // Printed as is (not boxed), so it is the spec's markdown block and can be copied; in a
  // terminal, long values wrapped onto more rows so that no line is wider than the terminal (a
  // line the terminal wraps scrambles the columns). The copy kept with the session is unwrapped.
  const width = columnsOf(out);
  out.write(`\n${width === undefined ? table : renderConfigTable(config, detected, { ...tableOptions, width })}\n`);
  for (const edit of budgetEdits) out.write(`Setup commit: ${edit.message} (${edit.path})\n`);
  if (detected.kind === "cpu" && config.budgetSec > 600) {
    warn(`CPU only: a ${formatDuration(config.budgetSec)} budget per run is long; runs are 5-10x slower than on a GPU, shorter budgets give more experiments per night`);
  }
  // A direction against the metric's name (maximising a loss) keeps every worse result: said before anything runs.
  const named = guessDirection(config.metric);
  if (named && named !== config.direction) {
    warn(`--direction ${config.direction} for ${config.metric}, whose name says ${describeDirection(named)}: a session going the wrong way keeps every worse result (pass --direction ${named} if that is what you mean)`);
  }
  // Only the LLM and agent proposers read a hypothesis (their brief): said, so it is not taken for a steer it is not.
  if (config.hypothesis && (config.proposer === "builtin" || config.proposer === "plan")) {
    warn(`--hypothesis is read by the LLM and agent proposers only: the ${config.proposer === "builtin" ? "builtin search" : "plan"} does not follow it (it stays in the config table, for you)`);
  }

  if (!opts.yes) {
    if (!interactive) {
      throw new UsageError("cannot ask for confirmation without a terminal: nothing was written", "Check the table above and pass --yes to confirm it.");
    }
    const ok = cancelled(await p.confirm({ ...io, message: opts.confirmMessage ?? "Use this config?", initialValue: true }));
    if (!ok) throw new AutoresearchError("config not confirmed: nothing was written", 1, "Run again and change the values, or pass them as flags.");
  }
  if (interactive) p.outro("Config confirmed.", io);
  return { config, checked, platform: detected, input: values, budgetEdits, warnings, table };
}


