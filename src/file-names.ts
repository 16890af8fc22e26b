/**
 * The names of the files the tool writes in the user's checkout, in one place: the setup
 * excludes them from git and sets an earlier session's aside, the config check refuses a results
 * file that would overwrite one, and the report, the dashboard and the help texts name them.
 * A test (tests/unit/file-names.test.ts) fails when one of these literals appears elsewhere in src/.
 */

/** The research config `init` writes and `run` reads, in the repository root. */
export const CONFIG_FILE = "autoresearch.config.json";
/** The results file when --results does not name another. */
export const DEFAULT_RESULTS_FILE = "results.tsv";
/** The final summary and merge recommendation. */
export const SUMMARY_FILE = "autoresearch-summary.md";
/** The progress chart, as vector and as raster image. */
export const CHART_SVG_FILE = "progress.svg";
export const CHART_PNG_FILE = "progress.png";
/** The progress report, kept in the session's records (sessions of an older version wrote it in the checkout). */
export const PROGRESS_FILE = "progress.md";

/**
 * `autoresearch finalize`'s records, beside experiments.jsonl in the session's records (not in the
 * checkout): its runs, one JSON object a line (src/ledger/finalize-records.ts), and the contribution
 * table it last rendered from them (what the summary, `show`, `sessions` and the dashboard link).
 */
export const FINALIZE_FILE = "finalize.jsonl";
export const FINALIZE_TABLE_FILE = "finalize.md";

/** The summary and the chart: projections of the records, written beside each other. */
/**
 * Files an executor keeps beside a run's log (`runs/3.log` -> `runs/3.slurm.sh`: the SLURM batch
 * script and the job's output): they follow the log when its experiment is numbered.
 */
export const RUN_SIDE_SUFFIXES = { slurmScript: ".slurm.sh", slurmOutput: ".slurm.out" } as const;

export const REPORT_FILES: readonly string[] = [SUMMARY_FILE, CHART_SVG_FILE, CHART_PNG_FILE];

/** `progress.png` -> `progress.autoresearch.png`: where a projection goes when the user tracks a file of its name. */
export function alternateName(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? `${name.slice(0, dot)}.autoresearch${name.slice(dot)}` : `${name}.autoresearch`;
}

/** Every file the tool writes in the checkout besides the results file: a results file must not be one of them. */
export const TOOL_FILES: readonly string[] = [...REPORT_FILES, PROGRESS_FILE, CONFIG_FILE, ...REPORT_FILES.map(alternateName)];
