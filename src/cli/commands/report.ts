import { dirname, relative, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { CHART_PNG_FILE, CHART_SVG_FILE, DEFAULT_RESULTS_FILE, SUMMARY_FILE } from "../../file-names.js";
import { locateSession } from "../../ledger/paths.js";
import { parseDirection, researchBranchAt, resolveRoot, sessionOfTag } from "../cli-support.js";
import { writeFinalizeTable } from "../../report/finalize-view.js";
import { loadReportData } from "../../report/load.js";
import { renderSummary } from "../../report/summary.js";
import { projectionNamesIn, trackedNotice, writeCharts, writeSessionReports } from "../../report/write.js";
import { printText } from "../print.js";
import { columnsOf, fitMarkdown, fitWidth } from "../../text.js";

interface ReportOptions {
  out?: string;
  direction?: string;
  chart?: boolean;
  dir?: string;
  tag?: string;
}

/** `autoresearch report`: the summary and chart of an existing session or any results file; runs nothing. */
export function registerReport(program: Command): void {
  program
    .command("report")
    .description(`the summary of a session or of any results file, printed, or written with --out (${SUMMARY_FILE} and the progress chart); runs nothing`)
    .argument("[results]", `results file to summarise (default: the session in this repo, else ./${DEFAULT_RESULTS_FILE})`)
    .option("--out <file>", `write the summary to this file, with ${CHART_SVG_FILE}/${CHART_PNG_FILE} beside it (default: print it)`)
    .option("--direction <min|max>", "which way is better, when the file cannot tell (default: the session's, else inferred)")
    .option("--chart", `also write ${CHART_SVG_FILE} and ${CHART_PNG_FILE} (default: on with --out, off when printing)`)
    .option("--no-chart", "write no chart files")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "which session, as `autoresearch sessions` lists it (default: the current one)")
    .addHelpText(
      "after",
      `
Reads the session's records (<git dir>/autoresearch/<tag>/records/experiments.jsonl: iterations, categories, crash reasons, times) and rebuilds results.tsv from them when it is missing or damaged; else just the rows of the results file: this tool's format or Karpathy's (memory_gb header, 0.000000 for crashes). Commits need not exist any more. A session \`autoresearch finalize\` measured gets its Finalize section (the contribution table, from finalize.jsonl), and the table is written again as finalize.md beside the records.

Examples:
  $ autoresearch report                  # the session in this repo, to stdout
  $ autoresearch report --out ${SUMMARY_FILE}   # + the charts
  $ autoresearch report --tag mar5       # an earlier one (see sessions)
  $ autoresearch report ~/old/results.tsv --out night1/summary.md
  $ autoresearch report karpathy-results.tsv --direction min`,
    )
    .action(async (results: string | undefined, options: ReportOptions) => {
      const cwd = process.cwd();
      const direction = parseDirection(options.direction);
      const root = results ? cwd : await resolveRoot(cwd, options.dir);
      const current = locateSession(root);
      if (options.tag !== undefined && results) throw new UsageError("--tag and a results file are two different sources", "Pass one of them.");
      if (options.tag !== undefined) sessionOfTag(root, options.tag);
      // Only the current session owns the results file in the checkout: another one is read, never projected.
      const isCurrent = options.tag === undefined || locateSession(root, options.tag)?.dir === current?.dir;
      if (!results && current && isCurrent) {
        // results.tsv is a projection of the records: rebuilt here when missing or damaged (an
        // old-layout session is first moved out of the checkout).
        // Imported here: `report --help` and reports of plain results files must not load the loop (and zod).
        const { loadSession } = await import("../../loop/resume.js");
        const { ledger } = loadSession(root);
        if (ledger.reconcile() > 0) process.stderr.write(`rebuilt ${relative(cwd, ledger.resultsPath) || ledger.resultsPath} from the session's records\n`);
      }
      const data = loadReportData({ root, results, direction, ...(options.tag !== undefined && { tag: options.tag }) });
      if (!data.branch) data.branch = await researchBranchAt(data.resultsPath ? dirname(data.resultsPath) : root);
      // finalize.md is a projection of finalize.jsonl too: rendered again from the records.
      if (data.finalize) writeFinalizeTable(data.finalize, data.session?.tag);

      if (options.out) {
        const written = await writeSessionReports(root, null, data, { summaryPath: resolve(cwd, options.out), charts: options.chart !== false });
        for (const warning of written.warnings) process.stderr.write(`warning: ${warning}\n`);
        const files = [written.summaryPath, written.svgPath, written.pngPath].filter((p): p is string => p !== null);
        printText(`${fitWidth(`Wrote ${files.map((p) => relative(cwd, p) || p).join(", ")}`, columnsOf(process.stdout), "  ")}\n`);
        return;
      }
      let chart: { png: string | null; svg: string | null } | null = null;
      if (options.chart === true) {
        const { names, tracked } = await projectionNamesIn(cwd);
        for (const name of tracked) process.stderr.write(`note: ${trackedNotice(name)}\n`);
        const charts = writeCharts(cwd, data, undefined, undefined, names);
        for (const warning of charts.warnings) process.stderr.write(`warning: ${warning}\n`);
        chart = { png: charts.pngPath ? relative(cwd, charts.pngPath) : null, svg: relative(cwd, charts.svgPath) };
      }
      // At a terminal, broken to its width; redirected to a file, the Markdown as it is.
      printText(fitMarkdown(renderSummary(data, { chart }), columnsOf(process.stdout)));
    });
}
