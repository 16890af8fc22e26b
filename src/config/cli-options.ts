/**
 * Commander options built from OPTION_DEFS (so flags, config keys and help cannot drift), and
 * the merge of their sources. Precedence: flags > --config file > autoresearch.config.json in
 * the repo > defaults (applied later by resolveConfig).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Command, Option } from "commander";
import { type ConfigInput, OPTION_DEFS, type OptionKey } from "./options.js";
import { CONFIG_FILE } from "../file-names.js";
import { loadConfigFile, validateFlags } from "./resolve.js";
import { config as zodConfig } from "zod";

// The CLI parses each schema once or a few times (the config file, the flags, a proposal): zod's
// default compiles an object schema to a function on its first parse, which pays only after many
// parses (the config's first parse: 7-18 ms compiled, 3-4 ms interpreted, measured here). Set for
// the CLI's process only: a library caller's zod is left as they configured it.
zodConfig({ jitless: true });

/**
 * Adds research settings from OPTION_DEFS as flags, so flags and config keys match. `resume`
 * passes `defaults: false`: there a setting left out keeps the session's value, not the default.
 */
export function addConfigOptions(command: Command, keys: readonly OptionKey[] = Object.keys(OPTION_DEFS) as OptionKey[], options: { defaults?: boolean } = {}): Command {
  for (const key of keys) {
    const def = OPTION_DEFS[key];
    const help = options.defaults === false ? def.help.replace(/ \(default: [^)]*\)$/, "") : def.help;
    command.addOption(new Option(def.flag, help));
    // The one negatable setting: --no-share turns the default shared paths off.
    if (key === "share") command.addOption(new Option("--no-share", "link nothing of your checkout into the experiment clone"));
  }
  return command;
}

/** Commander's parsed options (camelCase, same names as the config keys) to ConfigInput. */
export function flagsToInput(options: Record<string, unknown>): ConfigInput {
  const input: ConfigInput = {};
  for (const key of Object.keys(OPTION_DEFS) as OptionKey[]) {
    if (options[key] !== undefined) input[key] = options[key];
  }
  return input;
}

/** `--config <file>` and `-y, --yes`, as init takes them (run adds its own with the same names). */
export function addSetupOptions(command: Command): Command {
  command.option("--config <file>", `pre-populated research config, same keys as ${CONFIG_FILE} (e.g. from a lead-researcher or experiment-design tool)`);
  command.option("-y, --yes", "confirm the config table without asking (values the spec says to ask for must still be given)");
  return command;
}

export type InputSource = "flag" | "config" | "repo";

export interface GatheredInput {
  input: ConfigInput;
  /** Where each value came from. */
  sources: Partial<Record<OptionKey, InputSource>>;
  /** The repo's autoresearch.config.json when it exists. */
  repoFile: string | null;
  /** The --config file, resolved. */
  configFile: string | null;
}

/**
 * Validates and merges flags, the --config file and the repo's autoresearch.config.json.
 * Every invalid value or key is a UsageError (exit 2) naming it.
 */
export function gatherInput(opts: Record<string, unknown>, options: { root: string; cwd?: string; readRepoFile?: boolean }): GatheredInput {
  const repoPath = join(options.root, CONFIG_FILE);
  const repoFile = options.readRepoFile !== false && existsSync(repoPath) ? repoPath : null;
  const configFile = typeof opts.config === "string" ? resolve(options.cwd ?? process.cwd(), opts.config) : null;
  const flags = validateFlags(flagsToInput(opts));
  const fromConfig = configFile ? loadConfigFile(configFile) : {};
  const fromRepo = repoFile && repoFile !== configFile ? loadConfigFile(repoFile) : {};
  const input: ConfigInput = {};
  const sources: GatheredInput["sources"] = {};
  for (const [layer, source] of [
    [fromRepo, "repo"],
    [fromConfig, "config"],
    [flags, "flag"],
  ] as const) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      input[key as OptionKey] = value;
      sources[key as OptionKey] = source;
    }
  }
  return { input, sources, repoFile, configFile };
}
