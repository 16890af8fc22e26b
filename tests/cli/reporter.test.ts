import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { terminalReporter } from "../../src/cli/reporter.js";
import type { ExperimentRecord } from "../../src/types.js";

function render(record: Partial<ExperimentRecord>): string {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const report = terminalReporter(out as unknown as NodeJS.WriteStream);
  const full = { id: 3, commit: "abcdef0123456789", description: "WIDTH 16 -> 64", reason: "violation", detail: "violation: prepare.js changed", bestBefore: 1.0, ...record } as ExperimentRecord;
  report({ type: "experiment", record: full } as Parameters<typeof report>[0]);
  return text;
}

describe("terminal reporter", () => {
  it("never shows a metric or delta for a crashed run, even when the run printed one", () => {
    const line = render({ status: "crash", metric: 0.5 });
    expect(line).toContain("—");
    expect(line).not.toContain("0.5");
    expect(line).not.toMatch(/[-+]0\.\d/);
    expect(line).toContain("violation: prepare.js changed");
  });

  it("shows the metric and delta of a decided run", () => {
    const line = render({ status: "discard", metric: 1.25, reason: "regression", detail: "regression" });
    expect(line).toContain("1.250000");
    expect(line).toContain("+0.250000");
  });
});
