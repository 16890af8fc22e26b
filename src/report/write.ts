import { mkdirSync } from "node:fs";
import { CHART_PNG_FILE, CHART_SVG_FILE, SUMMARY_FILE } from "../file-names.js";
import { writeAtomic } from "../ledger/files.js";
import { basename, dirname, join, relative } from "node:path";
import type { SessionPaths } from "../ledger/paths.js";
import { type ChartOptions, renderChartSvg } from "./chart.js";
import type { SessionData } from "./model.js";
import { type PngOptions, renderPng, renderPngAsync } from "./png.js";
import { type BuildSummaryOptions, renderSummary, resolveNextSteps } from "./summary.js";

/**
 * Phase 3 files, written in the repository root: autoresearch-summary.md, progress.svg and
 * progress.png. They are outputs for people and are never committed: projections of the ledger,
 * each replaced atomically (a reader sees the old or the new file; a link planted at the name is
 * replaced, never followed), and `autoresearch report` makes them again from the records.
 */

/** Not fsynced: a projection lost in a crash is made again from the durable ledger. */
const project = (path: string, content: string | Uint8Array) => writeAtomic(path, content, { durable: false });

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
  let png: Promise<Buffer | Error> | null = null;
  if (options.charts !== false) {
    const svg = renderChartSvg(data, options.chartOptions);
    svgPath = join(dir, CHART_SVG_FILE);
    project(svgPath, svg);
    pngPath = join(dir, CHART_PNG_FILE);
    // The PNG renders off the main thread while the summary is written.
    png = renderPngAsync(svg, options.pngOptions).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  }
  const link = (p: string | null) => (p ? relative(dir, p).split("\\").join("/") || basename(p) : null);
  const nextSteps = await resolveNextSteps(data, options);
  if (png && pngPath) {
    const result = await png;
    if (result instanceof Error) {
      warnings.push(pngWarning(result));
      pngPath = null;
    } else {
      project(pngPath, result);
    }
  }
  const chart = svgPath ? { png: link(pngPath), svg: link(svgPath) } : null;
  project(summaryPath, renderSummary(data, { ...options, nextSteps, chart }));
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
  project(svgPath, svg);
  const warnings: string[] = [];
  let pngPath: string | null = join(dir, CHART_PNG_FILE);
  try {
    project(pngPath, renderPng(svg, pngOptions));
  } catch (error) {
    warnings.push(pngWarning(error as Error));
    pngPath = null;
  }
  return { svgPath, pngPath, warnings };
}

function pngWarning(error: Error): string {
  return `${CHART_PNG_FILE} was not written (${error.message.split("\n")[0]}); ${CHART_SVG_FILE} has the same chart.`;
}
