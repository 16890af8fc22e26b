/**
 * Reports: the progress report (spec 2.6), the final summary and merge recommendation (3.1,
 * 3.2), the progress chart, exports for papers, and the local merge. The loop feeds them a
 * SessionData built with `fromRecords(records, session)`; the commands read files with
 * `loadReportData`.
 */
export { type ChartOptions, renderChartSvg } from "./chart.js";
export { EXPORT_FORMATS, type ExportFormat, exportRows, exportTable } from "./export.js";
export { loadReportData, loadResultsFile } from "./load.js";
export {
  MERGE_STRATEGIES,
  type MergePlan,
  type MergeStrategy,
  assertCleanTree,
  executeMerge,
  mergeMessage,
  planMerge,
} from "./merge.js";
export { type Analysis, type ReportExperiment, type SessionData, analyze, fromRecords, fromResults, guessCategory } from "./model.js";
export { recommendNextSteps } from "./next-steps.js";
export { findFontFiles, pngSize, renderPng } from "./png.js";
export { type ProgressOptions, type ProgressSnapshot, progressSnapshot, renderProgressReport, writeProgressReport } from "./progress.js";
export { type BuildSummaryOptions, type SummaryOptions, buildSummary, renderSummary, resolveNextSteps } from "./summary.js";
export { CHART_PNG_FILE, CHART_SVG_FILE, SUMMARY_FILE } from "../file-names.js";
export { type WriteReportsOptions, type WrittenReports, writeCharts, writeSessionReports } from "./write.js";
