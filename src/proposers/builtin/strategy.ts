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
import { changeMove, configKey, eventMove, type HistoryAnalysis, type HistoryEvent, type State, withChanges } from "./history.js";
import { type Dir, finerLevels, LEVELS, type Level, type Move, makeMove, opposite } from "./moves.js";
import { isBatchName, namePriority, nameTokens } from "./names.js";
import { seededUnit } from "./random.js";

export const ESCAPE_AFTER = 3;

/** With several workers, a lost target counts against a move only where at most this many other constants differ. */
export const NEAR = 1;

export type Reason = "continue" | "refine" | "other-side" | "escape" | "explore";

export interface Candidate {
  move: Move;
  reason: Reason;
  /** At or past a value of its constant known to be worse than another (a lost target, a replaced winner): likely to lose. */
  doubtful: boolean;
}

export interface StrategyInput {
  constants: NumericConstant[];
  current: State;
  analysis: HistoryAnalysis;
  failureStreak: number;
  seed: number;
  /** `key=value` pairs that must not be proposed (rejected earlier in this iteration). */
  excluded: Set<string>;
  /**
   * Several workers: finer steps around a winner wait until every constant has had its coarse
   * steps (many runs at once are worth more spread over the constants than spent on small gains).
   */
  parallel?: boolean;
  /** The session's noise floor (a run-to-run standard deviation), when known: what "changed nothing" allows. */
  noise?: number;
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

