import type { Command } from "commander";

/** Each command module exports register(program). Order here is the order in --help. */
export function registerCommands(program: Command): void {
  void program;
}
