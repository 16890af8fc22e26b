import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type FinalizeAttempt,
  type FinalizeBatch,
  type FinalizeHeader,
  FinalizeLog,
  type FinalizeRun,
  type FinalizeRunKind,
  finalizeAttempts,
  finalizeStatus,
  readFinalizeEntries,
} from "../../src/ledger/finalize-records.js";
import { analyzeFinalize, defaultRunsPerVariant, plannedPairs, smallestSetPlan, smallestSetVerdict } from "../../src/ledger/finalize-verdicts.js";
import { baseDependencies, type ChangeSet, findCompanions, onBase, withoutChanges } from "../../src/loop/finalize/changes.js";

/** A header for changes 1..n (min metric, Z 2, noise floor 0.01). */
function header(changes: { id: number; keptDelta: number }[], extra: Partial<FinalizeHeader> = {}): FinalizeHeader {
  return {
    type: "header",
    format: 1,
    attempt: 1,
    at: "2025-01-01T00:00:00.000Z",
    metric: "val_loss",
    direction: "min",
    best: { id: changes.at(-1)?.id ?? 0, commit: "b".repeat(40) },
    baseline: { id: 0, commit: "a".repeat(40) },
    changes: changes.map((c) => ({ id: c.id, commit: `${c.id}`.repeat(40).slice(0, 40), description: `change ${c.id}`, keptDelta: c.keptDelta })),
    runsPerVariant: 4,
    runsFrom: "--runs",
    plannedRuns: 0,
    budgetSec: 60,
    timeoutSec: 120,
    workers: 1,
    confidence: 2,
    noiseFloor: 0.01,
    firstSeed: 3,
    companions: [],
    unremovable: [],
    ...extra,
  };
}

/** A noise of sd ~0.01 that differs by round and variant, the same every time the test runs. */
function noise(round: number, salt: number): number {
  const x = Math.sin(round * 12.9898 + salt * 78.233) * 43758.5453;
  return ((x - Math.floor(x)) - 0.5) * 0.0346;
}

function run(batch: FinalizeBatch, kind: FinalizeRunKind, removed: number[], round: number, metric: number | null, repeat = 0): FinalizeRun {
  return {
    type: "run",
    attempt: 1,
    batch,
    kind,
    removed,
    code: `${kind}:${removed.join("+")}`,
    commit: "c".repeat(40),
    round,
    ...(repeat > 0 && { repeat }),
    seed: 3 + round,
    status: metric === null ? "crash" : "ok",
    ...(metric === null && { reason: "exit-code", detail: "exit code 1" }),
    metric,
    memGb: null,
    params: null,
    durationSec: 1,
    worker: 0,
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: "2025-01-01T00:00:01.000Z",
    log: "finalize/a1/x.log",
  };
}

/** `rounds` rounds of a batch: the best (true 1.0, twice a round) and variants of known true metric. */
function batchRuns(batch: FinalizeBatch, rounds: number, variants: { kind: FinalizeRunKind; removed: number[]; truth: number | null }[]): FinalizeRun[] {
  const out: FinalizeRun[] = [];
  for (let r = 0; r < rounds; r++) {
    out.push(run(batch, "best", [], r, 1 + noise(r, 0)), run(batch, "best", [], r, 1 + noise(r, 99), 1));
    for (const [i, v] of variants.entries()) out.push(run(batch, v.kind, v.removed, r, v.truth === null ? null : v.truth + noise(r, i + 1 + (batch === "pairs" ? 50 : 0))));
  }
  return out;
}

function attempt(h: FinalizeHeader, runs: FinalizeRun[], pairs: [number, number][] = []): FinalizeAttempt {
  const pairVariants = pairs.map((p) => ({ kind: "ablation" as const, removed: [...p], code: "x", commit: "c".repeat(40), pair: p }));
  return { attempt: 1, header: h, startedAt: h.at, batches: pairs.length ? { pairs: { type: "batch", attempt: 1, batch: "pairs", at: h.at, variants: pairVariants, rounds: 4, plannedRuns: 0 } } : {}, runs, result: null };
}

