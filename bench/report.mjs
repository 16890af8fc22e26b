// Benchmark: `autoresearch report` on a 100,000-row results.tsv (target: under 2 s end to end).
// Build first: npx tsc -p tsconfig.build.json. Run: node bench/report.mjs [rows]
// Compares the full report (parse + analysis + summary + SVG chart + PNG + writing files) with a
// baseline of just reading the file and splitting it into cells, in the same process.
// BENCH_KEEP=1 keeps the generated files (summary, progress.svg, progress.png) to look at.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadResultsFile } from "../dist/report/load.js";
import { writeSessionReports } from "../dist/report/write.js";

const ROWS = Number(process.argv[2] ?? 100_000);
const DESCRIPTIONS = [
  "increase learning rate to 0.04", "switch to GeLU activation", "ReLU² activation", "double model width",
  "warmup 200 steps", "weight decay 0.2", "batch size 2x with grad accumulation", "dropout 0.1",
  "value residual across layers", "sliding window attention", "Muon optimizer", "init std 0.01",
];

function generate(rows) {
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const lines = ["commit\tval_bpb\tmem_gb\tstatus\tdescription", "a1b2c3d\t1.000000\t44.0\tkeep\tBaseline — no modifications"];
  let best = 1;
  for (let i = 1; i < rows; i++) {
    const commit = (i * 2654435761 % 2 ** 32).toString(16).padStart(8, "0").slice(0, 7);
    const description = `${DESCRIPTIONS[i % DESCRIPTIONS.length]} (variant ${i})`;
    if (rand() < 0.04) {
      lines.push(`${commit}\t—\t—\tcrash\tOOM: ${description}`);
      continue;
    }
    const metric = best + (rand() - 0.03) * 0.01;
    const keep = metric < best;
    if (keep) best = metric;
    lines.push(`${commit}\t${metric.toFixed(6)}\t${(40 + rand() * 8).toFixed(1)}\t${keep ? "keep" : "discard"}\t${description}`);
  }
  return `${lines.join("\n")}\n`;
}

const dir = mkdtempSync(join(tmpdir(), "ar-bench-report-"));
try {
  const file = join(dir, "results.tsv");
  writeFileSync(file, generate(ROWS));

  const time = async (fn) => {
    const start = performance.now();
    const result = await fn();
    return { ms: performance.now() - start, result };
  };
  // Warm the file cache and the native renderer once, as a second `report` run would find them.
  readFileSync(file, "utf8");

  const baseline = await time(() => {
    const rows = readFileSync(file, "utf8").split("\n").map((line) => line.split("\t"));
    return rows.length;
  });
  const full = await time(async () => {
    const data = loadResultsFile(file);
    return writeSessionReports(dir, null, data, { summaryPath: join(dir, "autoresearch-summary.md") });
  });
  // Phases, for where the time goes.
  const parse = await time(() => loadResultsFile(file));
  const { renderSummary } = await import("../dist/report/summary.js");
  const { renderChartSvg } = await import("../dist/report/chart.js");
  const { renderPng } = await import("../dist/report/png.js");
  const summary = await time(() => renderSummary(parse.result));
  const svg = await time(() => renderChartSvg(parse.result));
  const png = await time(() => renderPng(svg.result));

  const fmt = (ms) => `${ms.toFixed(0).padStart(6)} ms`;
  console.log(`rows: ${ROWS.toLocaleString("en-US")} (${(readFileSync(file).length / 1e6).toFixed(1)} MB)`);
  console.log(`baseline (read + split):        ${fmt(baseline.ms)}`);
  console.log(`report end to end:              ${fmt(full.ms)}   (${(full.ms / baseline.ms).toFixed(1)}x baseline) ${full.ms < 2000 ? "OK < 2 s" : "OVER 2 s"}`);
  console.log(`  parse + model:                ${fmt(parse.ms)}`);
  console.log(`  summary markdown:             ${fmt(summary.ms)}`);
  console.log(`  chart svg (${(svg.result.length / 1024).toFixed(0)} KiB):          ${fmt(svg.ms)}`);
  console.log(`  chart png (${(png.result.length / 1024).toFixed(0)} KiB):          ${fmt(png.ms)}`);
  if (full.result.warnings.length > 0) console.log(`warnings: ${full.result.warnings.join("; ")}`);
  process.exitCode = full.ms < 2000 ? 0 : 1;
} finally {
  if (process.env.BENCH_KEEP) console.log(`files kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
