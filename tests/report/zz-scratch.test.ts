import { writeFileSync } from "node:fs";
import { test } from "vitest";
import { fromRecords } from "../../src/report/model.js";
import { renderChartSvg } from "../../src/report/chart.js";
import { renderPng } from "../../src/report/png.js";
import { renderSummary } from "../../src/report/summary.js";
import { renderProgressReport } from "../../src/report/progress.js";
import { buildRecords, REALISTIC_SPECS, sessionInfo } from "../helpers/session-fixture.js";
test("render", () => {
  const data = fromRecords(buildRecords(1.0023, REALISTIC_SPECS), sessionInfo());
  const svg = renderChartSvg(data);
  writeFileSync("/tmp/arscratch/p.svg", svg);
  writeFileSync("/tmp/arscratch/p.png", renderPng(svg));
  writeFileSync("/tmp/arscratch/summary.md", renderSummary(data));
  writeFileSync("/tmp/arscratch/progress.md", renderProgressReport(data, { now: new Date("2025-03-09T00:30:00Z") }));
});
