/**
 * Hypothesis discipline (spec 2.2) over numeric constants, derived only from the history:
 *  - after a win on C in direction d, keep going in d, then try finer steps around the winner;
 *  - after a loss, try the other side once, then move on to another constant;
 *  - after every 3rd failure in a row, make a clearly different move: an untried constant of
 *    another category, else another category, else a big jump (x4 / x0.25);
 *  - otherwise take the next untried move: coarse steps on every constant (highest expected
 *    impact first, seeded tie-breaks) before finer ones, big jumps last;
 *  - never a configuration that has already been run.
 */
import type { NumericConstant } from "./constants.js";
import { configKey, eventMove, type HistoryAnalysis, type HistoryEvent, type State, withChanges } from "./history.js";
import { type Dir, finerLevels, LEVELS, type Level, type Move, makeMove, opposite } from "./moves.js";
import { isBatchName, namePriority, nameTokens } from "./names.js";
import { seededUnit } from "./random.js";

export const ESCAPE_AFTER = 3;

export type Reason = "continue" | "refine" | "other-side" | "escape" | "explore";

export interface Candidate {
  move: Move;
  reason: Reason;
}

export interface StrategyInput {
  constants: NumericConstant[];
  current: State;
  analysis: HistoryAnalysis;
  failureStreak: number;
  seed: number;
  /** `key=value` pairs that must not be proposed (rejected earlier in this iteration). */
  excluded: Set<string>;
}

export function moveId(key: string, value: number): string {
  return `${key}=${value}`;
}

/** The direction to try first on a constant with no campaign of its own. */
function preferredDir(c: NumericConstant, events: HistoryEvent[], seed: number): Dir {
  for (let i = events.length - 1; i >= 0; i--) {
    const move = eventMove(events[i] as HistoryEvent);
    if (move?.key !== c.key) continue;
    return (events[i] as HistoryEvent).status === "keep" ? move.dir : opposite(move.dir);
  }
  // Under a fixed time budget smaller batches (more steps) and less dropout usually help.
  if (isBatchName(c.name) || nameTokens(c.name).some((t) => t.startsWith("DROP"))) return "down";
  return seededUnit(seed, `dir:${c.key}`) < 0.5 ? "up" : "down";
}

