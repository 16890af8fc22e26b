import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import pc from "picocolors";
import { AutoresearchError } from "../errors.js";
import { packagePath } from "../package-root.js";
import { columnsOf, fitWidth } from "../text.js";
import { registerCommands } from "./commands/index.js";
import { dropOutputToClosedPipes } from "./broken-pipe.js";
import { guardUnfinished } from "./unfinished.js";

/**
 * Builds the program for these arguments (process.argv without node and the script); only the
 * command they name is imported (see ./commands/index.ts).
 */
export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = new Command();
  program
    .name("autoresearch")
    .description(
      "An autonomous ML research loop: propose one change to the training script, run it on a fixed time budget, keep it if the metric improved, log every experiment to results.tsv, repeat.",
    )
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      // Help fits the terminal as every other output does (its width less one column), and 79
      // columns in a pipe: commander's own part, and the texts each command adds after it, which
      // are written one paragraph a line and broken here.
      getOutHelpWidth: () => helpWidth(process.stdout),
      getErrHelpWidth: () => helpWidth(process.stderr),
      writeOut: (text) => process.stdout.write(fitWidth(text, helpWidth(process.stdout))),
      writeErr: (text) => process.stderr.write(fitWidth(text, helpWidth(process.stderr))),
    })
    .exitOverride();
  await registerCommands(program, args);
  return program;
}

/** The columns help is broken to: the terminal's (less one), else 79. */
export function helpWidth(stream: object): number {
  return columnsOf(stream) ?? 79;
}

/** The version in the package's package.json. */
function packageVersion(): string {
  const path = packagePath("package.json");
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

/** The one place where errors become exit codes: 0 ok, 1 runtime failure, 2 usage, 130 stopped. */
export async function main(argv: string[]): Promise<number> {
  dropOutputToClosedPipes();
  try {
    // A command is never done just because the event loop ran dry: that is an error (exit 1), not a success.
    await guardUnfinished(
      (async () => {
        const program = await buildProgram(argv.slice(2));
        await program.parseAsync(argv);
      })(),
    );
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    return reportError(error);
  }
}

export function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version also arrive here, with exit code 0; commander printed them already.
    if (error.exitCode === 0) return 0;
    return 2;
  }
  if (error instanceof AutoresearchError) {
    // Broken to the terminal's width, continuation lines indented under the message.
    const width = columnsOf(process.stderr);
    process.stderr.write(`${fitWidth(`${pc.red("error:")} ${error.message}`, width, "       ")}\n`);
    if (error.hint) process.stderr.write(`${fitWidth(`${pc.dim("  fix:")} ${error.hint}`, width, "     ")}\n`);
    return error.exitCode;
  }
  const err = error as Error;
  process.stderr.write(`${pc.red("internal error:")} ${err?.stack ?? String(error)}\n`);
  return 1;
}
