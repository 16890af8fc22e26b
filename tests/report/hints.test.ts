import { describe, expect, it } from "vitest";
import { baselineFailureHint, findMetricCandidates, noMetricHint, suggestedTimeoutSec, timeoutHint } from "../../src/report/hints.js";
import { OutputScanner } from "../../src/runner/output-scanner.js";

/** What the runner itself reads from `log` with the suggested flags (the streaming scanner, last match wins). */
function runnerReads(log: string, flags: string[]): number | null {
  const name = flags[flags.indexOf("--metric") + 1] as string;
  const at = flags.indexOf("--metric-pattern");
  const scanner = new OutputScanner(at === -1 ? { name } : { name, pattern: flags[at + 1] as string });
  for (const line of log.split("\n")) scanner.line(line);
  return scanner.result().metric;
}

const LOG = [
  "loading data",
  "using 4 workers",
  "step 100 | loss 2.5000 | lr 3e-4 | dt 120ms",
  "step 200 | loss 1.9000 | lr 3e-4 | dt 118ms",
  "val_loss 0.7",
  "epoch 1 val_loss 0.5",
  "accuracy=0.91",
  "loss: 1.2",
  "eval/ppl: 3.25e+1",
  "done",
].join("\n");

describe("metric candidates in a log without the metric line", () => {
  const found = findMetricCandidates(LOG, 10);

  it("finds `name value`, `name=value` and `name: value`, the last value of each, and no counters or prose", () => {
    const byName = Object.fromEntries(found.map((c) => [c.name, c.value]));
    expect(byName).toEqual({ val_loss: 0.5, accuracy: 0.91, loss: 1.2, "eval/ppl": 32.5 });
    expect(found.find((c) => c.name === "val_loss")?.lineNo).toBe(6);
  });

  it("every suggested flag set is read back to the shown value by the runner's own scanner", () => {
    expect(found.length).toBe(4);
    for (const c of found) expect(runnerReads(LOG, c.flags), `${c.name}: ${c.flags.join(" ")}`).toBe(c.value);
  });

  it("suggests plain --metric where the default line format already reads it, a pattern otherwise", () => {
    const flags = Object.fromEntries(found.map((c) => [c.name, c.flags]));
    expect(flags.accuracy).toEqual(["--metric", "accuracy"]);
    expect(flags["eval/ppl"]).toEqual(["--metric", "eval/ppl"]);
    // `loss: 1.2` is the last line with loss, but the default pattern would read it: no pattern needed.
    expect(flags.loss).toEqual(["--metric", "loss"]);
    expect(flags.val_loss?.[2]).toBe("--metric-pattern");
  });

  it("a name printed mid-line after the last line-start value needs the pattern (the default would read the older value)", () => {
    const log = "loss: 3.0\nstep 5 | loss 1.5\n";
    const [c] = findMetricCandidates(log);
    expect(c?.value).toBe(1.5);
    expect(c?.flags[2]).toBe("--metric-pattern");
    expect(runnerReads(log, c?.flags ?? [])).toBe(1.5);
  });

  it("the pattern does not read a longer name that ends with the same word", () => {
    const log = "train_loss 9.0\nloss 1.0\ntrain_loss 8.0\n";
    const loss = findMetricCandidates(log).find((c) => c.name === "loss");
    expect(loss?.value).toBe(1);
    expect(runnerReads(log, loss?.flags ?? [])).toBe(1);
  });

  it("metric-like names come first, at most the limit", () => {
    const log = "alpha: 1\nbeta: 2\ngamma: 3\nval_bpb_est 0.9\n";
    const names = findMetricCandidates(log, 2).map((c) => c.name);
    expect(names).toEqual(["val_bpb_est", "gamma"]);
  });

  it("a log with no name/number pair has no candidates", () => {
    expect(findMetricCandidates("hello\nstep 3\nusing 4 workers\n")).toEqual([]);
  });
});

describe("the hints", () => {
  it("no metric: names the expected line, lists the candidates with their line numbers and shell-quoted flags", () => {
    const hint = noMetricHint(LOG, { name: "val_bpb" }, ".autoresearch/failed/x/runs/0.log");
    expect(hint).toMatch(/No line of its log reads `val_bpb: <number>`/);
    expect(hint).toMatch(/line 6: epoch 1 val_loss 0\.5\n\s+read it with: --metric val_loss --metric-pattern '.+'/);
    expect(hint).toMatch(/line 7: accuracy=0\.91\n\s+read it with: --metric accuracy\n/);
    expect(hint).toContain(".autoresearch/failed/x/runs/0.log");
  });

  it("no metric in a session set to maximise: a loss it offers comes with --direction min (its flags alone would keep every worse loss)", () => {
    const hint = noMetricHint(LOG, { name: "accuracy_top1" }, "0.log", "max");
    expect(hint).toMatch(/line 8: loss: 1\.2\n\s+read it with: --metric loss --direction min\n/);
    // An accuracy already goes the session's way: no --direction.
    expect(hint).toMatch(/line 7: accuracy=0\.91\n\s+read it with: --metric accuracy\n/);
    // And the other way: in a session set to minimise, the loss needs none and the accuracy gets --direction max.
    const min = noMetricHint(LOG, { name: "val_bpb" }, "0.log", "min");
    expect(min).toMatch(/read it with: --metric loss\n/);
    expect(min).toMatch(/read it with: --metric accuracy --direction max\n/);
  });

  it("no metric and nothing like one: says what to print", () => {
    const hint = noMetricHint("starting\n", { name: "val_bpb", pattern: "bpb=(\\d+)" }, "0.log");
    expect(hint).toMatch(/No line of its log matches --metric-pattern 'bpb=\(\\d\+\)', and none looks like a metric/);
    expect(hint).toMatch(/print `val_bpb: <number>`/);
  });

  it("timeout: how long it ran, the timeout and the budget, and a --timeout above 2x the budget", () => {
    const hint = timeoutHint(600.4, 300, 600, "0.log");
    expect(hint).toMatch(/ran 10m and was killed at the hard timeout of 10m \(2x the budget of 5m\)/);
    expect(hint).toMatch(/--timeout 15m\b/);
    expect(hint).toMatch(/--budget/);
    expect(suggestedTimeoutSec(300, 600)).toBeGreaterThan(600);
    // Already above 3x: still grows, so the suggestion is never the timeout that failed.
    expect(suggestedTimeoutSec(60, 600)).toBe(900);
  });

  it("other failures get no special hint", () => {
    const base = { durationSec: 1, budgetSec: 5, timeoutSec: 10, metric: { name: "m" }, log: "m: 1\n", logPath: "0.log" };
    expect(baselineFailureHint({ ...base, reason: "exit-code" })).toBeNull();
    expect(baselineFailureHint({ ...base, reason: "timeout" })).toMatch(/hard timeout of 10s/);
    expect(baselineFailureHint({ ...base, reason: "no-metric" })).toMatch(/read it with: --metric m/);
  });
});
