import type { Command } from "commander";
import { registerDashboard } from "./dashboard.js";
import { registerDemo } from "./demo.js";
import { registerDoctor } from "./doctor.js";
import { registerExport } from "./export.js";
import { registerInit } from "./init.js";
import { registerMerge } from "./merge.js";
import { registerReport } from "./report.js";
import { registerResume } from "./resume.js";
import { registerRun } from "./run.js";
import { registerStatus } from "./status.js";

/** Each command module exports register(program). Order here is the order in --help. */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerRun(program);
  registerResume(program);
  registerStatus(program);
  registerReport(program);
  registerExport(program);
  registerMerge(program);
  registerDashboard(program);
  registerDemo(program);
  registerDoctor(program);
}