describe("finalize verdicts (pure, from records)", () => {
  it("matters, within noise, hurts; a change whose removal crashes every run matters", () => {
    const h = header([
      { id: 1, keptDelta: -0.3 },
      { id: 2, keptDelta: -0.004 },
      { id: 3, keptDelta: -0.002 },
      { id: 4, keptDelta: -0.05 },
    ]);
    const runs = batchRuns("changes", 4, [
      { kind: "baseline", removed: [], truth: 1.5 },
      { kind: "ablation", removed: [1], truth: 1.3 },
      { kind: "ablation", removed: [2], truth: 1.0 },
      { kind: "ablation", removed: [3], truth: 0.9 },
      { kind: "ablation", removed: [4], truth: null },
    ]);
    const a = analyzeFinalize(attempt(h, runs));
    expect(a.verdicts.map((v) => [v.change, v.verdict])).toEqual([
      [1, "matters"],
      [2, "within noise"],
      [3, "hurts"],
      [4, "matters"],
    ]);
    expect(a.verdicts[0]?.loss?.mean).toBeCloseTo(0.3, 1);
    expect(a.verdicts[0]?.confidence).toBeGreaterThan(0.999);
    expect(a.verdicts[3]?.note).toBe("without it every run crashed");
    expect(a.gain?.mean).toBeCloseTo(0.5, 1);
    expect(a.verdicts[0]?.share).toBeCloseTo(0.6, 1);
    // The spread is pooled over every variant's rounds, with Student-t's bar for its degrees of freedom.
    expect(a.spread.source).toBe("rounds");
    expect(a.spread.critical).toBeGreaterThan(2);
  });

  it("a change taken out with its companion is judged on what it adds to the best without the companion; both are named", () => {
    const h = header(
      [
        { id: 1, keptDelta: -0.1 },
        { id: 2, keptDelta: -0.2 },
      ],
      { companions: [{ change: 1, with: [2], reason: "its lines were changed again by #2" }] },
    );
    // Without #2 the best is 1.2; without #1 and #2 (its parent's code) 1.2 as well: #1 adds nothing on its own.
    const runs = batchRuns("changes", 4, [
      { kind: "baseline", removed: [], truth: 1.2 },
      { kind: "ablation", removed: [1, 2], truth: 1.2 },
      { kind: "ablation", removed: [2], truth: 1.2 },
    ]);
    const a = analyzeFinalize(attempt(h, runs));
    expect(a.verdicts[0]).toMatchObject({ change: 1, verdict: "within noise", removedWith: [2], dependsOn: [2] });
    expect(a.verdicts[0]?.note).toBe("cannot be taken out alone (its lines were changed again by #2): judged on what it adds to the best without #2");
    expect(a.verdicts[1]).toMatchObject({ change: 2, verdict: "matters", dependsOn: [1] });
    // The smallest set cannot take #1 out without #2, which matters: #1 stays.
    const plan = smallestSetPlan(attempt(h, runs), a);
    expect(plan.removed).toEqual([]);
    expect(plan.notes.join()).toMatch(/#1 stays: it can only be taken out together with #2/);
  });

  it("pairs: a change that grew since it was kept is paired with the later changes that matter; two within noise that looked real are paired", () => {
    const h = header([
      { id: 1, keptDelta: -0.001 },
      { id: 2, keptDelta: -0.2 },
      { id: 3, keptDelta: -0.05 },
      { id: 4, keptDelta: -0.04 },
      { id: 5, keptDelta: -0.04 },
    ]);
    const runs = batchRuns("changes", 4, [
      { kind: "baseline", removed: [], truth: 1.4 },
      { kind: "ablation", removed: [1], truth: 1.1 },
      { kind: "ablation", removed: [2], truth: 1.3 },
      { kind: "ablation", removed: [3], truth: 1.05 },
      { kind: "ablation", removed: [4], truth: 1.0 },
      { kind: "ablation", removed: [5], truth: 1.0 },
    ]);
    const pairs = plannedPairs(attempt(h, runs)).map((p) => p.pair.join("+"));
    // #1 kept on nothing but loses 0.1 now: paired with #2 and #3 (later, matter); #2 loses 0.3 but gained 0.2: paired with #3.
    expect(pairs).toEqual(["1+2", "1+3", "2+3", "4+5"]);
  });

  it("a pair that helps only together, and a pair where either one is enough: named, and the smallest set keeps one of the second", () => {
    const h = header([
      { id: 1, keptDelta: -0.001 },
      { id: 2, keptDelta: -0.2 },
      { id: 3, keptDelta: -0.04 },
      { id: 4, keptDelta: -0.04 },
    ]);
    const runs = [
      ...batchRuns("changes", 4, [
        { kind: "baseline", removed: [], truth: 1.4 },
        { kind: "ablation", removed: [1], truth: 1.1 },
        { kind: "ablation", removed: [2], truth: 1.3 },
        { kind: "ablation", removed: [3], truth: 1.0 },
        { kind: "ablation", removed: [4], truth: 1.0 },
      ]),
      // Taking both out: #1 and #2 lose 0.3 (not 0.4: the 0.1 is theirs together); #3 and #4 lose 0.04 (each stands in for the other).
      ...batchRuns("pairs", 4, [
        { kind: "ablation", removed: [1, 2], truth: 1.3 },
        { kind: "ablation", removed: [3, 4], truth: 1.1 },
      ]),
    ];
    const a = attempt(h, runs, [
      [1, 2],
      [3, 4],
    ]);
    const analysis = analyzeFinalize(a);
    expect(analysis.pairs.map((p) => [p.changes.join("+"), p.kind])).toEqual([
      ["1+2", "together"],
      ["3+4", "either"],
    ]);
    expect(analysis.verdicts.map((v) => v.dependsOn)).toEqual([[2], [1], [4], [3]]);
    const plan = smallestSetPlan(a, analysis);
    expect(plan.removed).toHaveLength(1);
    expect(plan.notes.join()).toMatch(/stays: it and #\d stand in for each other/);
  });

  it("the smallest set: accepted when its loss is shown to be within noise, refused when clearly worse, undecided in between", () => {
    const h = header([
      { id: 1, keptDelta: -0.3 },
      { id: 2, keptDelta: -0.01 },
    ]);
    const changes = batchRuns("changes", 8, [
      { kind: "baseline", removed: [], truth: 1.3 },
      { kind: "ablation", removed: [1], truth: 1.3 },
      { kind: "ablation", removed: [2], truth: 1.0 },
    ]);
    const verdict = (truth: number, rounds: number) => smallestSetVerdict(attempt(h, [...changes, ...batchRuns("smallest-set", rounds, [{ kind: "smallest-set", removed: [2], truth }])]), [2]);
    expect(verdict(1.0, 8)).toMatchObject({ accepted: true, decided: true });
    expect(verdict(1.05, 8)).toMatchObject({ accepted: false, decided: true });
    expect(verdict(1.012, 2)).toMatchObject({ accepted: false, decided: false });
    expect(smallestSetVerdict(attempt(h, changes), [])).toMatchObject({ accepted: true, loss: null });
  });

  it("the smallest set that loses steadily is refused though a variant that breaks training widens the pooled spread; the line is 2 of the session's noise floors", () => {
    const h = header([
      { id: 1, keptDelta: -0.3 },
      { id: 2, keptDelta: -0.01 },
    ]);
    // Taking #1 out makes training erratic: its runs land 30 noise floors apart, which the spread pooled over every
    // variant takes in (once also the within-noise line: 2 x that spread, so a set 3 noise floors worse passed).
    const changes = batchRuns("changes", 8, [
      { kind: "ablation", removed: [1], truth: 1.3 },
      { kind: "ablation", removed: [2], truth: 1.0 },
    ]).map((r) => (r.kind === "ablation" && r.removed[0] === 1 ? { ...r, metric: 1.3 + 30 * noise(r.round, 7) } : r));
    const set = smallestSetVerdict(attempt(h, [...changes, ...batchRuns("smallest-set", 8, [{ kind: "smallest-set", removed: [2], truth: 1.03 }])]), [2]);
    expect(set).toMatchObject({ accepted: false, decided: true });
    expect(set.margin).toBeCloseTo(0.02, 10);
    // A set as good as the best is still accepted beside that variant.
    expect(smallestSetVerdict(attempt(h, [...changes, ...batchRuns("smallest-set", 8, [{ kind: "smallest-set", removed: [2], truth: 1.0 }])]), [2])).toMatchObject({ accepted: true });
  });

  it("the default N: enough rounds for the smallest delta kept beyond the noise, 2 to 8; 3 without a noise floor", () => {
    expect(defaultRunsPerVariant([0.3, 0.2], 0.01, 2).runs).toBe(2);
    expect(defaultRunsPerVariant([0.3, 0.025], 0.01, 2).runs).toBe(3);
    expect(defaultRunsPerVariant([0.3, 0.021], 0.01, 2).runs).toBe(4);
    // A delta within the noise does not raise it; nothing beyond the noise: sized for 2 noise floors.
    expect(defaultRunsPerVariant([0.3, 0.005], 0.01, 2).runs).toBe(2);
    expect(defaultRunsPerVariant([0.001], 0.01, 2).runs).toBe(4);
    expect(defaultRunsPerVariant([0.3], 0.01, 5).runs).toBe(2);
    expect(defaultRunsPerVariant([0.021], 0.01, 6).runs).toBe(8);
    expect(defaultRunsPerVariant([0.3], null, 2)).toMatchObject({ runs: 3 });
  });
});

describe("finalize.jsonl", () => {
  it("the latest attempt, its settings from its last header (a new header drops an earlier result), its runs; a torn last line is no record", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-finalize-"));
    const path = join(dir, "finalize.jsonl");
    const log = new FinalizeLog(path);
    const h = header([{ id: 1, keptDelta: -0.3 }]);
    log.append(h);
    log.append(run("changes", "best", [], 0, 1));
    expect(finalizeStatus(readFinalizeEntries(path))).toMatchObject({ attempt: 1, finishedAt: null, runsDone: 1 });
    log.append({ ...h, runsPerVariant: 6, at: "2025-01-02T00:00:00.000Z" });
    appendFileSync(path, '{"type":"run","attempt":1');
    const attempts = finalizeAttempts(readFinalizeEntries(path));
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.header.runsPerVariant).toBe(6);
    expect(attempts[0]?.startedAt).toBe("2025-01-01T00:00:00.000Z");
    expect(attempts[0]?.runs).toHaveLength(1);
    // The writer cuts the torn line before its next append, and puts back what a run rewrote.
    const again = new FinalizeLog(path);
    again.append(run("changes", "best", [], 1, 1));
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(4);
    writeFileSync(path, "garbage\n");
    expect(again.verify()).toBe(true);
    expect(readFinalizeEntries(path)).toHaveLength(4);
  });
});

