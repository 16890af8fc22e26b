import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import { sessionProtection } from "../../executors/registry.js";
import pc from "picocolors";
import { addConfigOptions, addSetupOptions, type GatheredInput, gatherInput } from "../../config/cli-options.js";
import { formatDuration } from "../../config/duration.js";
import { type ConfigInput, configFileSchema, OPTION_DEFS, type OptionKey } from "../../config/options.js";
import { collectConfig } from "../../config/prompts.js";
import { CONFIG_FILE } from "../../file-names.js";
import type { BudgetEdit } from "../../config/readonly-budget.js";
import { UsageError } from "../../errors.js";
import { packagePath } from "../../package-root.js";
import { type DetectedPlatform, detectPlatform, notesFor } from "../../platform/index.js";
import { usesTorch } from "../../platform/adjustments.js";
import { type PlatformInfo, SCOPES } from "../../types.js";
import type { ResearchConfig } from "../../config/options.js";
import { Git } from "../../workspace/git.js";
import { trackedResultsError } from "../../loop/setup.js";

/** Where the schema is in a repo that installed the package locally. */
export const SCHEMA_REF = "./node_modules/autoresearch/schema/autoresearch.config.schema.json";
/** This package's own copy. */
const PACKAGE_SCHEMA = packagePath("schema", "autoresearch.config.schema.json");

/**
 * A `$schema` that resolves from the user's repo, so editors find it: the locally installed
 * package's copy, else this package's copy when it lies inside the repo (a checkout, an example),
 * else none. A path out of the repo (a global install) would break for anyone else who clones it.
 */
export function schemaRef(root: string, packageSchema = PACKAGE_SCHEMA): string | null {
  if (existsSync(join(root, SCHEMA_REF))) return SCHEMA_REF;
  const rel = relative(root, packageSchema);
  if (existsSync(packageSchema) && !rel.startsWith("..") && !isAbsolute(rel)) return `./${rel.split(sep).join("/")}`;
  return null;
}

const PATH_KEYS = ["train", "readonly", "results", "plan", "prices"] as const;
/** Inputs the session only reads: a research-team tool may keep them anywhere (kept absolute there). */
const ANYWHERE_KEYS: readonly string[] = ["plan", "prices"];

export interface InitFlags extends Record<string, unknown> {
  config?: string;
  yes?: boolean;
}

export interface InitDeps {
  cwd?: string;
  now?: Date;
  interactive?: boolean;
  input?: Readable;
  output?: Writable;
  detect?: (command: string, root: string) => Promise<PlatformInfo>;
}

/**
 * Paths typed on the command line are relative to where the user is; stored ones to the repo
 * root. A plan or price file outside the repo stays an absolute path.
 */
function toRepoPath(root: string, cwd: string, path: string, flag: string, anywhere: boolean): string {
  const abs = isAbsolute(path) ? path : join(cwd, path);
  const rel = relative(root, abs);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    if (anywhere) return abs;
    throw new UsageError(`${flag} "${path}": outside the repository ${root}`, "Give a path inside the repo.");
  }
  return rel.split("\\").join("/");
}

export function normaliseFlagPaths(gathered: GatheredInput, root: string, cwd: string): ConfigInput {
  const input = { ...gathered.input };
  for (const key of PATH_KEYS) {
    const value = input[key];
    if (value === undefined || gathered.sources[key] !== "flag") continue;
    const flag = OPTION_DEFS[key].flag.split(" ")[0] as string;
    const anywhere = ANYWHERE_KEYS.includes(key);
    input[key] = Array.isArray(value) ? value.map((v) => toRepoPath(root, cwd, String(v), flag, anywhere)) : toRepoPath(root, cwd, String(value), flag, anywhere);
  }
  return input;
}

/** What init writes: the confirmed values (defaults made explicit) plus the optional keys that were given. */
export function configFileContent(config: ResearchConfig, input: ConfigInput, schema: string | null = null): Record<string, unknown> {
  const content: Record<string, unknown> = {
    ...(schema !== null && { $schema: schema }),
    train: config.train,
    readonly: config.readonly,
    budget: formatDuration(config.budgetSec),
    metric: config.metric,
    direction: config.direction,
    maxIterations: config.maxIterations ?? "unlimited",
    scope: SCOPES.every((s) => config.scope.includes(s)) ? "all" : config.scope,
    tag: config.tag,
    results: config.results,
    command: config.command,
  };
  for (const key of Object.keys(OPTION_DEFS) as OptionKey[]) {
    if (!(key in content) && input[key] !== undefined) content[key] = input[key];
  }
  return content;
}

