import { dirname } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { loopLiveness } from "../../ledger/liveness.js";
import { locateSession } from "../../ledger/paths.js";
import { readRecordsReadOnly, readSessionReadOnly } from "../../ledger/read.js";
import { unknownSessionError } from "../../ledger/sessions.js";
import { type ConfirmReport, confirmCommit, confirmPair, type PairReport, resolveTarget, type Summary } from "../../loop/confirm-command.js";
import { createExecutor } from "../../executors/index.js";
import { keepRuleOf } from "../../search/keep-rule.js";
import { resolveRoot } from "../cli-support.js";
import { formatMetric, shortCommit } from "../../report/format.js";
import type { RunResult } from "../../types.js";
import { Git } from "../../workspace/git.js";
import { printText } from "../print.js";
import { columnsOf, fitWidth } from "../../text.js";

interface ConfirmOptions {
  runs?: string;
  pairs?: string;
  json?: boolean;
  dir?: string;
  tag?: string;
}

function line(name: string, s: Summary | null): string {
  if (!s) return `${name.padEnd(10)} —`;
  const sd = s.sd === null ? "" : ` ± ${formatMetric(s.sd)}`;
  return `${name.padEnd(10)} ${formatMetric(s.mean)}${sd} (${s.runs} run${s.runs > 1 ? "s" : ""})`;
}

const NOISE_BASIS = "the session's: pooled over every run of identical code, these included";

function headLine(head: ConfirmReport["head"]): string[] {
  return head === null ? [] : [`best (head) #${head.iteration}, measured ${formatMetric(head.metric)} (the mean of its runs, these counted)`];
}

/** Where the runs' logs are, when nothing was measured and they are what is left to read. */
function logsLine(nothing: boolean, logs: readonly string[]): string[] {
  const first = logs[0];
  return nothing && first ? [`The runs' logs: ${dirname(first)}/`] : [];
}

/** The result of `confirm` on one commit; each line broken to `width` columns (undefined: whole lines). */
export function renderConfirm(report: ConfirmReport, width?: number): string {
  const what = `${report.target.label}${report.target.iteration !== null ? ` (iteration ${report.target.iteration}, ${shortCommit(report.target.commit)})` : ` (${shortCommit(report.target.commit)})`}`;
  return [
    `${report.metric}, mean ± standard deviation of single runs:`,
    line(report.target.iteration === 0 ? "baseline" : report.target.label, report.candidate),
    ...(report.target.iteration === 0 ? [] : [line("baseline", report.baseline)]),
    `noise floor ${report.noise === null ? "unknown" : formatMetric(report.noise)} (${NOISE_BASIS})`,
    ...headLine(report.head),
    `Verdict for ${what}: ${report.verdict}.`,
    ...logsLine(report.candidate === null, report.runs.map((r) => r.log)),
  ]
    .map((line) => fitWidth(line, width, "  "))
    .concat("")
    .join("\n");
}

const signed = (v: number): string => `${v >= 0 ? "+" : ""}${formatMetric(v)}`;

/** The result of `confirm` on two commits in turns; each line broken to `width` columns (undefined: whole lines). */
export function renderPair(report: PairReport, width?: number): string {
  const name = (t: PairReport["a"]) => `${t.label}${t.iteration !== null ? ` (iteration ${t.iteration}, ${shortCommit(t.commit)})` : ` (${shortCommit(t.commit)})`}`;
  const rows = report.pairs.map((p, i) => `  pair ${i + 1} (${p.order === "AB" ? "A then B" : "B then A"}, seed ${p.seed}): A ${formatMetric(p.a)}  B ${formatMetric(p.b)}`);
  return [
    `A = ${name(report.a)}`,
    `B = ${name(report.b)}`,
    `${report.metric} (${report.direction === "min" ? "lower" : "higher"} is better), run in turns:`,
    ...rows,
    report.difference === null
      ? "B - A: —"
      : `B - A: ${signed(report.difference)}${report.interval ? ` (95% interval ${signed(report.interval[0])} to ${signed(report.interval[1])})` : ""}${report.z !== null ? `, ${report.z.toFixed(1)} standard errors in B's favour` : ""}`,
    `noise floor ${report.noise === null ? "unknown" : formatMetric(report.noise)} (${NOISE_BASIS})`,
    ...headLine(report.head),
    `Verdict: ${report.verdict}.`,
    ...logsLine(report.difference === null, report.pairs.flatMap((p) => p.logs)),
  ]
    .map((line) => fitWidth(line, width, "  "))
    .concat("")
    .join("\n");
}

