import { relative } from "node:path";
import { confirm, isCancel } from "@clack/prompts";
import type { Command } from "commander";
import { formatDuration, parseDuration } from "../../config/duration.js";
import { UsageError } from "../../errors.js";
import { createExecutor } from "../../executors/index.js";
import type { FinalizeRun } from "../../ledger/finalize-records.js";
import { type FinalizeCost, type FinalizeEvent, finalizeSession } from "../../loop/finalize/finalize.js";
import { describeVariant } from "../../loop/finalize/run-batch.js";
import { formatMetric } from "../../report/format.js";
import { renderFinalizeTable } from "../../report/finalize-table.js";
import { sanitizeEnv } from "../../runner/run-env.js";
import { StopControl } from "../../search/stop.js";
import { Git } from "../../workspace/git.js";
import { isInteractive, resolveRoot } from "../cli-support.js";
import { projectAfterFinalize } from "../finalize-summary.js";
import { printText } from "../print.js";
import { columnsOf, fitWidth } from "../../text.js";

interface FinalizeCliOptions {
  tag?: string;
  runs?: string;
  budget?: string;
  yes?: boolean;
  json?: boolean;
  dir?: string;
}

/** The cost in one paragraph, said before anything runs. */
export function describeCost(cost: FinalizeCost): string {
  const per = `${formatDuration(cost.budgetSec)} budget each`;
  const rise = cost.mayRiseTo !== undefined ? `; the rounds may rise to ${cost.mayRiseTo} (${cost.mayRiseTo * cost.variants} runs) if the first ones show more noise than the kept changes' deltas allow` : "";
  const later = cost.laterAtMost > 0 ? `${rise}; then up to ${cost.laterAtMost} more for the smallest set, and more for any pair of changes that looks suspicious` : rise;
  const now = cost.runs === cost.planned ? `${cost.runs} runs` : `${cost.runs} runs (${cost.planned - cost.runs} of ${cost.planned} recorded already)`;
  return (
    `Finalize: ${cost.variants} variants (the best, the baseline, the best without each kept change) × ${cost.rounds} round${cost.rounds === 1 ? "" : "s"}, the best twice a round = ${now}, ${per}, ` +
    `on ${cost.workers} worker${cost.workers === 1 ? "" : "s"}: about ${formatDuration(Math.max(1, Math.round(cost.wallSec)))} (a run takes about ${formatDuration(Math.max(0.1, Number(cost.perRunSec.toFixed(1))))}, from ${cost.perRunFrom})${later}.\n`
  );
}

/**
 * Finalize's text broken to `width` columns (undefined: unchanged): its sentences go on two
 * columns in; the contribution table's rows (indented two) stay whole, as a table.
 */
export function fitTableText(text: string, width: number | undefined): string {
  return text
    .split("\n")
    .map((line) => (line.startsWith("  ") ? line : fitWidth(line, width, "  ")))
    .join("\n");
}

function runLine(run: FinalizeRun, done: number, of: number, metric: string): string {
  const what = `${describeVariant(run)}, round ${run.round + 1}`;
  const value = run.status === "ok" ? `${metric} ${formatMetric(run.metric)}` : `crash (${run.detail ?? run.reason})`;
  return `  [${done}/${of}] ${what}: ${value}\n`;
}