describe("changes taken out of the best and put on the base (the rebase machinery)", () => {
  const text = (lr: string, width: string) => `const LR = ${lr};\nconst WIDTH = ${width};\nconst DEPTH = 2;\nprint(LR * WIDTH);\n`;
  // #1 LR 0.01 -> 0.02, #2 WIDTH 16 -> 32, #3 LR 0.02 -> 0.04 (rewrites #1's line).
  const set: ChangeSet = {
    baseText: text("0.01", "16"),
    bestText: text("0.04", "32"),
    changes: [
      { id: 1, commit: "1", description: "", keptDelta: -0.1, parentText: text("0.01", "16"), text: text("0.02", "16") },
      { id: 2, commit: "2", description: "", keptDelta: -0.1, parentText: text("0.02", "16"), text: text("0.02", "32") },
      { id: 3, commit: "3", description: "", keptDelta: -0.1, parentText: text("0.02", "32"), text: text("0.04", "32") },
    ],
  };

  it("reverts a change on the best alone when it can, with the later change that rewrote its lines when not", () => {
    expect(withoutChanges(set, [2])).toBe(text("0.04", "16"));
    expect(withoutChanges(set, [3])).toBe(text("0.02", "32"));
    expect(withoutChanges(set, [1])).toBeNull();
    expect(withoutChanges(set, [1, 3])).toBe(text("0.01", "32"));
    expect(findCompanions(set)).toEqual({ companions: [{ change: 1, with: [3], reason: "its lines were changed again by #3: taken out together" }], unremovable: [] });
  });

  it("puts a change on the base alone, or with the earlier changes that wrote its lines", () => {
    expect(onBase(set, [2])).toBe(text("0.01", "32"));
    expect(baseDependencies(set, 2)).toEqual([]);
    expect(onBase(set, [3])).toBeNull();
    expect(baseDependencies(set, 3)).toEqual([1]);
    expect(onBase(set, [1, 3])).toBe(text("0.04", "16"));
  });
});