export function rankCandidates(input: StrategyInput): Candidate[] {
  const { constants, current, analysis, failureStreak, seed, excluded } = input;
  const { events, tried, oomCeiling } = analysis;
  const byKey = new Map(constants.map((c) => [c.key, c]));
  const score = new Map(constants.map((c) => [c.key, namePriority(c.name) + 0.9 * seededUnit(seed, `rank:${c.key}`)]));
  const byScore = [...constants].sort((a, b) => (score.get(b.key) ?? 0) - (score.get(a.key) ?? 0));
  const dirs = new Map(constants.map((c) => [c.key, preferredDir(c, events, seed)]));

  const out: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: NumericConstant | undefined, dir: Dir, level: Level, reason: Reason, ok?: (m: Move) => boolean): void => {
    if (c === undefined) return;
    const move = makeMove(c, dir, level);
    if (move === null) return;
    const id = moveId(c.key, move.value);
    if (seen.has(id) || excluded.has(id)) return;
    // Do not raise a constant back to a size that ran out of memory (unless it already runs there).
    const ceiling = oomCeiling.get(c.key) ?? Number.POSITIVE_INFINITY;
    if (move.value > c.value && c.value < ceiling && move.value >= ceiling) return;
    if (tried.has(configKey(withChanges(current, [{ key: c.key, value: move.value }])))) return;
    if (ok && !ok(move)) return;
    seen.add(id);
    out.push({ move, reason });
  };
  const bothDirs = (c: NumericConstant): Dir[] => {
    const first = dirs.get(c.key) ?? "up";
    return [first, opposite(first)];
  };

  // Escape: the last N all failed.
  if (failureStreak >= ESCAPE_AFTER && failureStreak % ESCAPE_AFTER === 0) {
    const recent = events.slice(-failureStreak);
    const failedCategories = new Set<string>(
      recent.flatMap((e) => (e.changes.length > 0 ? e.changes.map((c) => byKey.get(c.key)?.category ?? e.record.category) : [e.record.category])),
    );
    const failedKeys = new Set(recent.flatMap((e) => e.changes.map((c) => c.key)));
    const everTried = new Set(events.flatMap((e) => e.changes.map((c) => c.key)));
    const groups: ((c: NumericConstant) => boolean)[] = [
      (c) => !everTried.has(c.key) && !failedCategories.has(c.category),
      (c) => !everTried.has(c.key),
      (c) => !failedCategories.has(c.category) && !failedKeys.has(c.key),
    ];
    for (const inGroup of groups) {
      for (const c of byScore.filter(inGroup)) for (const dir of bothDirs(c)) add(c, dir, 1, "escape");
    }
    for (const c of byScore.filter((c) => !failedKeys.has(c.key))) for (const dir of bothDirs(c)) add(c, dir, 0, "escape");
    for (const c of byScore) for (const dir of bothDirs(c)) add(c, dir, 0, "escape");
  }

  // Campaign: the run of latest events on one constant.
  const last = events.length > 0 ? eventMove(events[events.length - 1] as HistoryEvent) : null;
  const focus = last ? byKey.get(last.key) : undefined;
  if (last && focus) {
    const campaign: { event: HistoryEvent; move: NonNullable<ReturnType<typeof eventMove>> }[] = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i] as HistoryEvent;
      const move = eventMove(event);
      if (move?.key !== focus.key) break;
      campaign.unshift({ event, move });
    }
    // Values known to be worse than where the constant is now: do not step past them.
    const worse = campaign.map(({ event, move }) => (event.status === "keep" ? move.from : move.to));
    const inside = (m: Move): boolean => !worse.some((w) => (w - focus.value) * (m.value - w) > 0);
    const lastWin = [...campaign].reverse().find(({ event }) => event.status === "keep");
    if (lastWin) {
      const { dir, level } = lastWin.move;
      // Two wins in a row in one direction with a fine step: take a coarser step again.
      const tail = campaign.slice(-2);
      const streak = tail.length === 2 && tail.every(({ event, move }) => event.status === "keep" && move.dir === dir);
      if (streak && (level === 2 || level === 3)) add(focus, dir, (level - 1) as Level, "continue", inside);
      add(focus, dir, level, "continue", inside);
      for (const finer of finerLevels(level)) {
        add(focus, dir, finer, "refine", inside);
        add(focus, opposite(dir), finer, "refine", inside);
      }
    } else {
      const first = campaign[0]?.move ?? last;
      add(focus, opposite(first.dir), first.level, "other-side");
      add(focus, first.dir, first.level, "other-side");
    }
  }

  // Values of each constant known to be worse than another value (lost targets, replaced
  // winners), from any state.
  const worseValues = new Map<string, number[]>();
  for (const event of events) {
    const move = eventMove(event);
    if (!move) continue;
    const list = worseValues.get(move.key) ?? [];
    list.push(event.status === "keep" ? move.from : move.to);
    worseValues.set(move.key, list);
  }
  const pastWorse = (m: Move): boolean => {
    const cur = m.constant.value;
    return (worseValues.get(m.constant.key) ?? []).some((w) => w !== cur && (w - cur) * (m.value - w) >= 0);
  };
  // Explore: coarse steps on every constant before finer ones, big jumps last; moves past a
  // known-worse value only after everything else.
  for (const isPastWorse of [false, true]) {
    for (const level of LEVELS) {
      for (const c of byScore) {
        for (const dir of bothDirs(c)) add(c, dir, level, "explore", (m) => pastWorse(m) === isPastWorse);
      }
    }
  }
  return out;
}