/**
 * Applies the read-only TIME_BUDGET updates the user chose, as ONE setup commit (before any
 * hashes are taken). Everything is checked before anything changes.
 */
export async function applyBudgetEdits(edits: readonly BudgetEdit[], root: string, git: Git | null, out: Writable = process.stdout): Promise<string | null> {
  if (edits.length === 0) return null;
  if (!git) throw new UsageError("not a git repository: the TIME_BUDGET update cannot be a setup commit", "Run `git init` and commit first, or keep the script's budget.");
  for (const edit of edits) {
    if ((await git.trackedChanges([edit.path])).length > 0) throw new UsageError(`${edit.path} has uncommitted changes: nothing was changed`, "Commit them first, then run init again.");
  }
  for (const edit of edits) writeFileSync(join(root, edit.path), edit.after);
  const paths = edits.map((e) => e.path);
  const message = edits[0]?.message as string;
  const sha = await git.commitPaths(paths, message);
  out.write(`${pc.green("✓")} setup commit ${sha.slice(0, 7)}: ${message} (${paths.join(", ")})\n`);
  return sha;
}

export async function initCommand(flags: InitFlags, deps: InitDeps = {}): Promise<number> {
  const cwd = deps.cwd ?? process.cwd();
  const out = deps.output ?? process.stdout;
  const probe = new Git(cwd);
  // Before any question: the answers would be lost, `run` cannot start outside a repository.
  if (!(await probe.isRepo().catch(() => false))) {
    throw new UsageError(`${cwd} is not a git repository: nothing was asked or written`, "Run init in the repository of the training script, or make one first: git init && git add -A && git commit -m init");
  }
  const root = await probe.topLevel();
  const git = new Git(root);
  const gathered = gatherInput(flags, { root, cwd });
  const input = normaliseFlagPaths(gathered, root, cwd);
  const interactive = deps.interactive ?? Boolean(process.stdin.isTTY && process.stdout.isTTY);
  let detected: PlatformInfo | null = null;
  const result = await collectConfig(input, {
    root,
    protectionOf: (config) => sessionProtection(config),
    now: deps.now ?? new Date(),
    interactive,
    yes: Boolean(flags.yes),
    askAll: true,
    prefill: (Object.keys(gathered.sources) as OptionKey[]).filter((k) => gathered.sources[k] === "repo"),
    platform: async (command) => {
      detected = await (deps.detect ? deps.detect(command, root) : detectPlatform({ command, root }));
      return detected;
    },
    confirmMessage: `Write ${CONFIG_FILE} with this config?`,
    ...(deps.input && { input: deps.input }),
    output: out,
  });
  // A config `run` would refuse is not written (run's other checks are on the repository as it will be then).
  if ((await git.trackedAmong([result.config.results])).has(result.config.results)) throw trackedResultsError(result.config.results);
  const content = configFileContent(result.config, result.input, schemaRef(root));
  const check = configFileSchema.safeParse(content);
  if (!check.success) throw new UsageError(`internal: the config to write does not match the schema: ${check.error.message}`);
  await applyBudgetEdits(result.budgetEdits, root, git, out);
  const target = join(root, CONFIG_FILE);
  const existed = existsSync(target);
  writeFileSync(target, `${JSON.stringify(content, null, 2)}\n`);
  // Asked interactively, the probe's notes were shown with the platform, before the table.
  const notes = interactive ? [] : notesFor(detected as DetectedPlatform | null, usesTorch(readFileSync(join(root, result.config.train), "utf8")));
  for (const note of notes) out.write(`${pc.dim(`  platform: ${note}`)}\n`);
  out.write(`${pc.green("✓")} ${existed ? "updated" : "wrote"} ${relative(cwd, target) || CONFIG_FILE}. Start the session with: autoresearch run\n`);
  return 0;
}

export function registerInit(program: Command): void {
  const command = program
    .command("init")
    .description(`ask for the research config, show it as a table, confirm, write ${CONFIG_FILE}`);
  addConfigOptions(command);
  addSetupOptions(command);
  command
    .addHelpText(
      "after",
      `
The time budget, the metric and its direction are always asked (never assumed) unless given as flags or in a config file. Without a terminal, a missing one is an error (exit 2) that names the flag and the config key; --yes confirms the table without asking.
Precedence: flags > --config file > ${CONFIG_FILE} in the repo > defaults.

Examples:
  $ autoresearch init
  $ autoresearch init --budget 5m --metric val_bpb --direction min --yes
  $ autoresearch init --config research-config.json --yes  # a team's settings`,
    )
    .action(async (flags: InitFlags) => {
      process.exitCode = await initCommand(flags);
    });
}
