import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { resolveRoot, sessionOfTag } from "../cli-support.js";
import { readSessionReadOnly } from "../../ledger/read.js";
import { locateAnySession } from "../../ledger/sessions.js";
import { loadExperiment, renderExperiment, renderSessionLine } from "../../report/show.js";
import { printText } from "../print.js";
import { columnsOf } from "../../text.js";

interface ShowOptions {
  dir?: string;
  tag?: string;
  json?: boolean;
  tail?: string;
}

/** `autoresearch show N`: one experiment's description, decision, diff and log tail. */
export function registerShow(program: Command): void {
  program
    .command("show")
    .description("print experiment N (default: the best): description, decision, what finalize says of it, diff and the tail of its log")
    .argument("[n]", "experiment number (0 is the baseline; default: the best, after a line on the session and its finalize)")
    .option("--tail <lines>", "log lines to print (default: 30)")
    .option("--json", "print one JSON object instead")
    .option("--tag <tag>", "which session, as `autoresearch sessions` lists it (default: the current one)")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      "\nA kept change `autoresearch finalize` measured shows its verdict (the metric's change without it, the confidence that it matters). With no number: the best, after the session's line \"finalized <when>: 4 of 14 kept changes matter, table in <path>\" (or how far finalize is).\n\nExamples:\n  $ autoresearch show\n  $ autoresearch show 12\n  $ autoresearch show 0 --tail 100\n",
    )
    .action(async (n: string | undefined, options: ShowOptions) => {
      if (n !== undefined && !/^\d+$/.test(n)) throw new UsageError(`experiment number must be a whole number, not ${JSON.stringify(n)}`, "For example: autoresearch show 3");
      const tail = options.tail === undefined ? 30 : Number(options.tail);
      if (!Number.isInteger(tail) || tail < 0) throw new UsageError(`--tail must be a whole number, not ${JSON.stringify(options.tail)}`);
      const root = await resolveRoot(process.cwd(), options.dir);
      const paths = options.tag === undefined ? locateAnySession(root) : sessionOfTag(root, options.tag);
      const session = paths ? readSessionReadOnly(paths) : null;
      if (!paths || !session) throw new UsageError(`no autoresearch session in ${root}`, "Start one with `autoresearch run`, or pass --dir / --tag.");
      const shown = loadExperiment(paths, n === undefined ? null : Number(n), tail);
      if (options.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else {
        const width = columnsOf(process.stdout);
        printText(`${n === undefined ? `${renderSessionLine(shown, session.tag, width)}\n` : ""}${renderExperiment(shown, session.config.metric, width)}`);
      }
    });
}
