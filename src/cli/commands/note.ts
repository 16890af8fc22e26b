import type { Command } from "commander";
import { addUserNote, type NoteKind } from "../../ledger/memory.js";
import { readSessionInfo } from "../../ledger/ledger.js";
import { locateSession } from "../../ledger/paths.js";
import { UsageError } from "../../errors.js";
import { resolveRoot, sessionOfTag } from "../cli-support.js";
import { printText } from "../print.js";
import { columnsOf, fitWidth } from "../../text.js";

interface NoteOptions {
  tag?: string;
  finding?: boolean;
  deadEnd?: boolean;
  dir?: string;
}

/** What becomes of a note with this proposer: only the LLM and coding-agent proposers read them. */
function whoReads(proposer: string | undefined): string {
  if (proposer === "builtin") return "The builtin search does not read notes: it is kept for you, in the progress report and the summary.";
  if (proposer === "plan") return "The plan proposer follows its plan and does not read notes: it is kept for you, in the progress report and the summary.";
  return "The next proposal sees it.";
}

/** What `note` answers, broken to `width` columns (undefined: whole lines), the note's text continued under itself. */
export function noteAddedText(where: string, text: string, proposer: string | undefined, width?: number): string {
  return `${fitWidth(`Added to ${where}: ${text}`, width, "  ")}\n${fitWidth(whoReads(proposer), width, "  ")}\n`;
}

/** `autoresearch note "<text>"`: steer a running (or paused) session through its research notes. */
export function registerNote(program: Command): void {
  program
    .command("note")
    .description("add your note to the session's research notes (ideas backlog by default); the next LLM or agent proposal sees it")
    .argument("<text...>", "the note, e.g. \"try rotary embeddings\"")
    .option("--finding", "record it as a finding (something known) instead of an idea to try")
    .option("--dead-end", "record it as a dead end (something not to try again)")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "which session (default: the latest one)")
    .addHelpText(
      "after",
      `
Works while the loop runs (from another terminal) or between runs: the note is read before the next proposal, marked as yours, and shown in the brief, the progress report and the summary. The LLM and coding-agent proposers read it; the builtin search and a plan do not (the note is then kept for you, in the progress report and the summary).

Examples:
  $ autoresearch note "try rotary embeddings"
  $ autoresearch note --finding "the loss still falls at the end of the budget"
  $ autoresearch note --dead-end "depth above 8 does not fit in the budget"`,
    )
    .action(async (words: string[], options: NoteOptions) => {
      if (options.finding && options.deadEnd) throw new UsageError("--finding and --dead-end exclude each other", "Pick one, or neither for an idea.");
      const kind: NoteKind = options.finding ? "finding" : options.deadEnd ? "dead-end" : "idea";
      const root = await resolveRoot(process.cwd(), options.dir);
      if (options.tag !== undefined) sessionOfTag(root, options.tag);
      const paths = locateSession(root, options.tag);
      if (!paths) throw new UsageError(`no autoresearch session in ${root}`, "Start one with `autoresearch run`, or pass --dir / --tag.");
      const entry = addUserNote(paths, words.join(" "), kind, new Date());
      const where = kind === "idea" ? "the ideas backlog" : kind === "finding" ? "the findings" : "the dead ends";
      printText(noteAddedText(where, entry.text, readSessionInfo(paths)?.config.proposer, columnsOf(process.stdout)));
    });
}
