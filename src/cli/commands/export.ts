import { writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../errors.js";
import { parseDirection, researchBranchAt, resolveRoot, sessionOfTag } from "../cli-support.js";
import { EXPORT_FORMATS, type ExportFormat, exportTable } from "../../report/export.js";
import { loadReportData } from "../../report/load.js";

interface ExportOptions {
  format: string;
  out?: string;
  direction?: string;
  tag?: string;
  dir?: string;
}

/** `autoresearch export`: the experiment table for a paper (json, csv, markdown, latex). */
export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export the experiment table (iteration, commit, metric, delta, memory, status, category, description) for a paper or a notebook")
    .argument("[results]", "results file to export (default: the session in this repo, else ./results.tsv)")
    .option("--format <format>", `one of ${EXPORT_FORMATS.join(", ")}`, "markdown")
    .option("--out <file>", "write to this file (default: stdout)")
    .option("--direction <min|max>", "which way is better, when the file cannot tell")
    .option("--tag <tag>", "which session, as `autoresearch sessions` lists it (default: the current one)")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
delta = metric minus its parent's, the node it was decided against (in a chain, the best before it; negative is better for min metrics), both as they stood when it was decided, as in results.tsv: the summary and \`status\` show each node's measured metric (the mean of all its runs since), so their numbers can differ from these (\`autoresearch show <n>\` gives both).
LaTeX output is a booktabs longtable (\\usepackage{booktabs,longtable}); CSV follows RFC 4180.

Examples:
  $ autoresearch export --format latex --out paper/experiments.tex
  $ autoresearch export --format csv > experiments.csv
  $ autoresearch export results.tsv --format json \\
      | jq '.experiments[] | select(.status=="keep")'`,
    )
    .action(async (results: string | undefined, options: ExportOptions) => {
      const format = options.format.toLowerCase() === "md" ? "markdown" : options.format.toLowerCase();
      if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
        throw new UsageError(`unknown export format ${JSON.stringify(options.format)}`, `Use --format ${EXPORT_FORMATS.join("|")}.`);
      }
      const cwd = process.cwd();
      const root = results ? cwd : await resolveRoot(cwd, options.dir);
      if (options.tag !== undefined) {
        if (results) throw new UsageError("--tag and a results file are two different sources", "Pass one of them.");
        sessionOfTag(root, options.tag);
      }
      const data = loadReportData({ root, results, direction: parseDirection(options.direction), ...(options.tag !== undefined && { tag: options.tag }) });
      if (!data.branch) data.branch = await researchBranchAt(root);
      const text = exportTable(data, format as ExportFormat);
      if (options.out) {
        const out = resolve(cwd, options.out);
        writeFileSync(out, text);
        process.stdout.write(`Wrote ${relative(cwd, out) || out} (${data.experiments.length} experiments, ${format})\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
