import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { listLeftovers } from "../../ledger/leftovers.js";
import { listSessions, type SessionSummary } from "../../ledger/sessions.js";
import { renderLeftovers } from "../leftovers-text.js";
import { resolveRoot } from "../cli-support.js";
import { printText } from "../print.js";
import { columnsOf, fitWidth } from "../../text.js";

interface SessionsOptions {
  json?: boolean;
  dir?: string;
}

function value(v: number | null): string {
  return v === null ? "—" : v.toFixed(6);
}

/** "0.912000 (baseline 1.002300, -0.090300)" or "—". */
function bestText(s: SessionSummary): string {
  if (s.best === null) return "—";
  if (s.baseline === null || s.bestId === 0) return `${value(s.best)} (baseline)`;
  const delta = s.best - s.baseline;
  return `${value(s.best)} (baseline ${value(s.baseline)}, ${delta >= 0 ? "+" : ""}${delta.toFixed(6)}${s.bestWithinNoise ? `; ⚠ ${s.bestWithinNoise}` : ""})`;
}

/** When the session was finalized and how many kept changes matter, or how far its finalize is; "—" when never. */
function finalizedText(s: SessionSummary): string {
  const f = s.finalize;
  if (!f) return "—";
  if (f.progress === "finished" && f.finishedAt) {
    return `${stamp(f.finishedAt)}, ${f.matter ?? 0} of ${f.changes} matter${f.stale ? " (an earlier best)" : ""}`;
  }
  return `${f.progress}, ${f.runsDone}/${f.runsPlanned} runs`;
}

function stamp(iso: string): string {
  return iso.replace("T", " ").replace(/(:\d\d)(:\d\d)?(\.\d+)?Z$/, "$1Z");
}

/**
 * The sessions as a table; in a terminal of `width` columns too narrow for it, one block per session
 * instead (a table the terminal wraps is unreadable).
 */
export function renderSessions(sessions: SessionSummary[], width?: number): string {
  if (sessions.length === 0) return "No autoresearch sessions in this repo. Start one with `autoresearch run`.\n";
  const rows = [
    // The tag's column holds the current marker ("* "): the header's name sits after it, as each tag does.
    ["  TAG", "STATE", "BRANCH", "EXPERIMENTS", "BEST", "STARTED", "FINALIZED"],
    ...sessions.map((s) => [
      `${s.current ? "* " : "  "}${s.id}`,
      s.state,
      branchText(s),
      `${s.experiments} (${s.kept} kept)`,
      `${s.metric} ${bestText(s)}`,
      s.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z"),
      finalizedText(s),
    ]),
  ];
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  const lines = rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join("  ").trimEnd());
  const fits = width === undefined || lines.every((line) => line.length <= width);
  const finalized = sessions.some((s) => s.finalize)
    ? "\nFINALIZED: when `autoresearch finalize` finished and how many kept changes matter (`autoresearch show --tag <tag>` says where its table is), or how far it is\n"
    : "";
  const body = fits ? lines.join("\n") : sessions.map((session) => sessionBlock(session, width as number)).join("\n");
  return `${body}\n\n${fitWidth("* = current (what resume, status, report and show use without --tag)", width)}\n${fitWidth(finalized, width)}`;
}

/** A failed start's branch was deleted with it (the name may be another session's since): none is shown. */
function branchText(s: SessionSummary): string {
  return s.state === "failed" ? "—" : s.branch;
}

/** One session as a block of lines, each broken to `width`: the narrow terminal's form of a row. */
function sessionBlock(s: SessionSummary, width: number): string {
  const field = (name: string, text: string) => fitWidth(`    ${name.padEnd(11)}${text}`, width, "           ");
  return [
    fitWidth(`${s.current ? "* " : "  "}${s.id}  ${s.state}, ${s.experiments} experiments (${s.kept} kept)`, width, "    "),
    field("branch", branchText(s)),
    field("best", `${s.metric} ${bestText(s)}`),
    field("started", s.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")),
    ...(s.finalize ? [field("finalized", finalizedText(s))] : []),
  ].join("\n");
}

/** `autoresearch sessions`: every session of this repo, archived and old-layout ones included. */
export function registerSessions(program: Command): void {
  program
    .command("sessions")
    .description("list this repo's research sessions (tag, state, branch, experiments, best vs baseline, start, when finalized), archived ones included, then the leftovers (demo repos, failed starts) with size and age")
    .option("--json", "print a JSON array instead")
    .option("--dir <path>", "repo of the sessions (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
States: running (its loop holds the repo's lock), stopped (by you, an error or a kill; resume continues it), finished (it reached its limit or stop condition; resume with a higher limit continues it), failed (it never started: its baseline, its setup or the executor's check failed; records kept for reading), archived (kept by an older layout). The first column is what --tag takes in resume, report, status, show and clean.

Under the table, the leftovers with their size and age: the demo's repositories in the system temp folder (autoresearch-demo-*) and this repo's failed starts (.git/autoresearch/failed/); \`autoresearch clean --leftovers\` removes them.

Examples:
  $ autoresearch sessions
  $ autoresearch report --tag mar5
  $ autoresearch resume --tag mar5 --max-iterations 50`,
    )
    .action(async (options: SessionsOptions) => {
      const root = await resolveRoot(process.cwd(), options.dir);
      const sessions = listSessions(root);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
        return;
      }
      const width = columnsOf(process.stdout);
      // Outside a repository there are no sessions to list, only the machine's leftovers: said as such.
      const listed = sessions.length === 0 && !existsSync(join(root, ".git")) ? `No autoresearch sessions: ${root} is not a git repository (run it in a session's repo, or pass --dir).\n` : renderSessions(sessions, width);
      printText(`${listed}${renderLeftovers(listLeftovers(root), new Date(), width)}`);
    });
}