const wholeNumber = (flag: string, text: string | undefined, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`${flag} ${JSON.stringify(text)}: not a whole number from 1 to ${max}`, `Pass e.g. ${flag} 3.`);
  return n;
};

/** `autoresearch confirm [target] [other]`: is a result real, or noise? */
export function registerConfirm(program: Command): void {
  program
    .command("confirm")
    .argument("[target]", "best, baseline, an experiment number, or a commit of the session", "best")
    .argument("[other]", "a second commit (same forms): run both in turns and say whether it beats the first")
    .description(
      "re-run a commit with seeds the session never used and say whether it beats the baseline by more than the noise, or run two commits in turns and say whether the second beats the first",
    )
    .option("--runs <n>", "one commit: how many runs", "3")
    .option("--pairs <n>", "two commits: at most this many pairs (default: the session's --confirm-runs, else 4)")
    .option("--json", "print the result as one JSON object")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "the session with this tag (default: the current one)")
    .addHelpText(
      "after",
      `
One commit: runs it --runs times and compares the mean of those runs with the baseline's runs, in units of the session's noise floor.
Two commits A B: runs them in turns, A then B, then B then A, ... (a slow drift of the machine cancels over the two orders), each pair with one seed, and after each pair applies the paired rule's sequential stop (the session's --confidence Z): B is better (its mean gain over the pairs is more than Z standard errors), or clearly not (less than 0.25 standard errors), or one more pair, up to --pairs. Prints each pair, B - A with its 95% interval, the verdict and the session's noise floor.
Targets: best (the head: the best kept experiment by the mean of its runs), baseline, an experiment number (7 or #7), or any commit (sha or ref).
Seeds: the runs get AUTORESEARCH_SEED values after every seed the session's runs used (a session with --baseline-runs 3 used 0, 1 and 2: confirm uses 3, 4, 5...), so they are new draws of the noise, not replays of runs already recorded.
The runs join the session: they are recorded in its measurements.jsonl (never an experiment: no results.tsv row, the branch does not move) and count from then on like its other runs: in the noise floor, in the measured metric of the code they ran (the head's mean), so in status, the summary and the loop's next decisions (resume). The noise floor printed is the one the session uses.
Runs happen one after another in a throwaway clone beside the session's records, with the session's command, environment, hard timeout and executor (--executor slurm: each run is a job; ssh: on its first host); the logs stay in the records' confirm/ folder. Refused while the session's loop runs (the runs would compete for the machine); holds the loop's lock while it runs.
Ctrl-C (or SIGTERM) stops the run in progress and its processes: the runs (or whole pairs) that finished stay recorded in the session, the one stopped is not, no verdict is drawn from part of the runs, and the exit status is 130. When no run (no pair) printed the metric, each run says why (its exit, its time limit, or a NaN), the logs' folder is named and the exit status is 1.

Examples:
  $ autoresearch confirm                     # the best commit, 3 runs
  $ autoresearch confirm baseline --runs 5    # measure the noise floor
  $ autoresearch confirm 3f2a1bc --runs 4
  $ autoresearch confirm baseline best        # the best against the baseline
  $ autoresearch confirm 4 7 --pairs 6        # experiment 7 against 4, paired`,
    )
    .action(async (targetArg: string, otherArg: string | undefined, options: ConfirmOptions) => {
      const runs = wholeNumber("--runs", options.runs, 1000);
      const root = await resolveRoot(process.cwd(), options.dir);
      const paths = locateSession(root, options.tag);
      const info = paths ? readSessionReadOnly(paths) : null;
      if (!paths || !info) {
        if (options.tag) throw unknownSessionError(root, options.tag);
        throw new UsageError(`no autoresearch session in ${root}`, "Run it in the repository of a session started with `autoresearch run`, or give --dir <repo>.");
      }
      const pairs = options.pairs === undefined ? keepRuleOf(info.config).maxPairs : wholeNumber("--pairs", options.pairs, 1000);
      if (options.pairs !== undefined && otherArg === undefined) throw new UsageError("--pairs is for two commits (confirm A B)", "Name a second commit, or use --runs for one.");
      const loop = loopLiveness(paths.lock);
      if (loop.state === "running") throw new UsageError(`the session's loop is running (${loop.text})`, "Wait for it to end or stop it first (Ctrl-C in its terminal), then confirm.");
      const records = readRecordsReadOnly(paths);
      const git = new Git(root);
      const target = await resolveTarget(git, records, targetArg, info.config.direction);
      const other = otherArg === undefined ? null : await resolveTarget(git, records, otherArg, info.config.direction);
      if (other && other.commit === target.commit) throw new UsageError(`${target.label} and ${other.label} are the same commit (${shortCommit(target.commit)})`, "Name two different commits to compare.");
      // Ctrl-C or a SIGTERM stops the run in progress (its process tree killed) and the command, exit 130.
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once("SIGINT", onSigint);
      process.once("SIGTERM", onSigint);
      const deps = {
        git,
        // The session's executor (local, slurm, ssh): the runs happen where its experiments ran.
        executor: createExecutor(info.config, { root, env: process.env }),
        sourceEnv: process.env,
        signal: abort.signal,
      };
      const metric = (m: number | null) => (m === null ? "no metric" : `${info.config.metric} ${formatMetric(m)}`);
      // A run without a number says why: its exit, its time limit, or what it printed instead.
      const outcome = (run: RunResult) =>
        run.timedOut ? "timed out" : run.exitCode !== 0 ? `exit ${run.exitCode ?? run.signal}` : run.metric === null ? `no "${info.config.metric}:" line` : !Number.isFinite(run.metric) ? `${info.config.metric} is ${run.metric}` : "";
      const said = (run: RunResult) => {
        const why = outcome(run);
        return why ? `no metric (${why})` : metric(run.metric);
      };
      try {
        if (other) {
          if (!options.json) process.stderr.write(`${fitWidth(`Running ${target.label} (A, ${shortCommit(target.commit)}) and ${other.label} (B, ${shortCommit(other.commit)}) in turns, at most ${pairs} pair(s): \`${info.config.command}\``, columnsOf(process.stderr), "  ")}\n`);
          const report = await confirmPair(root, paths, info, records, target, other, pairs, {
            ...deps,
            onPair: (index, of, a, b) => {
              if (!options.json) process.stderr.write(`  pair ${index + 1}/${of}: A ${said(a)}, B ${said(b)}\n`);
            },
          });
          if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          else printText(renderPair(report, columnsOf(process.stdout)));
          // Nothing measured (no pair printed both metrics) is a failure to measure, not an answer.
          if (report.difference === null) process.exitCode = 1;
          return;
        }
        if (!options.json) process.stderr.write(`${fitWidth(`Running ${target.label} (${shortCommit(target.commit)}) ${runs} time(s): \`${info.config.command}\``, columnsOf(process.stderr), "  ")}\n`);
        const report = await confirmCommit(root, paths, info, records, target, runs, {
          ...deps,
          onRun: (index, of, run) => {
            if (!options.json) process.stderr.write(`  run ${index + 1}/${of}: ${said(run)}\n`);
          },
        });
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printText(renderConfirm(report, columnsOf(process.stdout)));
        if (report.candidate === null) process.exitCode = 1;
      } finally {
        process.off("SIGINT", onSigint);
        process.off("SIGTERM", onSigint);
      }
    });
}
