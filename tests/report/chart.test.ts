import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { renderChartSvg } from "../../src/report/chart.js";
import { fromRecords, fromResults } from "../../src/report/model.js";
import { createRequire } from "node:module";
import { findFontFiles, pngSize, renderPng } from "../../src/report/png.js";
import { writeSessionReports } from "../../src/report/write.js";
import { KARPATHY_RESULTS, REALISTIC_SPECS, buildRecords, removeDir, sessionInfo, tempDir } from "../helpers/session-fixture.js";
import { treeRecords } from "../helpers/tree-fixture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function count(svg: string, pattern: RegExp): number {
  return svg.match(pattern)?.length ?? 0;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe("progress chart", () => {
  const records = buildRecords(1.0023, REALISTIC_SPECS);
  const data = fromRecords(records, sessionInfo());

  it("draws one mark per experiment: kept, discarded, crashes, baseline", () => {
    const svg = renderChartSvg(data);
    expect(svg.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\"")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(count(svg, /class="pt /g)).toBe(records.length);
    expect(count(svg, /class="pt keep"/g)).toBe(5);
    expect(count(svg, /class="pt discard"/g)).toBe(12);
    expect(count(svg, /class="pt crash"/g)).toBe(3);
    expect(count(svg, /class="pt baseline"/g)).toBe(1);
    for (const r of records) expect(svg).toContain(`data-iter="${r.id}"`);
    // The running best: a step line through the baseline and the 5 kept points.
    const best = svg.match(/class="running-best" d="([^"]+)"/)?.[1] ?? "";
    expect(count(best, /V/g)).toBe(5);
    // Kept changes labelled, title with the metric and its direction.
    expect(count(svg, /class="label"/g)).toBe(6);
    expect(svg).toContain("Muon optimizer for matrices");
    expect(svg).toContain("AutoResearch Progress: 20 Experiments, 5 Kept Improvements");
    expect(svg).toContain("val_bpb (lower is better)");
  });

  it("renders a PNG with sane dimensions and visible text", () => {
    const svg = renderChartSvg(data);
    const png = renderPng(svg);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(pngSize(png)).toEqual({ width: 1800, height: 960 });
    // Without any font the PNG is still valid (text is then simply not drawn).
    const bare = renderPng(svg, { fontFiles: [] });
    expect(pngSize(bare)).toEqual({ width: 1800, height: 960 });
    if (findFontFiles().length > 0) expect(png.equals(bare)).toBe(false);
  });

  it("handles a single point, and a session where everything crashed", () => {
    const one = fromRecords(buildRecords(1.0, []), sessionInfo());
    const svg1 = renderChartSvg(one);
    expect(count(svg1, /class="pt /g)).toBe(1);
    expect(pngSize(renderPng(svg1))).not.toBeNull();

    const crashed = fromResults(
      parseResults(["commit\tval_bpb\tmemory_gb\tstatus\tdescription", "a\t0.000000\t0.0\tcrash\tbaseline", "b\t0.000000\t0.0\tcrash\tOOM", ""].join("\n")),
    );
    const svg2 = renderChartSvg(crashed);
    expect(count(svg2, /class="pt crash"/g)).toBe(2);
    expect(svg2).toContain("every experiment crashed");
    expect(pngSize(renderPng(svg2))).not.toBeNull();

    const empty = renderChartSvg(fromRecords([], sessionInfo()));
    expect(empty).toContain("no experiments yet");
    expect(pngSize(renderPng(empty))).not.toBeNull();
  });

  it("escapes descriptions and clips far outliers to the edge", () => {
    const hostile = fromRecords(
      buildRecords(1.0, [
        { description: "<script>alert('x')</script> & \"quotes\"", metric: 0.9 },
        { description: "diverged", metric: 250 },
      ]),
      sessionInfo(),
    );
    const svg = renderChartSvg(hostile);
    expect(svg).not.toContain("<script>");
    expect(svg).toContain("&lt;script&gt;");
    expect(svg).toContain('data-clipped="above"');
    expect(count(svg, /class="pt /g)).toBe(3);
    expect(pngSize(renderPng(svg))).not.toBeNull();
  });

  it("thins 100,000 points per pixel column and says so", () => {
    const lines = ["commit\tval_bpb\tmem_gb\tstatus\tdescription", "0000000\t1.000000\t40.0\tkeep\tbaseline"];
    let best = 1;
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 1; i < 100_000; i++) {
      const r = rand();
      if (r < 0.05) lines.push(`${i.toString(16).padStart(7, "0")}\t—\t—\tcrash\tOOM ${i}`);
      else {
        const m = best + (rand() - 0.02) * 0.01;
        const keep = m < best;
        if (keep) best = m;
        lines.push(`${i.toString(16).padStart(7, "0")}\t${m.toFixed(6)}\t40.0\t${keep ? "keep" : "discard"}\ttry ${i}`);
      }
    }
    const big = fromResults(parseResults(`${lines.join("\n")}\n`));
    const start = performance.now();
    const svg = renderChartSvg(big);
    const png = renderPng(svg);
    const elapsed = performance.now() - start;
    expect(svg).toMatch(/showing [\d,]+ of [\d,]+ discarded points/);
    expect(count(svg, /class="pt /g)).toBeLessThan(10_000);
    expect(svg.length).toBeLessThan(3_000_000);
    expect(pngSize(png)).toEqual({ width: 1800, height: 960 });
    expect(elapsed).toBeLessThan(20_000);
  });

  it("writeSessionReports writes the summary, progress.svg and progress.png beside results.tsv", async () => {
    const root = tempDir();
    dirs.push(root);
    const written = await writeSessionReports(root, null, fromResults(parseResults(KARPATHY_RESULTS)));
    expect(written.summaryPath).toBe(join(root, "autoresearch-summary.md"));
    expect(written.svgPath).toBe(join(root, "progress.svg"));
    expect(written.pngPath).toBe(join(root, "progress.png"));
    expect(written.warnings).toEqual([]);
    expect(readFileSync(written.pngPath as string).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const md = readFileSync(written.summaryPath, "utf8");
    expect(md).toContain("![progress](progress.png)");
    expect(md).toContain("[progress.svg](progress.svg)");

    const noCharts = await writeSessionReports(root, null, fromResults(parseResults(KARPATHY_RESULTS)), { summaryPath: join(root, "out", "s.md"), charts: false });
    expect(noCharts.svgPath).toBeNull();
    expect(existsSync(join(root, "out", "progress.svg"))).toBe(false);
    expect(readFileSync(noCharts.summaryPath, "utf8")).not.toContain("## Progress Chart");
  });
});

describe("progress chart: labels and legend stay readable", () => {
  // Kept changes with wide capitals at the right edge, at the top, and a baseline at the bottom.
  const wide = (i: number) => `${i % 2 ? "MWMWMWMWMW" : "LEARNING_RATE"} WARMUP_MAXIMUM_MWMWMW ${i} -> ${i + 1} (x2)`;
  const specs = Array.from({ length: 30 }, (_, i) => ({
    description: wide(i),
    category: "optimizer" as const,
    metric: i % 4 === 3 ? 1.0 - (i + 1) * 0.01 : 1.1,
  }));
  const records = buildRecords(1.0, specs).map((r, i) => (i === 0 ? r : { ...r, status: r.metric !== null && r.metric < 1 ? ("keep" as const) : r.status }));

  it("every label is drawn inside the picture (no ink on the picture's edges, rendered for real)", () => {
    const svg = renderChartSvg(fromRecords(records, sessionInfo()));
    type Rendered = { width: number; height: number; pixels: Buffer };
    const { Resvg } = createRequire(import.meta.url)("@resvg/resvg-js") as { Resvg: new (svg: string, o: object) => { render(): Rendered } };
    const image = new Resvg(svg, { background: "#ffffff", font: { loadSystemFonts: false, fontFiles: findFontFiles() } }).render();
    const pixels = image.pixels; // a getter that copies: read it once
    const inked = (x: number, y: number) => {
      const at = (y * image.width + x) * 4;
      return (pixels[at] ?? 255) < 200 || (pixels[at + 1] ?? 255) < 200 || (pixels[at + 2] ?? 255) < 200;
    };
    const edge: string[] = [];
    for (let y = 0; y < image.height; y++) for (const x of [0, 1, image.width - 2, image.width - 1]) if (inked(x, y)) edge.push(`${x},${y}`);
    for (let x = 0; x < image.width; x++) for (const y of [0, 1]) if (inked(x, y)) edge.push(`${x},${y}`);
    expect(edge).toEqual([]);
    expect(count(svg, /class="label"/g)).toBeGreaterThan(2);
  });

  it("the legend shows the baseline, and discarded points are solid", () => {
    const svg = renderChartSvg(fromRecords(records, sessionInfo()));
    const legend = svg.match(/<g class="legend"[\s\S]*?<\/g>/)?.[0] ?? "";
    expect(legend).toContain(">baseline<");
    expect(legend).toContain(">discarded<");
    expect(svg).toMatch(/<g class="discarded" fill="#7d858d" stroke="#ffffff"/);
    expect(svg).not.toMatch(/class="discarded"[^>]*fill-opacity/);
  });
});

describe("progress chart of a research tree", () => {
  it("the best's line follows the head's lineage; kept nodes in other branches are hollow and off it", () => {
    const svg = renderChartSvg(fromRecords(treeRecords(), sessionInfo()));
    // Lineage #0 -> #2 -> #4: two steps down; #1 and #5 (kept elsewhere) do not move the line.
    const best = svg.match(/class="running-best" d="([^"]+)"/)?.[1] ?? "";
    expect(count(best, /V/g)).toBe(2);
    expect([...svg.matchAll(/class="pt keep" data-iter="(\d+)"/g)].map((m) => m[1])).toEqual(["2", "4"]);
    expect([...svg.matchAll(/class="pt keep off-lineage" data-iter="(\d+)"/g)].map((m) => m[1])).toEqual(["1", "5"]);
    expect(svg).toMatch(/<g class="kept-off-lineage" fill="#ffffff"/);
    const legend = svg.match(/<g class="legend"[\s\S]*?<\/g>/)?.[0] ?? "";
    expect(legend).toContain(">best's lineage<");
    expect(legend).toContain(">kept, another branch<");
    expect(svg).toContain("best 0.960000 at #4");
  });
});
