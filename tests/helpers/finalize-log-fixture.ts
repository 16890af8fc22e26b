import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  type ChangeVerdictName,
  FINALIZE_FORMAT,
  type FinalizeEntry,
  type FinalizeHeader,
  type FinalizeResult,
  type FinalizeRun,
  type FinalizeVariant,
} from "../../src/ledger/finalize-records.js";
import type { SessionPaths } from "../../src/ledger/paths.js";
import { headOf, lineageOf } from "../../src/ledger/tree.js";
import type { Direction, ExperimentRecord } from "../../src/types.js";
import { fakeSha } from "./session-fixture.js";

/**
 * Hand-written finalize.jsonl for the views' tests, beside a session's records: the header, the
 * `changes` batch (the best, the baseline, the best without each kept change of its lineage), its
 * runs round by round, and (unless stopped early) a result with the verdicts given. The numbers are
 * made up but consistent: each run's metric is the best's plus the loss given for its change.
 */
export interface VerdictSpec {
  verdict: ChangeVerdictName;
  /** Oriented loss when taken out (positive = worse without it), metric units. */
  loss: number;
  dependsOn?: number[];
}

export interface FinalizeFixtureOptions {
  tag: string;
  metric: string;
  direction: Direction;
  /** Verdicts by experiment number; a kept change not named gets `within noise` with loss 0. */
  verdicts?: Record<number, VerdictSpec>;
  runsPerVariant?: number;
  /** Stop after this many runs: no result (a finalize stopped or running). */
  stopAfterRuns?: number;
  /** When it started; each run takes a minute. */
  at?: Date;
}

export interface FinalizeFixture {
  entries: FinalizeEntry[];
  header: FinalizeHeader;
  result: FinalizeResult | null;
  /** The kept changes of the best's lineage, oldest first. */
  changes: number[];
}

