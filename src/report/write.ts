import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import type { SessionPaths } from "../ledger/paths.js";
import { type ChartOptions, renderChartSvg } from "./chart.js";
import type { SessionData } from "./model.js";
import { type PngOptions, renderPng } from "./png.js";
import { type BuildSummaryOptions, buildSummary } from "./summary.js";

/**
 * Phase 3 files, written beside results.tsv: autoresearch-summary.md, progress.svg and
 * progress.png. They are outputs for people and are never committed.
 */

export const SUMMARY_FILE = "autoresearch-summary.md";
export const CHART_SVG_FILE = "progress.svg";
export const CHART_PNG_FILE = "progress.png";

export interface WriteReportsOptions extends BuildSummaryOptions {
  /** Directory for the files; default: the repo root. */
  outDir?: string;
  /** Summary file path; default: <outDir>/autoresearch-summary.md. The charts go beside it. */
  summaryPath?: string;
  /** false = no chart files (and no chart section). */
  charts?: boolean;
  chartOptions?: ChartOptions;
  pngOptions?: PngOptions;
}

export interface WrittenReports {
  summaryPath: string;
  svgPath: string | null;
  pngPath: string | null;
  /** Non-fatal problems (e.g. the PNG renderer is not available on this platform). */
  warnings: string[];
}

/** Writes the charts first (so the summary only links files that exist), then the summary. */
export async function writeSessionReports(
  root: string,
  _paths: SessionPaths | null,
  data: SessionData,
  options: WriteReportsOptions = {},
): Promise<WrittenReports> {
  const summaryPath = options.summaryPath ?? join(options.outDir ?? root, SUMMARY_FILE);
  const dir = dirname(summaryPath);
  mkdirSync(dir, { recursive: true });
  const warnings: string[] = [];
  let svgPath: string | null = null;
  let pngPath: string | null = null;
  if (options.charts !== false) {
    const charts = writeCharts(dir, data, options.chartOptions, options.pngOptions);
    svgPath = charts.svgPath;
    pngPath = charts.pngPath;
    warnings.push(...charts.warnings);
  }
  const link = (p: string | null) => (p ? relative(dir, p).split("\\").join("/") || basename(p) : null);
  const markdown = await buildSummary(data, {
    ...options,
    chart: svgPath || pngPath ? { png: link(pngPath), svg: link(svgPath) } : null,
  });
  writeFileSync(summaryPath, markdown);
  return { summaryPath, svgPath, pngPath, warnings };
}

/** progress.svg and progress.png into `dir`; a PNG failure is a warning, not an error. */
export function writeCharts(
  dir: string,
  data: SessionData,
  chartOptions?: ChartOptions,
  pngOptions?: PngOptions,
): { svgPath: string; pngPath: string | null; warnings: string[] } {
  mkdirSync(dir, { recursive: true });
  const svg = renderChartSvg(data, chartOptions);
  const svgPath = join(dir, CHART_SVG_FILE);
  writeFileSync(svgPath, svg);
  const warnings: string[] = [];
  let pngPath: string | null = join(dir, CHART_PNG_FILE);
  try {
    writeFileSync(pngPath, renderPng(svg, pngOptions));
  } catch (error) {
    warnings.push(`progress.png was not written (${(error as Error).message.split("\n")[0]}); progress.svg has the same chart.`);
    pngPath = null;
  }
  return { svgPath, pngPath, warnings };
}
