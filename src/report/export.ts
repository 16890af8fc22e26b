import { delta, describeDirection } from "../metric/index.js";
import type { Status } from "../types.js";
import {
  MISSING,
  escapeMarkdown,
  formatDelta,
  formatMetric,
  formatPercent,
  markdownTable,
  oneLine,
  shortCommit,
} from "./format.js";
import { type SessionData, analyze } from "./model.js";

/**
 * The experiment table for a paper's methods and results sections (spec: "Delivers to
 * research-writing"): json | csv | markdown | latex, one row per experiment.
 */

export const EXPORT_FORMATS = ["json", "csv", "markdown", "latex"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportRow {
  iteration: number;
  commit: string;
  metric: number | null;
  /** Metric minus its parent's, the node it was decided against (in a chain: the best before it; null for the baseline and crashes). */
  delta: number | null;
  memGb: number | null;
  status: Status;
  category: string;
  description: string;
}

export function exportRows(data: SessionData): ExportRow[] {
  return data.experiments.map((e) => ({
    iteration: e.iteration,
    commit: shortCommit(e.commit),
    metric: e.metric,
    delta: delta(e.metric, e.bestBefore),
    memGb: e.memGb,
    status: e.status,
    category: e.category,
    description: oneLine(e.description),
  }));
}

export function exportTable(data: SessionData, format: ExportFormat): string {
  switch (format) {
    case "json":
      return toJson(data);
    case "csv":
      return toCsv(data);
    case "markdown":
      return toMarkdown(data);
    case "latex":
      return toLatex(data);
  }
}

function round6(value: number | null): number | null {
  return value === null ? null : Number(value.toFixed(6));
}

function toJson(data: SessionData): string {
  const a = analyze(data);
  const doc = {
    metric: data.metricName,
    direction: data.direction,
    branch: data.branch,
    baseline: a.baseline ? { iteration: a.baseline.iteration, commit: shortCommit(a.baseline.commit), metric: a.baselineMetric } : null,
    best: a.best ? { iteration: a.best.iteration, commit: shortCommit(a.best.commit), metric: a.bestMetric } : null,
    improvement: round6(a.improvement),
    improvementPct: a.improvementPct === null ? null : Number(a.improvementPct.toFixed(4)),
    counts: a.counts,
    experiments: exportRows(data).map((r) => ({ ...r, delta: round6(r.delta) })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** RFC 4180 quoting; text starting with = or @ is prefixed with ' so spreadsheets do not run it. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(data: SessionData): string {
  const lines = ["iteration,commit,metric,delta,mem_gb,status,category,description"];
  for (const r of exportRows(data)) {
    lines.push(
      [
        r.iteration,
        csvField(r.commit),
        r.metric === null ? "" : formatMetric(r.metric),
        r.delta === null ? "" : formatDelta(r.delta),
        r.memGb === null ? "" : r.memGb.toFixed(1),
        r.status,
        csvField(r.category),
        csvField(r.description),
      ].join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

function toMarkdown(data: SessionData): string {
  const rows = exportRows(data).map((r) => [
    String(r.iteration),
    escapeMarkdown(r.commit, 40),
    formatMetric(r.metric),
    r.delta === null ? MISSING : formatDelta(r.delta),
    r.memGb === null ? MISSING : r.memGb.toFixed(1),
    r.status,
    escapeMarkdown(r.category, 40),
    escapeMarkdown(r.description, 200) || MISSING,
  ]);
  const header = ["Iter", "Commit", escapeMarkdown(data.metricName, 40), "Δ vs parent", "Mem (GB)", "Status", "Category", "Description"];
  return `${markdownTable(header, rows)}\n`;
}

const LATEX_SPECIALS: Record<string, string> = {
  "\\": "\\textbackslash{}",
  "&": "\\&",
  "%": "\\%",
  $: "\\$",
  "#": "\\#",
  _: "\\_",
  "{": "\\{",
  "}": "\\}",
  "~": "\\textasciitilde{}",
  "^": "\\textasciicircum{}",
  "<": "\\textless{}",
  ">": "\\textgreater{}",
  "|": "\\textbar{}",
  "²": "\\textsuperscript{2}",
  "³": "\\textsuperscript{3}",
  "—": "---",
  "–": "--",
  "→": "$\\rightarrow$",
  "←": "$\\leftarrow$",
  "×": "$\\times$",
  "Δ": "$\\Delta$",
  "≤": "$\\leq$",
  "≥": "$\\geq$",
  "±": "$\\pm$",
  "µ": "$\\mu$",
  "…": "\\ldots{}",
};

/** Every LaTeX special character escaped; a few common symbols mapped to their commands. */
export function escapeLatex(text: string): string {
  return oneLine(text).replace(/[\\&%$#_{}~^<>|²³—–→←×Δ≤≥±µ…]/g, (ch) => LATEX_SPECIALS[ch] ?? ch);
}

function toLatex(data: SessionData): string {
  const a = analyze(data);
  const better = describeDirection(data.direction);
  const caption = [
    `Experiments${data.branch ? ` of ${escapeLatex(data.branch)}` : ""}: ${escapeLatex(data.metricName)} (${better})`,
    a.baseline && a.best
      ? `; baseline ${formatMetric(a.baselineMetric)}, best ${formatMetric(a.bestMetric)} (${escapeLatex(formatPercent(a.improvementPct))})`
      : "",
    `; ${a.iterations} experiments, ${a.counts.keep} kept, ${a.counts.discard} discarded, ${a.counts.crash} crashed.`,
  ].join("");
  const header = `Iter & Commit & ${escapeLatex(data.metricName)} & $\\Delta$ vs parent & Mem (GB) & Status & Category & Description \\\\`;
  const lines = [
    "% Experiment table generated by autoresearch. Requires \\usepackage{booktabs} and \\usepackage{longtable}.",
    "\\begin{longtable}{rlrrrllp{6cm}}",
    `\\caption{${caption}}\\label{tab:autoresearch-experiments}\\\\`,
    "\\toprule",
    header,
    "\\midrule",
    "\\endfirsthead",
    "\\toprule",
    header,
    "\\midrule",
    "\\endhead",
    "\\bottomrule",
    "\\endfoot",
  ];
  for (const r of exportRows(data)) {
    const status = r.status === "keep" ? "\\textbf{keep}" : r.status;
    const cells = [
      String(r.iteration),
      `\\texttt{${escapeLatex(r.commit)}}`,
      r.metric === null ? "---" : formatMetric(r.metric),
      r.delta === null ? "---" : `$${formatDelta(r.delta)}$`,
      r.memGb === null ? "---" : r.memGb.toFixed(1),
      status,
      escapeLatex(r.category),
      escapeLatex(r.description),
    ];
    lines.push(`${cells.join(" & ")} \\\\`);
  }
  lines.push("\\end{longtable}");
  return `${lines.join("\n")}\n`;
}
