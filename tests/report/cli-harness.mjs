// Runs the report commands from the built dist exactly as `autoresearch <command>` does, before
// (and independently of) their registration in src/cli/commands/index.ts.
import { Command } from "commander";
import { reportError } from "../../dist/cli/main.js";
import { registerCompare } from "../../dist/cli/commands/compare.js";
import { registerExport } from "../../dist/cli/commands/export.js";
import { registerMerge } from "../../dist/cli/commands/merge.js";
import { registerReport } from "../../dist/cli/commands/report.js";
import { registerStatus } from "../../dist/cli/commands/status.js";

const program = new Command().name("autoresearch").exitOverride();
registerStatus(program);
registerReport(program);
registerMerge(program);
registerExport(program);
registerCompare(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
