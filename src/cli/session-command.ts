import { join, relative } from "node:path";
import pc from "picocolors";
import { sessionPaths } from "../ledger/paths.js";
import { headOf, measuredOf } from "../ledger/tree.js";
import { gainStanding, noiseOfRecords } from "../metric/index.js";
import type { EventSink } from "../ledger/events.js";
import { eventsFileSink } from "../ledger/events-file.js";
import { research, type ResearchMode, type ResearchOutcome } from "../loop/research.js";
import { sanitizeEnv } from "../runner/run-env.js";
import { columnsOf, fitWidth } from "../text.js";
import type { LoopDeps } from "../search/session.js";
import { StopControl } from "../search/stop.js";
import { createExecutor, LocalExecutor } from "../executors/index.js";
import type { Proposer } from "../types.js";
import type { Git } from "../workspace/git.js";
import { createNotifier } from "./notifier.js";
import { jsonReporter, terminalReporter } from "./reporter.js";
import { reportHooks } from "./report-hooks.js";

export interface SessionCommandOptions {
  root: string;
  git: Git;
  proposer: Proposer;
  mode: ResearchMode;
  json: boolean;
  /** Extra sinks (e.g. tests); the reporter for the chosen output is always added. */
  sinks?: EventSink[];
  /** Serve the dashboard while the session runs (`--dashboard`). */
  dashboard?: boolean;
}

/**
 * Runs a session for `run`, `resume` and `demo`: wires the real executor, the reporter and the
 * signal handling (first Ctrl-C/SIGTERM: finish the experiment; second: abort it). Returns the
 * exit code: 0, or 130 when the user stopped it.
 */
export async function runSessionCommand(options: SessionCommandOptions): Promise<{ outcome: ResearchOutcome; exitCode: number }> {
  const dashboard = options.dashboard ? await serveDashboard(options.root, options.json ? process.stderr : process.stdout) : null;
  const terminal = options.json ? null : terminalReporter();
  const reporter = terminal ?? jsonReporter();
  const notifier = createNotifier({ warn: (message) => emit({ type: "warning", message }) });
  // events.jsonl lets other processes (the dashboard, status) follow the session live.
  const eventsFile = eventsFileSink((info) => sessionPaths(options.root, info.tag).dir);
  const sinks = [reporter, eventsFile, notifier.sink, ...(options.sinks ?? [])];
  const emit: EventSink = (event) => {
    for (const sink of sinks) sink(event);
  };
  const stop = new StopControl();
  const onSignal = () => emit({ type: "stop-requested", mode: stop.request() });
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const deps: LoopDeps = {
    git: options.git,
    executor: new LocalExecutor(),
    // The session's own executor (local, slurm, ssh), made once its config is known.
    executorFor: (config) => createExecutor(config, { root: options.root, env: process.env }),
    proposer: options.proposer,
    emit,
    now: () => new Date(),
    stop,
    baseEnv: sanitizeEnv(process.env),
    // Each run's environment is made from this: secrets removed, the session's passEnv kept.
    sourceEnv: process.env,
    ...reportHooks((message) => emit({ type: "warning", message })),
  };
  // The loop writes nothing in the checkout but its reports; a --check, a run with --sandbox off, or
  // the user may: the ending says "not touched" only when its tracked files are as they were.
  const before = await options.git.trackedState().catch(() => null);
  try {
    const outcome = await research(options.root, options.mode, deps);
    if (!options.json) {
      const after = before ? await options.git.trackedState().catch(() => null) : null;
      printEnding(outcome, before && after && !sameState(before, after) ? after.lines : null);
    }
    // A night spent without one valid proposal is a failure a script or a scheduler must see.
    return { outcome, exitCode: outcome.interrupted ? 130 : outcome.proposerGaveUp ? 1 : 0 };
  } catch (error) {
    // The live line has no newline: an error printed after it would go on at its end.
    terminal?.clear();
    throw error;
  } finally {
    await notifier.flush();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    eventsFile.close();
    await dashboard?.close();
  }
}

/** `--dashboard`: on loopback, at the usual port when it is free, else at any free one. */
async function serveDashboard(root: string, output: NodeJS.WritableStream): Promise<{ close(): Promise<void> }> {
  const { DEFAULT_DASHBOARD_PORT, startDashboard } = await import("../dashboard/index.js");
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;
  try {
    dashboard = await startDashboard({ root, host: "127.0.0.1", port: DEFAULT_DASHBOARD_PORT });
  } catch {
    dashboard = await startDashboard({ root, host: "127.0.0.1", port: 0 });
  }
  output.write(`Dashboard: ${dashboard.url}\n`);
  return dashboard;
}

