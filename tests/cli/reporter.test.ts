import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { jsonReporter, terminalReporter } from "../../src/cli/reporter.js";
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
  it("a refused proposal is one quiet line, not one that reads like a result row; at 80 columns it fits", () => {
    let text = "";
    const report = terminalReporter(fakeTerminal(80, (t) => (text += t)));
    report({ type: "proposal-rejected", iteration: 2, description: "LEARNING_RATE 0.003 -> 0.0015 (halve the learning rate to steady the loss)", reason: "it was made on an earlier best and no longer applies on the current best #1: the text to replace was not found" });
    const lines = plain(text).replaceAll("\r\x1b[2K", "").split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {2}· not run: LEARNING_RATE 0\.003 -> 0\.0015/);
    expect(lines[0]).not.toMatch(/rejected/);
    expect([...(lines[0] ?? "")].length).toBeLessThanOrEqual(79);
  });

  it("one worker: a proposal made ahead never takes over the live line of the experiment that runs next; it shows once nothing else goes on", () => {
    let text = "";
    const report = terminalReporter(fakeTerminal(80, (t) => (text += t)));
    type Event = Parameters<typeof report>[0];
    const emit = (event: Record<string, unknown>) => report(event as unknown as Event);
    const shown = () => {
      const screen = plain(text);
      text = "";
      return screen;
    };
    emit({ type: "proposal-start", iteration: 1 });
    expect(shown()).toContain("experiment 1: proposing a change");
    emit({ type: "proposal", iteration: 1, proposal: { description: "LR 0.01 -> 0.02", category: "optimizer", edits: [] } });
    // Made ahead while experiment 1 waits to run, then while it runs: not shown.
    emit({ type: "proposal-start", iteration: 2 });
    emit({ type: "run-start", iteration: 1, description: "LR 0.01 -> 0.02", commit: "abcdef0", budgetSec: 60, timeoutSec: 120, worker: 0 });
    emit({ type: "proposal-start", iteration: 2 });
    // Experiment 1's confirmation run starts under its number too: experiment 2 still waits.
    emit({ type: "proposal", iteration: 2, proposal: { description: "BATCH 32 -> 64", category: "training", edits: [] } });
    emit({ type: "proposal-start", iteration: 3 });
    emit({ type: "run-start", iteration: 1, description: "LR 0.01 -> 0.02 (confirmation run 2)", commit: "abcdef0", budgetSec: 60, timeoutSec: 120, worker: 0 });
    const meanwhile = shown();
    expect(meanwhile).toContain("LR 0.01 -> 0.02");
    expect(meanwhile).not.toContain("proposing");
    // Experiment 1 decided, experiment 2 made and waiting to run: experiment 3's proposal does not show.
    const decided = { id: 1, commit: "abcdef0123456789", description: "LR 0.01 -> 0.02", status: "discard", reason: "regression", detail: "regression", metric: 1.2, bestBefore: 1.0, worker: 0 };
    emit({ type: "experiment", record: decided });
    expect(shown()).not.toContain("proposing");
    // Experiment 2 decided too, experiment 3 still being proposed: now it is what goes on.
    emit({ type: "run-start", iteration: 2, description: "BATCH 32 -> 64", commit: "abcdef1", budgetSec: 60, timeoutSec: 120, worker: 0 });
    emit({ type: "experiment", record: { ...decided, id: 2, description: "BATCH 32 -> 64" } });
    expect(shown()).toContain("experiment 3: proposing a change");
  });

  it("a progress report printed at a terminal fits its width", () => {
    let text = "";
    const report = terminalReporter(fakeTerminal(80, (t) => (text += t)));
    const long = `**Noise floor:** unknown (not measured: ${"the baseline ran once and no code ran twice, ".repeat(5)}so no keep is re-measured)`;
    report({ type: "progress-report", markdown: `## Progress\n\n${long}\n` } as unknown as Parameters<typeof report>[0]);
    const lines = plain(text).replaceAll("\r\x1b[2K", "").split("\n");
    expect(lines.filter((line) => [...line].length > 79)).toEqual([]);
    expect(lines.join(" ")).toContain("so no keep is re-measured)");
  });

  it("at 80 columns a result line fits the width (the description is shortened); a log gets it whole", () => {
    let text = "";
    const report = terminalReporter(fakeTerminal(80, (t) => (text += t)));
    const description = "WIDTH 16 -> 64 and DEPTH 2 -> 4 with a longer warmup and a cosine schedule to the end";
    const record = { id: 12, commit: "abcdef0123456789", description, status: "discard", reason: "regression", detail: "regression", metric: 1.25, bestBefore: 1.0 };
    report({ type: "experiment", record } as unknown as Parameters<typeof report>[0]);
    const line = plain(text).replaceAll("\r\x1b[2K", "").split("\n").filter(Boolean)[0] ?? "";
    expect([...line].length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/^ 12 discard/);
    expect(line).toContain("(regression)");
    expect(render({ ...record, status: "discard" } as Partial<ExperimentRecord>)).toContain(description);
  });

  it("at 80 columns a keep within noise or never re-measured keeps its flag: the rest of its note gives way first", () => {
    const lineOf = (record: Partial<ExperimentRecord>, noise: number | null): string => {
      let text = "";
      const report = terminalReporter(fakeTerminal(80, (t) => (text += t)));
      const full = { id: 12, commit: "abcdef0123456789", description: "WIDTH 16 -> 64 and DEPTH 2 -> 4", status: "keep", reason: "improved", bestBefore: 3.18, ...record };
      report({ type: "experiment", record: full, noise } as unknown as Parameters<typeof report>[0]);
      return plain(text).replaceAll("\r\x1b[2K", "").split("\n").filter(Boolean)[0] ?? "";
    };
    // The whole note (" (mean of 2 runs, 1.1× noise, within noise)") leaves the description no room.
    const within = lineOf({ metric: 3.168, runs: [{ seed: 0, metric: 3.17, durationSec: 1 }, { seed: 1, metric: 3.166, durationSec: 1 }] } as Partial<ExperimentRecord>, 0.011);
    expect([...within].length).toBeLessThanOrEqual(79);
    expect(within).toMatch(/\(within noise\)$/);
    expect(within).toContain("WIDTH 16");
    const once = lineOf({ metric: 3.168 }, null);
    expect([...once].length).toBeLessThanOrEqual(79);
    expect(once).toMatch(/never re-measured/);
  });

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

  it("judges a keep decided against the load by its load-adjusted standard error, not the raw noise floor", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const report = terminalReporter(out as unknown as NodeJS.WriteStream);
    // 0.005 better: 0.5x the noise floor, but 3.3 standard errors of its difference from its parent at the same load.
    const keep = (loadSe: number) =>
      ({
        type: "experiment",
        noise: 0.01,
        record: { id: 2, commit: "abcdef0123", description: "x", status: "keep", reason: "improved", metric: 0.995, bestBefore: 1.0, loadDelta: -0.005, loadSe, runs: [0.99, 1.0].map((metric, seed) => ({ seed, metric, durationSec: 1 })) },
      }) as unknown as Parameters<typeof report>[0];
    report(keep(0.0015));
    report(keep(0.004));
    const lines = plain(text).trim().split("\n");
    expect(lines[0]).toContain("(2 runs, load-adjusted, 3.3 standard errors)");
    expect(lines[0]).not.toContain("within noise");
    expect(lines[1]).toContain("(2 runs, load-adjusted, 1.3 standard errors, within noise)");
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

/**
 * The screen a terminal would show after these writes: enough of a VT100 for what the reporter
 * sends (\r, \n, erase line, cursor up, erase to the end of the screen), colours removed.
 */
function screenOf(text: string): string[] {
  const lines: string[] = [""];
  let row = 0;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: parsing terminal escape codes
  const tokens = plain(text).split(/(\x1b\[\d*[AKJ]|\r|\n)/);
  for (const token of tokens) {
    if (token === "") continue;
    if (token === "\r") continue; // every write the reporter makes after \r starts a whole line
    if (token === "\n") {
      row++;
      if (lines.length <= row) lines.push("");
    } else if (!token.startsWith("\x1b")) lines[row] = (lines[row] ?? "") + token;
    else if (token.endsWith("K")) lines[row] = "";
    else if (token.endsWith("J")) lines.splice(row, lines.length - row, "");
    else row = Math.max(0, row - Number(token.slice(2, -1) || "1"));
  }
  return lines;
}

describe("terminal reporter with several workers", () => {
  afterEach(() => vi.useRealTimers());
  type Event = Parameters<ReturnType<typeof terminalReporter>>[0];
  const config = { metric: "val_bpb", direction: "min", budgetSec: 10, maxIterations: 20, proposer: "builtin", workers: 3 };
  const start = { type: "session-start", resumed: false, session: { config, branch: "autoresearch/t", platform: { label: "CUDA" } } } as unknown as Event;
  const runStart = (iteration: number, worker: number, description: string): Event => ({ type: "run-start", iteration, description, commit: "c", budgetSec: 10, timeoutSec: 20, worker, device: String(worker) });
  const decided = (id: number, worker: number, extra: Partial<ExperimentRecord> = {}): Event =>
    ({ type: "experiment", record: { id, worker, commit: "abcdef0123", description: `exp ${id}`, status: "discard", reason: "regression", metric: 1.2, bestBefore: 1.1, ...extra } }) as unknown as Event;

  it("on a terminal: one live line per worker and a pipeline line, redrawn in place; finished runs leave their line", () => {
    vi.useFakeTimers({ now: new Date("2026-11-27T22:00:00Z") });
    let text = "";
    const report = terminalReporter(fakeTerminal(120, (s) => (text += s)));
    report(start);
    report(runStart(1, 0, "LR 0.01 -> 0.02"));
    report(runStart(2, 1, "WIDTH 64 -> 128"));
    report({ type: "run-start", iteration: 3, description: "DEPTH 4 -> 6", commit: "c", budgetSec: 10, timeoutSec: 20, worker: 2, device: "2", host: "gpu7" });
    report({ type: "pipeline", proposing: 1, ready: 2, running: 3, workers: 3 });
    vi.setSystemTime(new Date("2026-11-27T22:00:05Z"));
    report({ type: "run-metric", iteration: 2, value: 1.234567, worker: 1 });
    vi.advanceTimersByTime(300);
    let screen = screenOf(text);
    expect(screen).toHaveLength(5);
    expect(screen[0]).toMatch(/^Starting autoresearch\/t .*3 workers/);
    expect(screen[1]).toMatch(/^w0 \[0\] #1 LR 0\.01 -> 0\.02 █+░+ 5s\/10s$/);
    expect(screen[2]).toMatch(/^w1 \[1\] #2 WIDTH 64 -> 128 █+░+ 5s\/10s val_bpb 1\.234567$/);
    expect(screen[3]).toMatch(/^w2 \[gpu7:2\] #3 DEPTH 4 -> 6 /);
    expect(screen[4]).toMatch(/proposing 1 · ready 2 · running 3\/3 · experiment 3\/20$/);

    report(decided(2, 1, { status: "keep", reason: "improved", metric: 1.05, rebaseOf: 1 }));
    report({ type: "run-pending", iteration: 4, worker: 1, job: "123" });
    vi.advanceTimersByTime(300);
    screen = screenOf(text);
    // The decided line stays above the board; worker 1's line now shows its queued job.
    expect(screen).toHaveLength(6);
    expect(screen[1]).toMatch(/^\[w1\]\s+2 keep\s+val_bpb\s+1\.050000 -0\.050000\s+abcdef0 exp 2 \(re-run of #1\)/);
    expect(screen[3]).toMatch(/^w1 #4 pending in queue \(job 123\)/);
    expect(screen.filter((l) => l.includes("WIDTH 64"))).toHaveLength(0);

    report(decided(1, 0));
    // The pipeline line counts what runs now, not what the last pipeline event said.
    expect(screenOf(text).at(-1)).toContain("running 2/3");
    report(decided(3, 2));
    report(decided(4, 1));
    report({ type: "pipeline", proposing: 0, ready: 0, running: 0, workers: 3 });
    screen = screenOf(text);
    expect(screen.slice(-4, -1)).toEqual(["w0 idle", "w1 idle", "w2 idle"]);
    expect(screen.at(-1)).toMatch(/^ {2}proposing 0 · ready 0 · running 0\/3 · experiment 4\/20 · ETA \d+s$/);
    report({ type: "session-end", reason: "done" } as unknown as Event);
    screen = screenOf(text);
    expect(screen.at(-2)).toBe("Session ended: done");
    expect(screen.filter((l) => l.includes("idle"))).toHaveLength(0);
  });

  it("every board line is cut to a narrow terminal's width", () => {
    vi.useFakeTimers({ now: new Date("2026-11-27T22:00:00Z") });
    let text = "";
    const report = terminalReporter(fakeTerminal(30, (s) => (text += s)));
    report(start);
    for (const k of [0, 1, 2]) report(runStart(k + 1, k, "a description long enough to wrap a narrow terminal"));
    vi.advanceTimersByTime(600);
    const screen = screenOf(text);
    // The start line broken to the width above it, then the board: one line per worker and the pipeline.
    expect(screen.slice(-4).map((l) => l.slice(0, 2))).toEqual(["w0", "w1", "w2", "  "]);
    for (const line of screen) expect(Array.from(line).length).toBeLessThanOrEqual(29);
    report({ type: "session-end", reason: "done" } as unknown as Event);
  });

  it("without a terminal: no redraws, the usual lines with [w<k>], starts and queue waits included", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const report = terminalReporter(out as unknown as NodeJS.WriteStream);
    report(start);
    report(runStart(1, 0, "LR up"));
    report({ type: "run-pending", iteration: 2, worker: 1, job: "4242" });
    report({ type: "check", iteration: 1, command: "pytest", ok: true, detail: "", worker: 0 });
    report(decided(1, 0));
    report({ type: "session-end", reason: "done" } as unknown as Event);
    const lines = plain(text).trim().split("\n");
    expect(text).not.toContain("\x1b[2K");
    expect(text).not.toContain("\x1b[J");
    expect(lines.slice(1)).toEqual([
      // Said once: a start's number is its order, not the experiment's (which it gets when decided, as runs end).
      "  (each run below shows the order it started in; experiments are numbered when decided, in the order they end)",
      "[w0] ▶ start 1/20 LR up (device 0)",
      "[w1]   2/20 pending in queue (job 4242)",
      "[w0]   check passed pytest",
      expect.stringMatching(/^\[w0\]\s+1 discard val_bpb\s+1\.200000 \+0\.100000\s+abcdef0 exp 1 \(regression\)$/),
      "Session ended: done",
    ]);
  });

  it("a one-worker session shows no board and no worker tags", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const report = terminalReporter(out as unknown as NodeJS.WriteStream);
    report({ ...start, session: { ...(start as { session: object }).session, config: { ...config, workers: 1 } } } as unknown as Event);
    report(runStart(1, 0, "LR up"));
    report(decided(1, 0));
    expect(plain(text)).not.toContain("[w0]");
    expect(plain(text)).not.toContain("▶");
    expect(plain(text)).not.toContain("workers");
  });
});

describe("--json with several workers", () => {
  it("run-start, run-metric, run-pending, pipeline and experiment events carry the worker as NDJSON", () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const report = jsonReporter(out);
    report({ type: "pipeline", proposing: 1, ready: 0, running: 2, workers: 2 });
    report({ type: "run-start", iteration: 3, description: "x", commit: "c", budgetSec: 5, timeoutSec: 10, worker: 1, device: "1", host: "gpu2" });
    report({ type: "run-pending", iteration: 4, worker: 0, job: "77" });
    report({ type: "run-metric", iteration: 3, value: 0.5, worker: 1 });
    report({ type: "experiment", record: { id: 3, worker: 1, device: "1" } } as unknown as Parameters<typeof report>[0]);
    const events = text.trim().split("\n").map((line) => JSON.parse(line));
    expect(events.map((e) => e.type)).toEqual(["pipeline", "run-start", "run-pending", "run-metric", "experiment"]);
    expect(events[0]).toMatchObject({ proposing: 1, running: 2, workers: 2 });
    expect(events[1]).toMatchObject({ worker: 1, device: "1", host: "gpu2" });
    expect(events[2]).toMatchObject({ worker: 0, job: "77" });
    expect(events[3]).toMatchObject({ worker: 1 });
    expect(events[4].record).toMatchObject({ worker: 1, device: "1" });
    for (const e of events) expect(typeof e.at).toBe("string");
  });
});
