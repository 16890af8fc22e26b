/**
 * Finalize's verdicts, read from its records alone (pure): the engine plans its later batches
 * from them, and the views re-render the table from them, so both always agree.
 *
 * The statistics are paired: every variant of a batch runs once a round with that round's seed,
 * between two runs of the best in the same round (its first and last), so a drift of the machine
 * moves the runs of a round alike and cancels in their difference (the paired decisions of the
 * keep rule, src/metric/paired.ts, do the same). A change's loss in round r is how much better
 * the best did (the mean of its two runs) than the best without it; its spread is pooled over every
 * variant's rounds (they share one noise), and a change is judged on its mean loss in standard
 * errors against the session's Z (Student-t while the pooled spread rests on few rounds).
 *
 * Rules, documented here once (the README and the help text say the same):
 * - matters: the loss is more than Z standard errors above zero; hurts: more than Z below (taking
 *   it out improves the metric); within noise: neither. A change whose removal makes every run
 *   crash matters.
 * - A change that cannot be taken out alone (a later kept change rewrote its lines) is taken out
 *   with those later changes, and judged on what it adds to them: the best without all of them
 *   against the best without the later ones. Both are named as depending on each other.
 * - Pairs are measured taken out together (the `pairs` batch) when the single removals look
 *   suspicious: (a) a change that matters and whose loss is larger than its delta when it was
 *   kept by more than Z standard errors (it became worth more since: it may help only together
 *   with a later change) is paired with each later change that matters (at most
 *   MAX_PARTNERS); (b) two changes within noise whose deltas when kept were each beyond the
 *   noise (WITHIN_NOISE noise floors) are paired (each may stand in for the other). The pair's
 *   interaction is loss(a) + loss(b) - loss(a and b): more than Z standard errors above zero,
 *   they help only together; below, either one is enough. Either way they are named as
 *   depending on each other.
 * - The smallest set takes out of the best every change within noise or that hurts, except one
 *   of each either-is-enough pair (the one whose removal lost more; the older on a tie) and any
 *   change that can only be taken out with a change that stays. It is accepted as the final code
 *   when its loss against the best is shown to be within noise: its mean plus Z standard errors
 *   below WITHIN_NOISE noise floors (smallestSetVerdict); undecided, it gets more rounds.
 */
import { normalCdf } from "../metric/normal.js";
import { gain, mean, orient, pooledNoise, sampleSd, studentCritical, WITHIN_NOISE } from "../metric/index.js";
import type { ChangeVerdict, FinalizeAttempt, FinalizeBatch, FinalizeHeader, FinalizeRunKind, LossEstimate, PairFinding } from "./finalize-records.js";

/**
 * The best runs this many times a round (first and last: the other variants run between), so the
 * reference every variant is compared with is measured more precisely than any one variant, and a
 * drift within a round cancels.
 */
export const BEST_RUNS_PER_ROUND = 2;
/** The sd of one round's loss (best's mean of its runs minus a variant's run) in single-run noise floors: √(1 + 1/2). */
export const ROUND_LOSS_FACTOR = Math.sqrt(1 + 1 / BEST_RUNS_PER_ROUND);

/** The sd of an interaction round (loss a + loss b - loss of both) in units of one round's loss. */
const INTERACTION_FACTOR = Math.sqrt((4 / BEST_RUNS_PER_ROUND + 2 + 1 / BEST_RUNS_PER_ROUND + 1) / (1 / BEST_RUNS_PER_ROUND + 1));

/** Later changes a change that grew is paired with, at most. */
export const MAX_PARTNERS = 3;
/** Pairs measured in one attempt, at most. */
export const MAX_PAIRS = 8;
/** The default N never goes above this (a bigger N is asked for with --runs). */
export const MAX_DEFAULT_RUNS = 8;

/** A variant's identity within a batch: its kind and the changes it takes out (sorted). */
export function variantKey(kind: FinalizeRunKind, removed: readonly number[]): string {
  return `${kind}:${[...removed].sort((a, b) => a - b).join("+")}`;
}