/** `autoresearch finalize`: which kept changes matter, the smallest set, one branch per change. */
export function registerFinalize(program: Command): void {
  program
    .command("finalize")
    .description("measure which kept changes matter (the best with each taken out, N runs each), find the smallest set that keeps the gain, and make one branch per change")
    .option("--tag <tag>", "the session (default: the current one)")
    .option("--runs <n>", "runs of each variant (default: enough for the session's noise floor, at least 2)")
    .option("--budget <duration>", "time budget per run (default: the session's)")
    .option("-y, --yes", "run without asking (required without a terminal)")
    .option("--json", "print the result as one JSON object")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
On a finished or stopped session (refused while its loop runs): for each kept change on the way to the best, the best with that change taken out (reverted on the best; a change a later one rewrote is taken out with it, and named) runs N times, beside the best and the baseline, round by round with the same seed (seeds the session never used), through the session's executor and workers. Each change gets the metric's change without it (mean ± spread), the confidence that it matters, and a verdict: matters, within noise, or hurts (taking it out improves the metric). Pairs of changes whose single removals look suspicious are measured taken out together, and named as depending on each other. The changes within noise or that hurt are then taken out together and measured: when that is as good as the best within noise it is the final code.

Leaves autoresearch/<tag>-final (the smallest set, else the best) and autoresearch/<tag>-change-<n> for each change that matters, each on the session's base commit (\`autoresearch merge --final\` merges the smallest set). Never moves autoresearch/<tag>, never changes the experiments' records or results.tsv: its runs are recorded in finalize.jsonl beside them, each as it ends. Ctrl-C stops after the runs in flight (twice: kills them); \`autoresearch finalize\` again continues where it was, running nothing twice. The cost is shown first; --yes or a terminal confirmation starts it.

Examples:
  $ autoresearch finalize                # the current session; asks first
  $ autoresearch finalize --runs 4 --yes
  $ autoresearch finalize --tag mar8 --budget 2m`,
    )
    .action(async (options: FinalizeCliOptions) => {
      const runs = options.runs === undefined ? undefined : Number(options.runs);
      if (runs !== undefined && (!Number.isInteger(runs) || runs < 1 || runs > 1000)) {
        throw new UsageError(`--runs ${JSON.stringify(options.runs)}: not a whole number from 1 to 1000`, "Pass e.g. --runs 3 (or leave it out: the default comes from the session's noise floor).");
      }
      const budgetSec = options.budget === undefined ? undefined : parseDuration(options.budget);
      if (budgetSec === null) throw new UsageError(`--budget ${JSON.stringify(options.budget)}: not a positive duration`, "Pass e.g. --budget 90s, 5m or 1h30m.");
      const root = await resolveRoot(process.cwd(), options.dir);
      const git = new Git(root);
      const stop = new StopControl();
      // Broken to the terminal's width, each line continued two columns in.
      const say = (text: string) => {
        if (!options.json) process.stderr.write(fitWidth(text, columnsOf(process.stderr), "  "));
      };
      const onSignal = () => {
        const mode = stop.request();
        say(mode === "graceful" ? "\nStopping after the runs in flight (Ctrl-C again kills them)...\n" : "\nKilling the runs in flight...\n");
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      let metric = "metric";
      try {
        const outcome = await finalizeSession(
          root,
          {
            ...(options.tag !== undefined && { tag: options.tag }),
            ...(runs !== undefined && { runs }),
            ...(budgetSec !== undefined && { budgetSec }),
            confirm: async (cost, header) => {
              metric = header.metric;
              process.stderr.write(fitWidth(describeCost(cost), columnsOf(process.stderr), "  "));
              if (cost.runs === 0 && cost.laterAtMost === 0) return true;
              if (options.yes) return true;
              if (!isInteractive()) throw new UsageError("finalize asks before it runs, but there is no terminal to ask in", "Pass --yes to run it without asking.");
              const ok = await confirm({ message: "Run them now? (Ctrl-C later stops; finalize again continues)", initialValue: true });
              return !isCancel(ok) && ok === true;
            },
          },
          {
            git,
            executorFor: (config) => createExecutor(config, { root, env: process.env }),
            now: () => new Date(),
            stop,
            baseEnv: sanitizeEnv(process.env),
            sourceEnv: process.env,
            onEvent: (event: FinalizeEvent) => {
              if (event.type === "warning") process.stderr.write(`warning: ${event.message}\n`);
              else if (event.type === "batch" && event.todo > 0) say(`${event.batch}: ${event.todo} of ${event.runs} runs to make${event.why ? ` (${event.why})` : ""}\n`);
              else if (event.type === "run") say(runLine(event.run, event.done, event.of, metric));
            },
          },
        );
        if (outcome.state === "declined") {
          say("Nothing was run.\n");
          return;
        }
        // The checkout's summary says when the session was finalized (or how far it is), with the table.
        const summary = await projectAfterFinalize(root, outcome.tag, (m) => process.stderr.write(`warning: ${m}\n`));
        if (outcome.state === "stopped") {
          say(`Stopped: the runs recorded so far are kept; \`autoresearch finalize${options.tag ? ` --tag ${options.tag}` : ""}\` continues where it was.\n`);
          process.exitCode = 130;
          return;
        }
        if (options.json) process.stdout.write(`${JSON.stringify(outcome.result, null, 2)}\n`);
        else {
          const width = columnsOf(process.stdout);
          // At a terminal the table again, fitted to it (one block per change when it is too narrow).
          const table = outcome.result && width !== undefined ? renderFinalizeTable(outcome.result, { format: "text", tag: outcome.tag, runsPerVariant: outcome.header.runsPerVariant, width }) : outcome.table;
          printText(fitTableText(`${table ?? ""}\nThe table is kept in ${outcome.tablePath}${summary ? ` and in ${relative(process.cwd(), summary) || summary}` : ""}.\n`, width));
        }
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
