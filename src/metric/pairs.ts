/**
 * Where a paired decision's pairs are in its record (src/types.ts ExperimentRecord.parentRuns):
 * read by the sequential rule (paired.ts) and the measured metric (noise.ts), apart from both.
 */

/** A pair's two metrics: the candidate's run and its parent's beside it. */
export interface Pair {
  candidate: number | null;
  parent: number | null;
}

/** What pairsOf reads of a record (src/types.ts ExperimentRecord.parentRuns says the layout). */
export interface PairedRuns {
  runs?: readonly { metric: number | null }[];
  parentRuns?: readonly { metric: number | null; reused?: boolean }[];
  firstPaired?: boolean;
}

/**
 * A paired decision's pairs in the order they ran: pair i is (runs[i], parentRuns[i]) when the
 * first run is in the first pair, else (runs[i + 1], parentRuns[i]). Empty when it has none.
 */
export function pairsOf(record: PairedRuns): Pair[] {
  const offset = record.firstPaired ? 0 : 1;
  return (record.parentRuns ?? []).map((a, i) => ({ candidate: record.runs?.[i + offset]?.metric ?? null, parent: a.metric }));
}
