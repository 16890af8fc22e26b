import type { Command } from "commander";
import { CONFIG_FILE, SUMMARY_FILE } from "../../file-names.js";

/**
 * The command table. Only the command that runs is imported (its module may load zod, the AI
 * SDK, the chart renderer ...); the others appear in `--help` from this table alone, so
 * `--version` and `status` start fast. Order here is the order in --help. tests/cli/commands.test.ts
 * keeps each entry equal to what its module registers.
 */
export interface CommandEntry {
  name: string;
  /** Its arguments as --help lists them, e.g. "[results]". */
  args?: string;
  description: string;
  /** Imports the module and returns its register(program). */
  load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "init",
    description: `ask for the research config, show it as a table, confirm, write ${CONFIG_FILE}`,
    load: async () => (await import("./init.js")).registerInit,
  },
  {
    name: "run",
    description: "start a research session: set up and run the baseline, then the loop (propose / commit / run / keep or reset) until it stops, then the summary",
    load: async () => (await import("./run.js")).registerRun,
  },
  {
    name: "resume",
    description: "continue this repo's session after a stop or a crash: nothing lost, nothing run twice",
    load: async () => (await import("./resume.js")).registerResume,
  },
  {
    name: "status",
    description: "show the progress report of the session in this repo (works from another terminal while the loop runs)",
    load: async () => (await import("./status.js")).registerStatus,
  },
  {
    name: "show",
    args: "[n]",
    description: "print experiment N (default: the best): description, decision, what finalize says of it, diff and the tail of its log",
    load: async () => (await import("./show.js")).registerShow,
  },
  {
    name: "compare",
    args: "<a> <b>",
    description: "compare two experiments (N, or tag:N for another session): both metrics and the delta, the training-script diff, differing session settings",
    load: async () => (await import("./compare.js")).registerCompare,
  },
  {
    name: "sessions",
    description: "list this repo's research sessions (tag, state, branch, experiments, best vs baseline, start, when finalized), archived ones included, then the leftovers (demo repos, failed starts) with size and age",
    load: async () => (await import("./sessions.js")).registerSessions,
  },
  {
    name: "clean",
    description: "remove sessions you no longer want: their research branch, refs/autoresearch/<tag>/*, clone and records; or the leftovers (lists them, asks first)",
    load: async () => (await import("./clean.js")).registerClean,
  },
  {
    name: "note",
    args: "<text...>",
    description: "add your note to the session's research notes (ideas backlog by default); the next LLM or agent proposal sees it",
    load: async () => (await import("./note.js")).registerNote,
  },
  {
    name: "report",
    args: "[results]",
    description: `the summary of a session or of any results file, printed, or written with --out (${SUMMARY_FILE} and the progress chart); runs nothing`,
    load: async () => (await import("./report.js")).registerReport,
  },
  {
    name: "confirm",
    args: "[target] [other]",
    description: "re-run a commit with seeds the session never used and say whether it beats the baseline by more than the noise, or run two commits in turns and say whether the second beats the first",
    load: async () => (await import("./confirm.js")).registerConfirm,
  },
  {
    name: "finalize",
    description: "measure which kept changes matter (the best with each taken out, N runs each), find the smallest set that keeps the gain, and make one branch per change",
    load: async () => (await import("./finalize.js")).registerFinalize,
  },
  {
    name: "export",
    args: "[results]",
    description: "export the experiment table (iteration, commit, metric, delta, memory, status, category, description) for a paper or a notebook",
    load: async () => (await import("./export.js")).registerExport,
  },
  {
    name: "merge",
    description: "merge the research branch into its base branch, locally, after confirmation (never pushes, never rewrites the research branch)",
    load: async () => (await import("./merge.js")).registerMerge,
  },
  {
    name: "dashboard",
    description: "serve a live, read-only dashboard of this repo's research sessions in the browser",
    load: async () => (await import("./dashboard.js")).registerDashboard,
  },
  {
    name: "demo",
    description: "run the whole loop on the embedded example (a tiny JavaScript language model): no GPU, Python or API key",
    load: async () => (await import("./demo.js")).registerDemo,
  },
  {
    name: "doctor",
    description: "what a run needs and what is missing (git, the repository, the training script, the run's Python and torch), then what is optional (GPU, nvidia-smi, API keys, agent CLIs)",
    load: async () => (await import("./doctor.js")).registerDoctor,
  },
];

/** The command named on the command line (`autoresearch help <name>` included), if any. */
export function commandFor(args: readonly string[]): CommandEntry | undefined {
  const words = args.filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name);
}

/**
 * Registers the command that runs from its module, and every other one as a stub with its name
 * and description, which is all `--help` shows of it.
 */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const chosen = commandFor(args);
  program.configureHelp({
    // As commander writes it for a loaded command: "report [options] [results]".
    subcommandTerm: (cmd) => {
      const entry = COMMANDS.find((c) => c.name === cmd.name());
      return entry ? `${entry.name} [options]${entry.args ? ` ${entry.args}` : ""}` : `${cmd.name()} [command]`;
    },
  });
  for (const entry of COMMANDS) {
    if (entry === chosen) (await entry.load())(program);
    else program.command(entry.name).description(entry.description);
  }
}