/** The changes a change is taken out with (its companions); [] when it comes out alone. */
export function companionsOf(header: Pick<FinalizeHeader, "companions">, change: number): number[] {
  return header.companions.find((c) => c.change === change)?.with ?? [];
}

/** The set taken out to judge `change`, and the reference it is judged against (the best, or the best without its companions). */
export function removalOf(header: Pick<FinalizeHeader, "companions">, change: number): { removed: number[]; reference: number[] } {
  const with_ = companionsOf(header, change);
  return { removed: sortIds([change, ...with_]), reference: sortIds(with_) };
}

function sortIds(ids: readonly number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Metric by round of each variant of each batch (null: that run crashed; the best's: the mean of its runs of the round that did not). */
type Table = Map<string, Map<number, number | null>>;

function tableOf(attempt: FinalizeAttempt): Map<FinalizeBatch, Table> {
  const sums = new Map<FinalizeBatch, Map<string, Map<number, number[]>>>();
  for (const run of attempt.runs) {
    const batch = sums.get(run.batch) ?? new Map();
    sums.set(run.batch, batch);
    const key = variantKey(run.kind, run.removed);
    const rounds = batch.get(key) ?? new Map<number, number[]>();
    batch.set(key, rounds);
    const values = rounds.get(run.round) ?? [];
    rounds.set(run.round, values);
    if (run.status === "ok" && run.metric !== null) values.push(run.metric);
  }
  const out = new Map<FinalizeBatch, Table>();
  for (const [batch, variants] of sums) {
    const table: Table = new Map();
    for (const [key, rounds] of variants) table.set(key, new Map([...rounds].map(([round, values]) => [round, values.length ? mean(values) : null])));
    out.set(batch, table);
  }
  return out;
}

const BEST = variantKey("best", []);
const BASELINE = variantKey("baseline", []);

/** The key of the reference a set of removed changes is compared with: the best, or the ablation without `reference`. */
function referenceKey(reference: readonly number[]): string {
  return reference.length === 0 ? BEST : variantKey("ablation", reference);
}

/** Per round: how much better `ref` did than `variant` (oriented), in rounds where both printed a metric. */
function losses(table: Table | undefined, variant: string, ref: string, direction: "min" | "max"): { round: number; loss: number }[] {
  const v = table?.get(variant);
  const r = table?.get(ref);
  if (!v || !r) return [];
  const out: { round: number; loss: number }[] = [];
  for (const [round, metric] of v) {
    const against = r.get(round);
    const g = gain(against, metric, direction);
    if (g !== null) out.push({ round, loss: g });
  }
  return out.sort((a, b) => a.round - b.round);
}

/** The spread of one round's paired difference, pooled over every variant of every batch; the critical value to go with it. */
export interface PooledSpread {
  /** sd of one round's loss (the best's mean of the round minus a variant's run). */
  sd: number | null;
  dof: number;
  /** How many standard errors a loss needs: Z, or Student-t's for a spread from few rounds. */
  critical: number;
  /** Where sd came from. */
  source: "rounds" | "noise floor" | "none";
}

export function pooledSpread(attempt: FinalizeAttempt): PooledSpread {
  const { direction, confidence, noiseFloor } = attempt.header;
  const groups: number[][] = [];
  for (const [, table] of tableOf(attempt)) {
    for (const key of table.keys()) {
      if (key === BEST) continue;
      groups.push(losses(table, key, BEST, direction).map((l) => l.loss));
    }
  }
  const pooled = pooledNoise(groups);
  if (pooled && pooled.dof >= 2 && pooled.sd > 0) return { sd: pooled.sd, dof: pooled.dof, critical: studentCritical(confidence, pooled.dof), source: "rounds" };
  // Too few rounds to measure a spread: one round's loss from the session's noise floor.
  if (noiseFloor !== null && noiseFloor > 0) return { sd: ROUND_LOSS_FACTOR * noiseFloor, dof: 0, critical: confidence, source: "noise floor" };
  if (pooled && pooled.sd > 0) return { sd: pooled.sd, dof: pooled.dof, critical: studentCritical(confidence, Math.max(1, pooled.dof)), source: "rounds" };
  return { sd: null, dof: 0, critical: confidence, source: "none" };
}

/** A loss estimate from per-round losses, its standard error from the pooled spread scaled by `factor` (1 for a plain paired difference). */
function estimate(values: readonly number[], spread: PooledSpread, factor = 1): LossEstimate | null {
  if (values.length === 0) return null;
  const m = mean(values);
  const sd = sampleSd(values);
  const unit = (spread.sd ?? sd ?? 0) * factor;
  const se = unit / Math.sqrt(values.length);
  const z = se > 0 ? m / se : m > 0 ? Number.POSITIVE_INFINITY : m < 0 ? Number.NEGATIVE_INFINITY : 0;
  return { mean: m, sd, se, z, rounds: values.length };
}

/** The loss of taking out `removed` (against `reference` taken out) in `batch`. */
function lossOf(attempt: FinalizeAttempt, tables: Map<FinalizeBatch, Table>, batch: FinalizeBatch, kind: FinalizeRunKind, removed: readonly number[], reference: readonly number[], spread: PooledSpread) {
  const rounds = losses(tables.get(batch), variantKey(kind, removed), referenceKey(reference), attempt.header.direction);
  return { rounds, estimate: estimate(rounds.map((r) => r.loss), spread) };
}

/** Whether every run of a variant in `batch` crashed while its reference ran: without it the code does not run. */
function crashesWithout(tables: Map<FinalizeBatch, Table>, batch: FinalizeBatch, key: string, ref: string): boolean {
  const v = tables.get(batch)?.get(key);
  const r = tables.get(batch)?.get(ref);
  if (!v || v.size === 0 || !r) return false;
  return [...v.values()].every((m) => m === null) && [...r.values()].some((m) => m !== null);
}

export interface FinalizeAnalysis {
  spread: PooledSpread;
  /** The best's gain over the baseline, measured in the `changes` batch (oriented). */
  gain: LossEstimate | null;
  bestMean: number | null;
  baselineMean: number | null;
  verdicts: ChangeVerdict[];
  pairs: PairFinding[];
}

/** The verdicts from the `changes` batch, dependencies from the companions and the `pairs` batch. */
export function analyzeFinalize(attempt: FinalizeAttempt): FinalizeAnalysis {
  const { header } = attempt;
  const { direction } = header;
  const tables = tableOf(attempt);
  const spread = pooledSpread(attempt);
  const changesTable = tables.get("changes");
  const bestRuns = [...(changesTable?.get(BEST)?.values() ?? [])].filter((m): m is number => m !== null);
  const baselineRuns = [...(changesTable?.get(BASELINE)?.values() ?? [])].filter((m): m is number => m !== null);
  const gainRounds = losses(changesTable, BASELINE, BEST, direction);
  const totalGain = estimate(
    gainRounds.map((r) => r.loss),
    spread,
  );
  const dependsOn = new Map<number, Set<number>>();
  const link = (a: number, b: number) => {
    if (a === b) return;
    dependsOn.set(a, (dependsOn.get(a) ?? new Set()).add(b));
    dependsOn.set(b, (dependsOn.get(b) ?? new Set()).add(a));
  };
  for (const c of header.companions) for (const w of c.with) link(c.change, w);

  const verdicts: ChangeVerdict[] = header.changes.map((change) => {
    const base = { change: change.id, description: change.description, keptDelta: change.keptDelta };
    const unremovable = header.unremovable.find((u) => u.change === change.id);
    if (unremovable) return { ...base, loss: null, verdict: "cannot remove" as const, confidence: null, share: null, note: `cannot be taken out of the best: ${unremovable.reason}` };
    const { removed, reference } = removalOf(header, change.id);
    const { estimate: loss } = lossOf(attempt, tables, "changes", "ablation", removed, reference, spread);
    const companions = header.companions.find((c) => c.change === change.id);
    const withNote = reference.length > 0 ? { removedWith: reference, note: `cannot be taken out alone (${companions?.reason ?? "a later change rewrote its lines"}): judged on what it adds to the best without ${reference.map((r) => `#${r}`).join(", ")}` } : {};
    if (crashesWithout(tables, "changes", variantKey("ablation", removed), referenceKey(reference))) {
      return { ...base, ...withNote, loss, verdict: "matters" as const, confidence: 1, share: null, note: `without it every run crashed${withNote.note ? `; ${withNote.note}` : ""}` };
    }
    if (!loss) return { ...base, ...withNote, loss: null, verdict: "within noise" as const, confidence: null, share: null, note: `no run measured it (its runs or the best's crashed)${withNote.note ? `; ${withNote.note}` : ""}` };
    const verdict = loss.z > spread.critical ? "matters" : loss.z < -spread.critical ? "hurts" : "within noise";
    const share = totalGain && totalGain.mean > 0 ? loss.mean / totalGain.mean : null;
    return { ...base, ...withNote, loss, verdict, confidence: normalCdf(loss.z), share };
  });

  const pairs: PairFinding[] = [];
  const pairTable = tables.get("pairs");
  for (const variant of attempt.batches.pairs?.variants ?? []) {
    if (variant.kind !== "ablation" || !variant.pair) continue;
    const [a, b] = variant.pair;
    const la = losses(changesTable, variantKey("ablation", removalOf(header, a).removed), BEST, direction);
    const lb = losses(changesTable, variantKey("ablation", removalOf(header, b).removed), BEST, direction);
    const lab = losses(pairTable, variantKey("ablation", variant.removed), BEST, direction);
    const byRound = (list: { round: number; loss: number }[]) => new Map(list.map((l) => [l.round, l.loss]));
    const [ma, mb, mab] = [byRound(la), byRound(lb), byRound(lab)];
    const values: number[] = [];
    for (const [round, both] of mab) {
      const x = ma.get(round);
      const y = mb.get(round);
      if (x !== undefined && y !== undefined) values.push(x + y - both);
    }
    // Two losses of one batch (sharing its best runs) and one of another: in single-run variances
    // 4/2 + 1 + 1 (the first batch) and 1/2 + 1 (the other), against 1/2 + 1 for one round's loss.
    const interaction = estimate(values, spread, INTERACTION_FACTOR);
    if (!interaction) continue;
    const dependent = Math.abs(interaction.z) > spread.critical;
    const kind = !dependent ? "independent" : interaction.mean > 0 ? "together" : "either";
    const both = mab.size > 0 ? mean([...mab.values()]) : null;
    const bothText = both === null ? "" : ` (taking both out loses ${fmt(both)})`;
    const why =
      kind === "together"
        ? `they help only together: taking out either one loses what the pair gives${bothText}`
        : kind === "either"
          ? `either one is enough: taking out one loses little, taking out both loses more${bothText}`
          : `measured together, they add up as apart (interaction ${fmt(interaction.mean)}, ${interaction.z.toFixed(1)} standard errors)`;
    if (dependent) link(a, b);
    pairs.push({ changes: [a, b], interaction, dependent, kind, why });
  }
  for (const v of verdicts) {
    const deps = dependsOn.get(v.change);
    if (deps && deps.size > 0) v.dependsOn = [...deps].sort((x, y) => x - y);
  }
  return { spread, gain: totalGain, bestMean: bestRuns.length ? mean(bestRuns) : null, baselineMean: baselineRuns.length ? mean(baselineRuns) : null, verdicts, pairs };
}

function fmt(value: number): string {
  return `${value >= 0 ? "+" : ""}${value.toPrecision(3)}`;
}

/** A change's delta when kept as a gain (positive = it improved its parent). */
function keptGain(header: FinalizeHeader, change: number): number | null {
  const c = header.changes.find((x) => x.id === change);
  return c?.keptDelta === null || c?.keptDelta === undefined ? null : orient(c.keptDelta, header.direction);
}

/**
 * The pairs to measure taken out together, and why (rules (a) and (b) above); [] when none is
 * suspicious. Deterministic from the `changes` batch's records, so a resumed finalize plans the same.
 */
export function plannedPairs(attempt: FinalizeAttempt, analysis: FinalizeAnalysis = analyzeFinalize(attempt)): { pair: [number, number]; why: string }[] {
  const { header } = attempt;
  const { spread } = analysis;
  const noise = header.noiseFloor ?? (spread.sd === null ? null : spread.sd / ROUND_LOSS_FACTOR);
  const order = header.changes.map((c) => c.id);
  const byId = new Map(analysis.verdicts.map((v) => [v.change, v]));
  const out: { pair: [number, number]; why: string }[] = [];
  const seen = new Set<string>();
  const add = (a: number, b: number, why: string) => {
    const pair: [number, number] = a < b ? [a, b] : [b, a];
    const key = pair.join("+");
    if (seen.has(key) || out.length >= MAX_PAIRS) return;
    // Taken out together with its companions already: nothing new to measure.
    if (companionsOf(header, pair[0]).includes(pair[1]) || companionsOf(header, pair[1]).includes(pair[0])) return;
    seen.add(key);
    out.push({ pair, why });
  };
  for (const v of analysis.verdicts) {
    if (v.verdict !== "matters" || !v.loss) continue;
    const kept = keptGain(header, v.change);
    if (kept === null || noise === null) continue;
    const se = Math.sqrt(v.loss.se ** 2 + 2 * noise ** 2);
    if (v.loss.mean - kept <= spread.critical * se) continue;
    const later = order.slice(order.indexOf(v.change) + 1).filter((id) => byId.get(id)?.verdict === "matters");
    for (const partner of later.slice(0, MAX_PARTNERS)) {
      add(v.change, partner, `#${v.change} loses ${fmt(v.loss.mean)} when taken out but gained ${fmt(kept)} when kept: it may help only together with #${partner}`);
    }
  }
  if (noise !== null) {
    const looked = analysis.verdicts.filter((v) => v.verdict === "within noise" && (keptGain(header, v.change) ?? 0) > WITHIN_NOISE * noise);
    for (const [i, a] of looked.entries()) {
      for (const b of looked.slice(i + 1)) add(a.change, b.change, `#${a.change} and #${b.change} each looked real when kept but lose nothing when taken out: each may stand in for the other`);
    }
  }
  return out;
}

/**
 * The changes the smallest set takes out (rules above), oldest first, and why each other change
 * stays. `revertable(removed)` says whether a set can be taken out of the best (the engine tries
 * the reverts); a change whose set cannot is kept.
 */
export function smallestSetPlan(attempt: FinalizeAttempt, analysis: FinalizeAnalysis = analyzeFinalize(attempt)): { removed: number[]; kept: number[]; notes: string[] } {
  const { header } = attempt;
  const notes: string[] = [];
  const candidates = new Set(analysis.verdicts.filter((v) => v.verdict === "within noise" || v.verdict === "hurts").map((v) => v.change));
  for (const p of analysis.pairs.filter((x) => x.kind === "either")) {
    const [a, b] = p.changes;
    if (!candidates.has(a) || !candidates.has(b)) continue;
    const la = analysis.verdicts.find((v) => v.change === a)?.loss?.mean ?? 0;
    const lb = analysis.verdicts.find((v) => v.change === b)?.loss?.mean ?? 0;
    const stays = lb > la ? b : a;
    candidates.delete(stays);
    notes.push(`#${stays} stays: it and #${stays === a ? b : a} stand in for each other, and taking both out loses the gain`);
  }
  // A change that comes out only with companions stays when one of them stays.
  let changed = true;
  while (changed) {
    changed = false;
    for (const id of [...candidates]) {
      const stay = companionsOf(header, id).filter((w) => !candidates.has(w));
      if (stay.length > 0) {
        candidates.delete(id);
        notes.push(`#${id} stays: it can only be taken out together with ${stay.map((s) => `#${s}`).join(", ")}, which stay${stay.length === 1 ? "s" : ""}`);
        changed = true;
      }
    }
  }
  const order = header.changes.map((c) => c.id);
  return { removed: order.filter((id) => candidates.has(id)), kept: order.filter((id) => !candidates.has(id)), notes };
}

/** The smallest set's verdict; `se` and `critical`: the standard error and bar it was judged on. */
export interface SmallestSetVerdict {
  loss: LossEstimate | null;
  accepted: boolean;
  decided: boolean;
  margin: number | null;
  se: number | null;
  critical: number;
}

/**
 * The smallest set against the best, from the `smallest-set` batch. As good as the best within
 * noise means its loss is shown to be below the within-noise line (WITHIN_NOISE of the session's
 * noise floors): mean + critical × se under it, so too few rounds never pass a set that loses a real gain.
 * Clearly worse: mean - critical × se above zero. Otherwise undecided (`decided` false): the
 * engine adds rounds, and at its limit keeps the best.
 */
export function smallestSetVerdict(attempt: FinalizeAttempt, removed: readonly number[], analysis: FinalizeAnalysis = analyzeFinalize(attempt)): SmallestSetVerdict {
  if (removed.length === 0) return { loss: null, accepted: true, decided: true, margin: null, se: null, critical: analysis.spread.critical };
  const tables = tableOf(attempt);
  const { spread } = analysis;
  const { estimate: loss } = lossOf(attempt, tables, "smallest-set", "smallest-set", removed, [], spread);
  // The line is the session's noise floor's (README: "2 noise floors"), as the pairs' test reads it: the spread pooled
  // over every variant grows with the noisiest of them (a variant that breaks training), and once made the line.
  const noise = attempt.header.noiseFloor ?? (spread.sd === null ? null : spread.sd / ROUND_LOSS_FACTOR);
  const margin = noise === null ? null : WITHIN_NOISE * noise;
  if (!loss || margin === null) return { loss, accepted: false, decided: loss !== null, margin, se: loss?.se ?? null, critical: spread.critical };
  // Once it has three rounds, the set is judged on its own rounds' spread (Student-t for so few): the spread pooled
  // over every variant takes in the noisiest of them (a variant that breaks training), which would pass a set that
  // loses steadily round after round, or leave one as good as the best undecided.
  const ownDof = loss.rounds - 1;
  const own = loss.sd !== null && ownDof >= 2 ? { se: loss.sd / Math.sqrt(loss.rounds), critical: studentCritical(attempt.header.confidence, ownDof) } : null;
  const { se, critical } = own ?? { se: loss.se, critical: spread.critical };
  const judged = { loss, margin, se, critical };
  if (loss.mean + critical * se < margin) return { ...judged, accepted: true, decided: true };
  if (loss.mean - critical * se > 0) return { ...judged, accepted: false, decided: true };
  return { ...judged, accepted: false, decided: false };
}

/**
 * N when --runs is not given: enough rounds that the smallest delta a change was kept on that was
 * itself beyond the noise (WITHIN_NOISE noise floors) shows as a loss of more than Z standard
 * errors most of the time (a true loss of that size clears the bar with about 84% chance:
 * n = ((Z + 1) × ROUND_LOSS_FACTOR × noise / delta)²), at least 2, at most MAX_DEFAULT_RUNS. Changes kept on a
 * delta within the noise do not raise it: no number of runs of their size is affordable, and
 * their verdict is "within noise" unless their removal shows a real loss. Without a noise floor:
 * 3, and the rounds measure the spread.
 */
export function defaultRunsPerVariant(keptGains: readonly (number | null)[], noiseFloor: number | null, confidence: number): { runs: number; why: string } {
  if (noiseFloor === null || !(noiseFloor > 0)) return { runs: 3, why: "3 (the session has no noise floor yet: the rounds measure it)" };
  const real = keptGains.filter((g): g is number => g !== null && g > WITHIN_NOISE * noiseFloor);
  const smallest = real.length ? Math.min(...real) : WITHIN_NOISE * noiseFloor;
  const needed = Math.ceil((((confidence + 1) * ROUND_LOSS_FACTOR * noiseFloor) / smallest) ** 2);
  const runs = Math.max(2, Math.min(MAX_DEFAULT_RUNS, needed));
  const of = real.length ? `the smallest delta kept beyond the noise, ${smallest.toPrecision(3)}` : `a delta of ${WITHIN_NOISE}× the noise floor`;
  return { runs, why: `${runs} (enough for ${of}, to show against the noise floor ${noiseFloor.toPrecision(3)} at Z ${confidence}${needed > MAX_DEFAULT_RUNS ? `; ${needed} would be needed, capped at ${MAX_DEFAULT_RUNS}: pass --runs for more` : ""})` };
}
