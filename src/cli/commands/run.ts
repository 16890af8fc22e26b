import type { Command } from "commander";
import { addConfigOptions, gatherInput } from "../../config/cli-options.js";
import { CONFIG_FILE } from "../../file-names.js";
import type { PlatformInfo } from "../../types.js";
import { detectPlatform } from "../../platform/index.js";
import { probeBwrapAsync } from "../../sandbox/index.js";
import { requireRepo } from "../../workspace/git.js";
import { takeEarlyProbe } from "../early-start.js";

/** What reading the config needs beyond the flags (the prompts, the table, init's helpers): imported while the platform probe starts. */
function configModules() {
  return Promise.all([import("../../config/prompts.js"), import("../../executors/registry.js"), import("./init.js")]);
}

/**
 * What the session needs once its config is settled (the loop, the search, the records, the
 * proposers: about half the modules of `run`), imported while the platform probe runs: the
 * probe waits a tenth of a second or more on the experiment's Python, and this process would
 * otherwise load them only after it, in series.
 */
function sessionModules() {
  return Promise.all([import("../../executors/check-config.js"), import("../../loop/setup.js"), import("../../proposers/index.js"), import("../session-command.js")]);
}

export interface RunFlags extends Record<string, unknown> {
  config?: string;
  yes?: boolean;
  json?: boolean;
  dashboard?: boolean;
}

/**
 * Setting up `run`: settings from flags, --config and the repo's autoresearch.config.json;
 * whatever the spec says to ask is asked (in a terminal) or named as missing (exit 2); the
 * config table is shown and confirmed unless a config written by `init` or --yes confirms it.
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const cwd = process.cwd();
  // The repository's git call first: the modules load while it runs, and the probe below starts
  // as soon as it answers.
  const repo = requireRepo(cwd);
  const git = await repo;
  // requireRepo answers with a Git at the top level.
  const root = git.cwd;
  // A command given with --command is probed now, while the rest of `run` loads; the config's
  // command (the flag wins over the files) takes this probe when it is the same text. The modules
  // are asked for only once it has started: loading them holds this process's one thread, and the
  // git answer and the probe's start would wait for it (a tenth of a second here).
  // The probe bin/autoresearch.js started before the modules loaded is taken when it was for the
  // same command at this top (one for another command is ended there).
  const probe = (command: string): Promise<PlatformInfo> => {
    const probeStarted = takeEarlyProbe(command, root);
    return detectPlatform({ command, root, ...(probeStarted && { probeStarted }) });
  };
  const early = typeof flags.command === "string" ? { command: flags.command, detection: probe(flags.command) } : null;
  early?.detection.catch(() => {});
  const reading = configModules();
  const later = sessionModules();
  // Awaited below; a config refused first must not leave these promises' failures unhandled.
  reading.catch(() => {});
  later.catch(() => {});
  const detect = (command: string): Promise<PlatformInfo> => (early?.command === command ? early.detection : probe(command));
  const [{ collectConfig }, { sessionProtection }, { applyBudgetEdits, normaliseFlagPaths }] = await reading;
  const gathered = gatherInput(flags, { root, cwd });
  const input = normaliseFlagPaths(gathered, root, cwd);
  const json = Boolean(flags.json);
  const output = json ? process.stderr : process.stdout;
  const result = await collectConfig(input, {
    root,
    protectionOf: (config) => sessionProtection(config),
    now: new Date(),
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY) && !json,
    yes: Boolean(flags.yes) || gathered.repoFile !== null,
    // The sandbox probe (a bubblewrap started once) runs beside the Python probe: the table reads
    // its answer right after the platform's.
    platform: async (command) => (await Promise.all([detect(command), probeBwrapAsync()]))[0],
    confirmMessage: "Start the research session with this config?",
    output,
  });
  const [{ checkExecutorConfig }, { validateNewSession }, { createProposer }, { runSessionCommand }] = await later;
  // The setup commit is the one change made before research() checks the session: everything
  // that could refuse it (the branch taken, a dirty tree, another loop) is checked first.
  if (result.budgetEdits.length > 0) {
    checkExecutorConfig(result.config);
    await validateNewSession(git, root, result.config);
  }
  await applyBudgetEdits(result.budgetEdits, root, git, output);
  const config = result.config;
  const proposer = await createProposer(config, { root, env: process.env });
  const { exitCode } = await runSessionCommand({ root, git, proposer, mode: { kind: "new", checked: result.checked, platform: result.platform }, json, dashboard: Boolean(flags.dashboard) });
  return exitCode;
}

export function registerRun(program: Command): void {
  const command = program
    .command("run")
    .description("start a research session: set up and run the baseline, then the loop (propose / commit / run / keep or reset) until it stops, then the summary");
  addConfigOptions(command);
  command
    .option("--config <file>", `settings file (default: ${CONFIG_FILE} in the repo, if present)`)
    .option("-y, --yes", "confirm the research config without asking")
    .option("--json", "print NDJSON events instead of the live view")
    .option("--dashboard", "serve the live dashboard (on 127.0.0.1) while the session runs, and print its URL")
    .addHelpText(
      "after",
      `
Examples:
  $ autoresearch run --budget 5m --metric val_bpb --direction min
  $ autoresearch run --train train.py --readonly prepare.py --budget 5m \\
      --metric val_bpb --direction min --command "uv run train.py" \\
      --max-iterations 20 --proposer builtin --yes
  $ autoresearch run --proposer plan --plan plan.jsonl --budget 90s \\
      --metric val_loss --direction min

Stopping: Ctrl-C once finishes the current experiment and writes the summary; twice aborts the run.
Exit codes: 0 done, 1 runtime failure, 2 bad input (nothing changed), 130 stopped by Ctrl-C.`,
    )
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });
}
