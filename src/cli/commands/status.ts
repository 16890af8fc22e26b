import type { Command } from "commander";
import { loopLiveness } from "../../ledger/liveness.js";
import { locateSession, lockPath } from "../../ledger/paths.js";
import { readInFlightReadOnly } from "../../ledger/read.js";
import { resolveRoot, sessionOfTag } from "../cli-support.js";
import { finalizeLine } from "../../report/finalize-view.js";
import { inFlightRuns, renderInFlight, workersNow } from "../../report/in-flight.js";
import { loadReportData } from "../../report/load.js";
import { progressSnapshot, renderProgressSnapshot } from "../../report/progress.js";
import { printText } from "../print.js";
import { columnsOf, fitMarkdown } from "../../text.js";

interface StatusOptions {
  json?: boolean;
  dir?: string;
  tag?: string;
}

/** `autoresearch status`: the spec 2.6 progress report, read from the files (safe while the loop runs). */
export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show the progress report of the session in this repo (works from another terminal while the loop runs)")
    .option("--json", "print one JSON object (progress numbers, loop liveness, the markdown) instead of the report")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "which session (default: the latest one)")
    .addHelpText(
      "after",
      `
Reads the session's records in <git dir>/autoresearch/<tag>/records/ (session.json, experiments.jsonl, state.json), the loop's lock <git dir>/autoresearch/lock, or results.tsv; never writes (an old-layout session in .autoresearch/ is read where it is). With several workers it lists every experiment in flight (worker, device, state and for how long) and the progress report gains a Workers table (experiments per hour, utilisation). After \`autoresearch finalize\`: when it finished, how many kept changes matter and where its table is (or how far a finalize that runs or was stopped is).

Examples:
  $ autoresearch status           # progress report + whether the loop is alive
  $ autoresearch status --json | jq .progress.best
  $ autoresearch status --json | jq '.workers[] | [.worker, .state]'
  $ watch -n 60 autoresearch status --dir ~/nanochat`,
    )
    .action(async (options: StatusOptions) => {
      const root = await resolveRoot(process.cwd(), options.dir);
      if (options.tag !== undefined) sessionOfTag(root, options.tag);
      const paths = locateSession(root, options.tag);
      const data = loadReportData({ root, ...(options.tag !== undefined && { tag: options.tag }) });
      const loop = loopLiveness(paths?.lock ?? lockPath(root) ?? "");
      const entries = loop.state === "stopped" || !paths ? [] : readInFlightReadOnly(paths);
      const inFlightAll = inFlightRuns(entries, Date.now());
      const workers = workersNow(inFlightAll, data.session?.slots);
      const several = workers.length > 1 || inFlightAll.length > 1;
      // `inFlight`: the oldest experiment in flight (as before workers); `inFlightAll`: every one.
      const first = entries[0];
      const inFlight = first
        ? { id: first.id, phase: first.phase ?? "unknown", description: first.proposal?.description ?? null, startedAt: first.startedAt ?? null, worker: first.worker ?? null }
        : null;
      // While the loop runs the clock is now; afterwards the session ended with its last experiment.
      const lastFinished = data.experiments.at(-1)?.finishedAt ?? null;
      const now = loop.state === "stopped" && lastFinished ? Date.parse(lastFinished) : Date.now();
      const snapshot = progressSnapshot(data, { now });
      const markdown = renderProgressSnapshot(snapshot);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ root, records: paths?.dir ?? null, source: data.source, loop, inFlight, inFlightAll, workers, progress: snapshot, markdown, finalize: data.finalize ?? null }, null, 2)}\n`,
        );
        return;
      }
      const lines = [markdown, `**Loop:** ${loop.text}`];
      if (paths) lines.push(`**Records:** ${paths.dir}${paths.legacy ? " (old layout: moved out of the checkout on the next resume or report)" : ""}`);
      if (data.finalize) lines.push(`**Finalize:** ${finalizeLine(data.finalize)}`);
      if (several && loop.state !== "stopped") {
        const idle = workers.filter((w) => w.state === "idle").map((w) => `w${w.worker}`);
        lines.push("", ...renderInFlight(inFlightAll));
        if (idle.length > 0) lines.push("", `**Idle:** ${idle.join(", ")}`);
      } else if (inFlight) {
        // One worker: the one line it always was.
        lines.push(
          "",
          `**Now:** experiment ${inFlight.id} (${inFlight.phase}${inFlight.startedAt ? ` since ${inFlight.startedAt}` : ""})${inFlight.description ? `: ${inFlight.description.replace(/\s+/g, " ").slice(0, 120)}` : ""}`,
        );
      }
      // At a terminal, broken to its width; in a pipe or a file, the Markdown as it is.
      printText(fitMarkdown(`${lines.join("\n")}\n`, columnsOf(process.stdout)));
    });
}
