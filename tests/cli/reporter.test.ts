import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { terminalReporter } from "../../src/cli/reporter.js";
import type { ExperimentRecord } from "../../src/types.js";

/** The text a person reads: colour codes removed (picocolors colours output when CI is set). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escape codes
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

function render(record: Partial<ExperimentRecord>): string {
  const out = new PassThrough();
  let text = "";
  out.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const report = terminalReporter(out as unknown as NodeJS.WriteStream);
  const full = { id: 3, commit: "abcdef0123456789", description: "WIDTH 16 -> 64", reason: "violation", detail: "violation: prepare.js changed", bestBefore: 1.0, ...record } as ExperimentRecord;
  report({ type: "experiment", record: full } as Parameters<typeof report>[0]);
  return plain(text);
}

/** A terminal of `columns` that hands every write to `sink` at once (no stream buffering). */
function fakeTerminal(columns: number, sink: (text: string) => void): NodeJS.WriteStream {
  const write = (chunk: string): boolean => {
    sink(String(chunk));
    return true;
  };
  return { isTTY: true, columns, write } as unknown as NodeJS.WriteStream;
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

  it("shows a keep's confidence against the noise floor, flags one within noise, and each check", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const report = terminalReporter(out as unknown as NodeJS.WriteStream);
    const keep = (metric: number, runs?: number) =>
      ({
        type: "experiment",
        noise: 0.01,
        record: { id: 2, commit: "abcdef0123", description: "x", status: "keep", reason: "improved", metric, bestBefore: 1.0, ...(runs && { runs: Array.from({ length: runs }, () => ({ seed: 0, metric, durationSec: 1 })) }) },
      }) as unknown as Parameters<typeof report>[0];
    report(keep(0.97, 3));
    report(keep(0.995));
    report({ type: "check", iteration: 3, command: "pytest -q", ok: false, detail: "exit code 1" });
    const lines = plain(text).trim().split("\n");
    expect(lines[0]).toContain("(mean of 3 runs, 3.0× noise)");
    expect(lines[1]).toContain("(0.5× noise, within noise)");
    expect(lines[2]).toBe("  check failed pytest -q: exit code 1");
  });

  afterEach(() => vi.useRealTimers());

  it("the live line fits a narrow terminal and shows k/N and an ETA", () => {
    vi.useFakeTimers({ now: new Date("2026-11-27T22:00:00Z") });
    let text = "";
    const report = terminalReporter(fakeTerminal(40, (s) => (text += s)));
    const config = { metric: "val_bpb", direction: "min", budgetSec: 5, maxIterations: 5, proposer: "builtin" };
    report({ type: "session-start", resumed: false, session: { config, branch: "autoresearch/t", platform: { label: "CPU" } } } as unknown as Parameters<typeof report>[0]);
    const decided = (id: number) => ({ type: "experiment", record: { id, commit: "abcdef0123", description: "x", status: "keep", metric: 1, bestBefore: 1.1 } }) as unknown as Parameters<typeof report>[0];
    report(decided(0));
    vi.setSystemTime(new Date("2026-11-27T22:00:10Z"));
    report(decided(1));
    text = "";
    report({ type: "run-start", iteration: 2, description: "a very long description of a change that would wrap a narrow terminal", commit: "c", budgetSec: 5, timeoutSec: 10 });
    const drawn = text.split("\r\x1b[2K").filter((s) => s !== "");
    expect(drawn.length).toBeGreaterThan(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing colour codes to measure
    for (const line of drawn) expect(Array.from(line.replace(/\x1b\[[0-9;]*m/g, "")).length).toBeLessThanOrEqual(39);
    let wideText = "";
    const full = terminalReporter(fakeTerminal(200, (s) => (wideText += s)));
    full({ type: "session-start", resumed: false, session: { config, branch: "autoresearch/t", platform: { label: "CPU" } } } as unknown as Parameters<typeof report>[0]);
    full(decided(0));
    vi.setSystemTime(new Date("2026-11-27T22:00:20Z"));
    full(decided(1));
    full({ type: "run-start", iteration: 2, description: "LR 0.01 -> 0.02", commit: "c", budgetSec: 5, timeoutSec: 10 });
    // 4 experiments left (2..5) at 10 s each (decided at 22:00:10 and 22:00:20).
    expect(plain(wideText)).toMatch(/▶ 2\/5 LR 0\.01 -> 0\.02 .* · ETA 40s/);
    report({ type: "session-end", reason: "done" } as unknown as Parameters<typeof report>[0]);
    full({ type: "session-end", reason: "done" } as unknown as Parameters<typeof report>[0]);
  });
});