  // Values of each constant known to be worse than another value (lost targets, replaced
  // winners), from any state. With several workers a lost target counts only near where it lost
  // (its configuration and the current one differ in at most NEAR other constants): constants
  // interact (a deeper model loses at one width and wins at a larger one), and a wave has room to
  // try again what lost elsewhere; a replaced winner stays worse (going back is rarely the way).
  const worseValues = new Map<string, { value: number; before: State; lost: boolean }[]>();
  for (const event of events) {
    const move = eventMove(event);
    if (!move) continue;
    const list = worseValues.get(move.key) ?? [];
    list.push({ value: event.status === "keep" ? move.from : move.to, before: event.before, lost: event.status !== "keep" });
    worseValues.set(move.key, list);
  }
  const near = (before: State, key: string): boolean => {
    let differ = 0;
    for (const [k, v] of current) if (k !== key && before.get(k) !== v) differ++;
    return differ <= NEAR;
  };
  const pastWorse = (m: Move, anywhere = false): boolean => {
    const cur = m.constant.value;
    return (worseValues.get(m.constant.key) ?? []).some(({ value: w, before, lost }) => w !== cur && (w - cur) * (m.value - w) >= 0 && (anywhere || !input.parallel || !lost || near(before, m.constant.key)));
  };
  // With several workers, a constant whose every move so far changed nothing measurable (the
  // metric its parent's, within the noise floor; exactly, when there is no noise) is likely to
  // change nothing again: its moves are doubtful too. With noise, after two such moves (one can be
  // a real effect the noise hid); each one tried on a noisy metric is another chance of a false keep.
  const inert = new Set<string>();
  if (input.parallel) {
    const noise = input.noise ?? 0;
    const effect = new Map<string, { changed: boolean; seen: number }>();
    for (const event of events) {
      const move = eventMove(event);
      if (!move || event.metricDelta === undefined) continue;
      const was = effect.get(move.key) ?? { changed: false, seen: 0 };
      effect.set(move.key, { changed: was.changed || Math.abs(event.metricDelta) > noise, seen: was.seen + 1 });
    }
    for (const [key, { changed, seen }] of effect) if (!changed && seen >= (noise > 0 ? 2 : 1)) inert.add(key);
  }
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
    // A step further that lost already from this value, wherever that was, is not taken again
    // first: the direction that won has most likely reached its optimum (a move on a constant not
    // pushed that way is another matter, see NEAR).
    out.push({ move, reason, doubtful: pastWorse(move, reason === "continue") || inert.has(c.key) });
  };
  const bothDirs = (c: NumericConstant): Dir[] => {
    const first = dirs.get(c.key) ?? "up";
    return [first, opposite(first)];
  };

  // Escape: the last N all failed. Not with several workers: most of a wave fails by design (it
  // spreads over the constants), and the streak says nothing of the node built on.
  if (!input.parallel && failureStreak >= ESCAPE_AFTER && failureStreak % ESCAPE_AFTER === 0) {
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

  type Step = { status: HistoryEvent["status"]; move: NonNullable<ReturnType<typeof eventMove>> };
  /** A campaign on one constant (its steps in order): keep going after a win, else try the other side once. */
  const campaign = (focus: NumericConstant, steps: Step[], continueOnly = false): void => {
    // Values known to be worse than where the constant is now: do not step past them.
    const worse = steps.map(({ status, move }) => (status === "keep" ? move.from : move.to));
    const inside = (m: Move): boolean => !worse.some((w) => (w - focus.value) * (m.value - w) > 0);
    const lastWin = [...steps].reverse().find(({ status }) => status === "keep");
    if (lastWin) {
      const { dir, level } = lastWin.move;
      // Two wins in a row in one direction with a fine step: take a coarser step again.
      const tail = steps.slice(-2);
      const streak = tail.length === 2 && tail.every(({ status, move }) => status === "keep" && move.dir === dir);
      if (streak && (level === 2 || level === 3)) add(focus, dir, (level - 1) as Level, "continue", inside);
      add(focus, dir, level, "continue", inside);
      if (continueOnly) return;
      for (const finer of finerLevels(level)) {
        add(focus, dir, finer, "refine", inside);
        add(focus, opposite(dir), finer, "refine", inside);
      }
    } else {
      // Not back past a value known to be worse (a win on this constant made elsewhere in the
      // tree, or earlier: the other side of a loss is often the value that lost to this one).
      const first = (steps[0] as Step).move;
      add(focus, opposite(first.dir), first.level, "other-side", (m) => !pastWorse(m));
      add(focus, first.dir, first.level, "other-side", (m) => !pastWorse(m));
    }
  };

  // In a tree, the steps that made the code first: the node's own change, those of the nodes it
  // combines and those of a combination in flight it builds on are continued, whatever its siblings
  // or other branches decided since. With many workers the last decision is almost never the win
  // the node came from. Finer steps stay with the latest campaign below, as in a chain.
  if (analysis.own) {
    const at = analysis.own.commit;
    const byCommit = new Map(events.map((e) => [e.record.commit, e]));
    const anchor = byCommit.get(at);
    for (const change of analysis.own.changes) {
      const move = changeMove(change);
      const focus = move ? byKey.get(move.key) : undefined;
      if (!move || !focus) continue;
      // The lineage's single steps on this constant up to the node, this one, then its children's on it.
      const steps: Step[] = [{ status: "keep", move }];
      if (anchor && anchor.changes.length === 1 && anchor.changes[0] === change) {
        for (let e = byCommit.get(anchor.record.parent); e && e.status === "keep"; e = byCommit.get(e.record.parent)) {
          const before = eventMove(e);
          if (before?.key !== move.key) break;
          steps.unshift({ status: e.status, move: before });
        }
      }
      for (const child of events) {
        const step = child.record.parent === at ? eventMove(child) : null;
        if (step?.key === move.key) steps.push({ status: child.status, move: step });
      }
      campaign(focus, steps, true);
    }
  }

  // Campaign: the run of latest events on one constant.
  const last = events.length > 0 ? eventMove(events[events.length - 1] as HistoryEvent) : null;
  const focus = last ? byKey.get(last.key) : undefined;
  if (last && focus) {
    const steps: Step[] = [];
    for (let i = events.length - 1; i >= 0; i--) {
      const event = events[i] as HistoryEvent;
      const move = eventMove(event);
      if (move?.key !== focus.key) break;
      steps.unshift({ status: event.status, move });
    }
    campaign(focus, steps);
  }

  // With several workers a wave decides many constants at once, not one last: the other side of
  // every move that lost from the value its constant has now, before moves on constants not tried.
  if (input.parallel) {
    for (const c of byScore) {
      const lost = [...events].reverse().find((e) => {
        const move = eventMove(e);
        return move?.key === c.key && move.from === c.value;
      });
      const move = lost ? eventMove(lost) : null;
      if (lost && move && lost.status !== "keep") add(c, opposite(move.dir), move.level, "other-side", (m) => !pastWorse(m));
    }
  }

  // Explore: coarse steps on every constant before finer ones, big jumps last; moves past a
  // known-worse value only after everything else.
  for (const isPastWorse of [false, true]) {
    for (const level of LEVELS) {
      for (const c of byScore) {
        for (const dir of bothDirs(c)) add(c, dir, level, "explore", (m) => pastWorse(m) === isPastWorse);
      }
    }
  }
  if (!input.parallel) return out;
  // Finer steps (refines, finer explores, big jumps) after every coarse step.
  const coarse = (c: Candidate) => c.reason !== "refine" && (c.reason !== "explore" || c.move.level === 1);
  return [...out.filter(coarse), ...out.filter((c) => !coarse(c))];
}