/**
 * results.tsv as an aligned table for the terminal; in a terminal of `width` columns a long
 * description goes on under itself (the columns stay aligned) instead of where the terminal breaks it.
 */
export function resultsTable(text: string, width?: number): string {
  const rows = text.trimEnd().split("\n").map((line) => line.split("\t"));
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const descriptionAt = 2 + widths.reduce((sum, w) => sum + w + 2, 0);
  // Too narrow to keep the column: continuation lines indented a little instead.
  const indent = " ".repeat(width !== undefined && width - descriptionAt < 24 ? 4 : descriptionAt);
  return rows
    .map((r, i) => {
      const cells = [0, 1, 2, 3].map((c) => (r[c] ?? "").padEnd(widths[c] as number));
      const line = fitWidth(`  ${cells.join("  ")}  ${r.slice(4).join(" ")}`, width, indent.slice(2));
      return i === 0 ? pc.dim(line) : line;
    })
    .join("\n");
}

type TrackedState = Awaited<ReturnType<Git["trackedState"]>>;

const sameState = (a: TrackedState, b: TrackedState): boolean => a.head === b.head && a.digest === b.digest && a.lines.join("\n") === b.lines.join("\n");

/**
 * What the user reads when the loop stops: the results table and where everything is.
 * `changed`: the checkout's changed tracked files (git status lines) when they changed while it ran.
 */
function printEnding(outcome: ResearchOutcome, changed: string[] | null): void {
  const { session, written } = outcome;
  const width = columnsOf(process.stdout);
  // In a terminal each paragraph is broken to its width (a hanging indent keeps the columns).
  const out = { write: (text: string, indent = "") => process.stdout.write(fitWidth(text, width, indent)) };
  const resultsPath = join(session.root, session.info.config.results);
  const inRepo = (p: string) => relative(session.root, p) || ".";
  process.stdout.write(`\n${pc.bold(session.info.config.results)}\n${resultsTable(session.ledger.expectedResults(), width)}\n\n`);
  const kept = session.history.filter((e) => e.status === "keep" && e.id > 0);
  // The head of the research tree: the best kept node, where the branch points (not the last keep).
  const best = session.history.some((e) => e.status === "keep" && e.metric !== null) ? headOf(session.history, session.info.config.direction) : session.history[0];
  if (best) {
    // Its measured metric (the mean of all its runs, as every decision and `status` read it), not its first run's.
    const measured = measuredOf(session.history, best);
    const baseline = session.history[0];
    const mean = measured !== best.metric ? ", its measured metric" : "";
    out.write(`${pc.bold("Best:")} ${session.info.config.metric} ${measured?.toFixed(6)} at ${best.commit.slice(0, 7)}, experiment #${best.id}${mean} (${kept.length} kept of ${session.history.length - 1} experiments)\n`);
    // How far it stands above the baseline, when that could be luck: said before anyone merges it.
    const standing = best.id === 0 || !baseline ? null : gainStanding(measured, measuredOf(session.history, baseline), session.info.config.direction, noiseOfRecords(session.history)?.sd ?? null);
    if (standing?.within) out.write(pc.yellow(`      vs the baseline: ${standing.text}; \`autoresearch confirm best --runs 3\` re-runs it before you merge\n`));
  }
  if (changed === null) out.write(`${pc.bold("Where everything is")} (your checkout ${session.root} was not touched but for these reports):\n`, "  ");
  else {
    const files = changed.length === 0 ? "its commit moved" : changed.map((line) => line.trim()).join(", ");
    out.write(pc.yellow(`Your checkout ${session.root} changed while the session ran (${files}): not by the loop, which writes only the reports below there, but by you, a --check command, or a run with --sandbox off.\n`), "  ");
    out.write(`${pc.bold("Where everything is")}:\n`, "  ");
  }
  const place = "             ";
  out.write(`  branch       ${session.info.branch} — its head is the best commit\n`, place);
  out.write(`  results      ${inRepo(resultsPath)}\n`, place);
  for (const file of written) out.write(`  report       ${inRepo(file)}\n`, place);
  out.write(`  records      ${session.paths.dir}\n`, place);
  out.write(`               (experiments.jsonl, runs/<n>.log, patches/<n>.patch; \`autoresearch show <n>\` prints one)\n`);
  if (kept.length > 0) {
    out.write(`\n${pc.bold("Merge:")} review with \`git log ${session.info.baseBranch ?? session.info.baseCommit.slice(0, 7)}..${session.info.branch}\`, then \`autoresearch merge --squash\` (or --merge / --rebase). Nothing is pushed.\n`, "  ");
  }
}
