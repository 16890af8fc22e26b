/**
 * Waves: with several workers and nothing proposed ahead (the builtin search), runs of the same
 * budget started together end together, and a proposal made the moment the first of them ends
 * knows one result where a moment later it would know them all (the winners to combine, the moves
 * that lost). So a free worker waits, before it proposes, for the rest of its wave: the runs that
 * have ended and whose decisions come next, and the runs expected to end about now. Pure: the
 * scheduler keeps the clock and the runs.
 */

/**
 * How far (a share of a run's duration) a run may end from now and still be waited for: a run
 * started so that, taking as long as the latest runs took, it ends within this share of that time
 * from now. One that overruns its window is not waited for.
 */
export const WAVE_SLACK = 0.25;

export interface WaveState {
  now: number;
  /** When each running experiment's (first) run started (ms), by experiment id. */
  runStarts: ReadonlyMap<number, number>;
  /** How long the latest first runs took (ms). */
  durations: readonly number[];
  /** Experiments whose run has ended and whose decision comes next, with no more runs first. */
  imminent: ReadonlySet<number>;
}

/**
 * Until when a free worker waits before it proposes: null when it need not wait,
 * Number.POSITIVE_INFINITY while a decision is coming (the scheduler is woken by it), else the
 * time the last run still expected in the wave is due at the latest.
 */
export function waveHoldUntil(state: WaveState): number | null {
  if (state.imminent.size > 0) return Number.POSITIVE_INFINITY;
  if (state.durations.length === 0) return null;
  const sorted = [...state.durations].sort((a, b) => a - b);
  const typical = sorted[Math.floor(sorted.length / 2)] as number;
  const slack = WAVE_SLACK * typical;
  let until: number | null = null;
  for (const [id, start] of state.runStarts) {
    if (state.imminent.has(id)) continue;
    const expected = start + typical;
    if (expected - slack <= state.now && state.now <= expected + slack) until = Math.max(until ?? 0, expected + slack);
  }
  return until;
}