export function finalizeFixture(records: readonly ExperimentRecord[], options: FinalizeFixtureOptions): FinalizeFixture {
  const direction = options.direction;
  const n = options.runsPerVariant ?? 3;
  const start = (options.at ?? new Date("2025-03-09T07:00:00Z")).getTime();
  const head = headOf(records, direction);
  const lineage = lineageOf(records, head);
  const changes = lineage.slice(1);
  const baseline = records[0] as ExperimentRecord;
  const byCommit = new Map(records.map((r) => [r.commit, r]));
  const spec = (id: number): VerdictSpec => options.verdicts?.[id] ?? { verdict: "within noise", loss: 0 };
  const header: FinalizeHeader = {
    type: "header",
    format: FINALIZE_FORMAT,
    attempt: 1,
    at: new Date(start).toISOString(),
    metric: options.metric,
    direction,
    best: { id: head.id, commit: head.commit },
    baseline: { id: 0, commit: baseline.commit },
    changes: changes.map((c) => {
      const parent = byCommit.get(c.parent);
      return { id: c.id, commit: c.commit, description: c.description, keptDelta: parent?.metric != null && c.metric !== null ? c.metric - parent.metric : null };
    }),
    runsPerVariant: n,
    runsFrom: "--runs",
    plannedRuns: (changes.length + 2) * n,
    budgetSec: 300,
    timeoutSec: 600,
    workers: 1,
    confidence: 2,
    noiseFloor: 0.002,
    firstSeed: 1000,
    companions: [],
    unremovable: [],
  };
  const variants: FinalizeVariant[] = [
    { kind: "best", removed: [], code: fakeSha("code-best"), commit: head.commit },
    { kind: "baseline", removed: [], code: fakeSha("code-baseline"), commit: baseline.commit },
    ...changes.map((c) => ({ kind: "ablation" as const, removed: [c.id], code: fakeSha(`code-without-${c.id}`), commit: fakeSha(`without-${c.id}`) })),
  ];
  const entries: FinalizeEntry[] = [header, { type: "batch", attempt: 1, batch: "changes", at: header.at, variants, rounds: n, plannedRuns: variants.length * n }];
  // Raw metric = best's raw metric + the loss turned back into the metric's direction.
  const raw = (loss: number) => (head.metric as number) + (direction === "min" ? loss : -loss);
  const baselineLoss = direction === "min" ? (baseline.metric as number) - (head.metric as number) : (head.metric as number) - (baseline.metric as number);
  let made = 0;
  const stop = options.stopAfterRuns ?? Number.POSITIVE_INFINITY;
  for (let round = 0; round < n && made < stop; round++) {
    for (const v of variants) {
      if (made >= stop) break;
      const loss = v.kind === "best" ? 0 : v.kind === "baseline" ? baselineLoss : spec(v.removed[0] as number).loss;
      const t = start + made * 60_000;
      const run: FinalizeRun = {
        type: "run",
        attempt: 1,
        batch: "changes",
        kind: v.kind,
        removed: v.removed,
        code: v.code,
        commit: v.commit,
        round,
        seed: header.firstSeed + round,
        status: "ok",
        metric: raw(loss) + (round - (n - 1) / 2) * 0.0005,
        memGb: null,
        params: null,
        durationSec: 60,
        worker: 0,
        startedAt: new Date(t).toISOString(),
        finishedAt: new Date(t + 60_000).toISOString(),
        log: `finalize/1/${made}.log`,
      };
      entries.push(run);
      made++;
    }
  }
  if (made < variants.length * n) return { entries, header, result: null, changes: changes.map((c) => c.id) };
  const gainMean = baselineLoss;
  const matters = changes.filter((c) => spec(c.id).verdict === "matters").map((c) => c.id);
  const removed = changes.filter((c) => ["within noise", "hurts"].includes(spec(c.id).verdict)).map((c) => c.id);
  const result: FinalizeResult = {
    type: "result",
    attempt: 1,
    at: new Date(start + made * 60_000 + 60_000).toISOString(),
    metric: options.metric,
    direction,
    best: { id: head.id, commit: head.commit, mean: head.metric },
    baseline: { mean: baseline.metric },
    gain: { mean: gainMean, sd: 0.001, se: 0.0006, z: gainMean / 0.0006, rounds: n },
    verdicts: changes.map((c) => {
      const s = spec(c.id);
      const sd = 0.001;
      const se = sd / Math.sqrt(n);
      const z = s.loss / se;
      return {
        change: c.id,
        description: c.description,
        keptDelta: header.changes.find((h) => h.id === c.id)?.keptDelta ?? null,
        loss: { mean: s.loss, sd, se, z, rounds: n },
        verdict: s.verdict,
        confidence: s.verdict === "matters" ? 0.9999 : s.verdict === "hurts" ? 0.001 : 0.4,
        share: gainMean > 0 ? s.loss / gainMean : null,
        ...(s.dependsOn && { dependsOn: s.dependsOn }),
      };
    }),
    pairs: [],
    smallestSet: {
      removed,
      kept: changes.map((c) => c.id).filter((id) => !removed.includes(id)),
      loss: removed.length > 0 ? { mean: 0.0002, sd: 0.001, se: 0.0006, z: 0.3, rounds: n } : null,
      accepted: true,
      commit: removed.length > 0 ? fakeSha("smallest-set") : head.commit,
      why: removed.length > 0 ? "as good as the best within noise" : "nothing to take out",
    },
    branches: {
      final: { branch: `autoresearch/${options.tag}-final`, commit: fakeSha("final-branch"), holds: changes.map((c) => c.id).filter((id) => !removed.includes(id)) },
      changes: matters.map((id) => ({ change: id, branch: `autoresearch/${options.tag}-change-${id}`, commit: fakeSha(`change-branch-${id}`), holds: [id] })),
      skipped: [],
    },
    runs: made,
    crashed: 0,
  };
  entries.push(result);
  return { entries, header, result, changes: changes.map((c) => c.id) };
}

/** Writes finalize.jsonl beside the session's records. */
export function writeFinalize(paths: SessionPaths, entries: readonly FinalizeEntry[]): void {
  mkdirSync(dirname(paths.finalize), { recursive: true });
  writeFileSync(paths.finalize, entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
}
