import type { Command } from "commander";
import { loopLiveness } from "../../ledger/liveness.js";
import { locateSession, lockPath, type SessionPaths } from "../../ledger/paths.js";
import { readInFlightReadOnly } from "../../ledger/read.js";
import { resolveRoot } from "../../report/cli-support.js";
import { loadReportData } from "../../report/load.js";
import { progressSnapshot, renderProgressSnapshot } from "../../report/progress.js";

interface StatusOptions {
  json?: boolean;
  dir?: string;
  tag?: string;
}

interface InFlightView {
  id: number;
  phase: string;
  description: string | null;
  startedAt: string | null;
  worker: number | null;
  device: string | null;
  host: string | null;
}

function inFlightViews(paths: SessionPaths): InFlightView[] {
  return readInFlightReadOnly(paths).map((state) => ({
    id: state.id,
    phase: state.phase ?? "unknown",
    description: state.proposal?.description ?? null,
    startedAt: state.startedAt ?? null,
    worker: state.worker ?? null,
    device: state.device ?? null,
    host: state.host ?? null,
  }));
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
Reads the session's records in <git dir>/autoresearch/<tag>/records/ (session.json,
experiments.jsonl, state.json), the loop's lock <git dir>/autoresearch/lock, or results.tsv;
never writes (an old-layout session in .autoresearch/ is read where it is).

Examples:
  $ autoresearch status                 # progress report + whether the loop is alive
  $ autoresearch status --json | jq .progress.best
  $ watch -n 60 autoresearch status --dir ~/nanochat`,
    )
    .action(async (options: StatusOptions) => {
      const root = await resolveRoot(process.cwd(), options.dir);
      const paths = locateSession(root, options.tag);
      const data = loadReportData({ root, ...(options.tag !== undefined && { tag: options.tag }) });
      const loop = loopLiveness(paths?.lock ?? lockPath(root) ?? "");
      const inFlightAll = loop.state === "stopped" || !paths ? [] : inFlightViews(paths);
      // `inFlight`: the oldest experiment in flight (as before workers); `inFlightAll`: every one.
      const inFlight = inFlightAll[0] ?? null;
      // While the loop runs the clock is now; afterwards the session ended with its last experiment.
      const lastFinished = data.experiments.at(-1)?.finishedAt ?? null;
      const now = loop.state === "stopped" && lastFinished ? Date.parse(lastFinished) : Date.now();
      const snapshot = progressSnapshot(data, { now });
      const markdown = renderProgressSnapshot(snapshot);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ root, records: paths?.dir ?? null, source: data.source, loop, inFlight, inFlightAll, progress: snapshot, markdown }, null, 2)}\n`,
        );
        return;
      }
      const lines = [markdown, `**Loop:** ${loop.text}`];
      if (paths) lines.push(`**Records:** ${paths.dir}${paths.legacy ? " (old layout: moved out of the checkout on the next resume or report)" : ""}`);
      if (inFlightAll.length > 0) lines.push("");
      for (const entry of inFlightAll) {
        const where = entry.worker !== null && inFlightAll.length > 1 ? `worker ${entry.worker}, ` : "";
        lines.push(
          `**Now:** experiment ${entry.id} (${where}${entry.phase}${entry.startedAt ? ` since ${entry.startedAt}` : ""})${entry.description ? `: ${entry.description.replace(/\s+/g, " ").slice(0, 120)}` : ""}`,
        );
      }
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
