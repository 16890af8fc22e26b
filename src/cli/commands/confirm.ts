import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { loopLiveness } from "../../ledger/liveness.js";
import { locateSession } from "../../ledger/paths.js";
import { readRecordsReadOnly, readSessionReadOnly } from "../../ledger/read.js";
import { type ConfirmReport, confirmCommit, resolveTarget, type Summary } from "../../loop/confirm-command.js";
import { createExecutor } from "../../executors/index.js";
import { resolveRoot } from "../cli-support.js";
import { formatMetric, shortCommit } from "../../report/format.js";
import { Git } from "../../workspace/git.js";
import { printText } from "../print.js";

interface ConfirmOptions {
  runs?: string;
  json?: boolean;
  dir?: string;
  tag?: string;
}

function line(name: string, s: Summary | null): string {
  if (!s) return `${name.padEnd(10)} —`;
  const sd = s.sd === null ? "" : ` ± ${formatMetric(s.sd)}`;
  return `${name.padEnd(10)} ${formatMetric(s.mean)}${sd} (${s.runs} run${s.runs > 1 ? "s" : ""})`;
}

export function renderConfirm(report: ConfirmReport): string {
  const what = `${report.target.label}${report.target.iteration !== null ? ` (iteration ${report.target.iteration}, ${shortCommit(report.target.commit)})` : ` (${shortCommit(report.target.commit)})`}`;
  return [
    `${report.metric}, mean ± standard deviation of single runs:`,
    line(report.target.iteration === 0 ? "baseline" : report.target.label, report.candidate),
    ...(report.target.iteration === 0 ? [] : [line("baseline", report.baseline)]),
    `noise floor ${report.noise === null ? "unknown" : formatMetric(report.noise)} (pooled over every run of identical code in the session)`,
    `Verdict for ${what}: ${report.verdict}.`,
    "",
  ].join("\n");
}

/** `autoresearch confirm [commit|best|baseline] --runs N`: is a result real, or noise? */
export function registerConfirm(program: Command): void {
  program
    .command("confirm")
    .argument("[target]", "best (default), baseline, or a commit of the session", "best")
    .description("re-run a commit N times with seeds the session never used and say whether it beats the baseline by more than the noise")
    .option("--runs <n>", "how many runs (default: 3)", "3")
    .option("--json", "print the result as one JSON object")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "the session with this tag (default: the current one)")
    .addHelpText(
      "after",
      `
Seeds: the runs get AUTORESEARCH_SEED values after every seed the session's runs used (a session
with --baseline-runs 3 used 0, 1 and 2: confirm uses 3, 4, 5...), so they are new draws of the noise,
not replays of runs already recorded.
Runs happen one after another in a throwaway clone beside the session's records, with the session's
command, environment, hard timeout and executor (--executor slurm: each run is a job; ssh: on its
first host); the logs stay in .autoresearch/confirm/. Nothing of the
session is changed. Refused while the session's loop runs (the runs would compete for the machine).

Examples:
  $ autoresearch confirm                  # the best commit, 3 runs
  $ autoresearch confirm baseline --runs 5  # measure the noise floor
  $ autoresearch confirm 3f2a1bc --runs 4`,
    )
    .action(async (targetArg: string, options: ConfirmOptions) => {
      const runs = Number(options.runs);
      if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new UsageError(`--runs ${JSON.stringify(options.runs)}: not a whole number from 1 to 1000`, "Pass e.g. --runs 3.");
      const root = await resolveRoot(process.cwd(), options.dir);
      const paths = locateSession(root, options.tag);
      const info = paths ? readSessionReadOnly(paths) : null;
      if (!paths || !info) throw new UsageError(`no session${options.tag ? ` tagged ${options.tag}` : ""} in ${root}`, "Run it in the repository of a session started with `autoresearch run` (or give --tag).");
      const loop = loopLiveness(paths.lock);
      if (loop.state === "running") throw new UsageError(`the session's loop is running (${loop.text})`, "Wait for it to end or stop it first (Ctrl-C in its terminal), then confirm.");
      const records = readRecordsReadOnly(paths);
      const git = new Git(root);
      const target = await resolveTarget(git, records, targetArg);
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      if (!options.json) process.stderr.write(`Running ${target.label} (${shortCommit(target.commit)}) ${runs} time(s): \`${info.config.command}\`\n`);
      try {
        const report = await confirmCommit(root, paths, info, records, target, runs, {
          git,
          // The session's executor (local, slurm, ssh): the runs happen where its experiments ran.
          executor: createExecutor(info.config, { root, env: process.env }),
          sourceEnv: process.env,
          signal: abort.signal,
          onRun: (index, of, run) => {
            if (!options.json) process.stderr.write(`  run ${index + 1}/${of}: ${run.metric === null ? "no metric" : `${info.config.metric} ${formatMetric(run.metric)}`}${run.exitCode !== 0 ? ` (exit ${run.exitCode ?? run.signal})` : ""}\n`);
          },
        });
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printText(renderConfirm(report));
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
