import type { Command } from "commander";
import { registerDemo } from "./demo.js";
import { registerResume } from "./resume.js";
import { registerRun } from "./run.js";

/** Each command module exports register(program). Order here is the order in --help. */
export function registerCommands(program: Command): void {
  registerRun(program);
  registerResume(program);
  registerDemo(program);
}
