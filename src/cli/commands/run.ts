import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { addConfigOptions, flagsToInput } from "../../config/cli-options.js";
import type { ConfigInput } from "../../config/options.js";
import { CONFIG_FILE, loadConfigFile, resolveConfig, validateFlags } from "../../config/resolve.js";
import { repoRelative, validateNewSession } from "../../loop/setup.js";
import { detectPlatform } from "../../platform/index.js";
import { createProposer } from "../../proposers/index.js";
import type { ResearchConfig } from "../../types.js";
import { requireRepo } from "../../workspace/git.js";
import { runSessionCommand } from "../session-command.js";

export interface RunFlags extends Record<string, unknown> {
  config?: string;
  yes?: boolean;
  json?: boolean;
}

/** Config file (given or found in the repo), then flags on top; all validated by one schema. */
export function gatherInput(root: string, cwd: string, flags: RunFlags): ConfigInput {
  const fromFlags = validateFlags(flagsToInput(flags));
  const file = flags.config ? join(cwd, flags.config) : join(root, CONFIG_FILE);
  const fromFile = flags.config || existsSync(file) ? loadConfigFile(file) : {};
  return { ...fromFile, ...fromFlags };
}

/** Paths the user typed (relative to where they are) become repo-relative. */
export function normalisePaths(config: ResearchConfig, root: string, cwd: string): ResearchConfig {
  return {
    ...config,
    train: repoRelative(root, cwd, config.train),
    readonly: config.readonly.map((p) => repoRelative(root, cwd, p)),
    results: repoRelative(root, cwd, config.results),
    ...(config.plan !== undefined && { plan: repoRelative(root, cwd, config.plan) }),
  };
}

export async function runCommand(flags: RunFlags): Promise<number> {
  const cwd = process.cwd();
  const git = await requireRepo(cwd);
  const root = await git.topLevel();
  const input = gatherInput(root, cwd, flags);
  const config = normalisePaths(resolveConfig(input, { root, now: new Date() }), root, cwd);
  if (input.passEnv !== undefined) config.passEnv = ([] as string[]).concat(input.passEnv as string | string[]);
  await validateNewSession(git, root, config);
  const proposer = await createProposer(config, { root, env: process.env });
  const platform = await detectPlatform({ command: config.command, root });
  const { exitCode } = await runSessionCommand({ root, git, proposer, mode: { kind: "new", config, platform }, json: Boolean(flags.json) });
  return exitCode;
}

export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("start a research session: baseline, then propose / commit / run / keep-or-reset until stopped (Phases 1-3)");
  addConfigOptions(command);
  command
    .option("--config <file>", `settings file (default: ${CONFIG_FILE} in the repo, if present)`)
    .option("-y, --yes", "confirm the research config without asking")
    .option("--json", "print NDJSON events instead of the live view")
    .addHelpText(
      "after",
      `
Examples:
  $ autoresearch run --budget 5m --metric val_bpb --direction min
  $ autoresearch run --train train.py --readonly prepare.py --budget 5m --metric val_bpb --direction min \\
      --command "uv run train.py" --max-iterations 20 --proposer builtin --yes
  $ autoresearch run --proposer plan --plan plan.jsonl --budget 90s --metric val_loss --direction min

Stopping: Ctrl-C once finishes the current experiment and writes the summary; twice aborts the run.
Exit codes: 0 done, 1 runtime failure, 2 bad input (nothing changed), 130 stopped by Ctrl-C.`,
    )
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });
}
