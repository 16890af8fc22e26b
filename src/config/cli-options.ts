import { type Command, Option } from "commander";
import { type ConfigInput, OPTION_DEFS, type OptionKey } from "./options.js";

/** Adds every research setting from OPTION_DEFS as a flag, so flags and config keys match. */
export function addConfigOptions(command: Command, keys: readonly OptionKey[] = Object.keys(OPTION_DEFS) as OptionKey[]): Command {
  for (const key of keys) {
    const def = OPTION_DEFS[key];
    command.addOption(new Option(def.flag, def.help));
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
