/**
 * `builtin`: an offline search over the training script's top-level numeric constants.
 * Stateless: everything is rebuilt from ctx (the changes recorded with each experiment, the
 * current script), so a resumed session continues exactly where it stopped. Deterministic for
 * a given seed.
 *
 * Descriptions: `LEARNING_RATE 0.01 -> 0.02 (x2)`, `ADAM_BETAS[1] 0.95 -> 0.975 (1-b x0.5)`,
 * `TOTAL_BATCH_SIZE 2**19 -> 2**20 (x2)`, `DEVICE_BATCH_SIZE 64 -> 32 (halve after OOM)`.
 *
 * OOM retry: halves the batch-size constant (device/micro batch preferred), re-applying the
 * failed experiment's own change when the script does not already contain it. When there is no
 * batch constant, or halving would only re-run a configuration already tried, it returns null:
 * the loop then records the out-of-memory crash and moves on.
 */
import { oneLine } from "../../text.js";
import type { Category, Edit, Proposal, ProposalContext, Proposer, Scope } from "../../types.js";
import { applyEdits, constantEdit, detectLanguage, type NumericConstant, parseConstants } from "./constants.js";
import { analyzeHistory, BUILTIN_NAME, type Change, changesOf, configKey, constantChange, describeChanges, rejectedChanges, type State, stateOf, withChanges } from "./history.js";
import { formatLike } from "./literals.js";
import { halveMove, type Move } from "./moves.js";
import { isBatchName, nameTokens } from "./names.js";
import { type Candidate, ESCAPE_AFTER, moveId, rankCandidates } from "./strategy.js";

export { parseConstants, type NumericConstant } from "./constants.js";
export { formatLike, parseLiteral } from "./literals.js";

export interface BuiltinOptions {
  seed: number;
}

/** Constants the scope allows: "hyperparameters" allows every numeric constant. */
export function inScope(c: NumericConstant, scope: Scope[]): boolean {
  if (scope.length === 0 || scope.includes("hyperparameters")) return true;
  return (scope as string[]).includes(c.category);
}

/** The proposal's category: the constant's own, or "hyperparameters" when only that covers it. */
export function proposalCategory(c: NumericConstant, scope: Scope[]): Category {
  if (scope.length === 0 || (scope as string[]).includes(c.category)) return c.category;
  return "hyperparameters";
}

function dirWord(move: Move): string {
  return move.value > move.constant.value ? "upward" : "downward";
}

function explain(candidate: Candidate, failureStreak: number): { direction: string; rationale: string } {
  const { move } = candidate;
  const key = move.constant.key;
  const step = `${move.constant.literal} -> ${move.literal}`;
  switch (candidate.reason) {
    case "continue":
      return {
        direction: `tuning ${key} ${dirWord(move)}`,
        rationale: `The last step on ${key} improved the metric; continuing in the same direction (${step}).`,
      };
    case "refine":
      return {
        direction: `refining ${key} around ${move.constant.literal}`,
        rationale: `A larger step on ${key} did not help; trying a finer step (${move.tag}) around the current best.`,
      };
    case "other-side":
      return {
        direction: `tuning ${key} ${dirWord(move)}`,
        rationale: `The other direction on ${key} did not help; trying this side once before moving on.`,
      };
    case "escape":
      return {
        direction: `switching to ${key} (${move.constant.category}) after ${failureStreak} failures`,
        rationale: `The last ${failureStreak} experiments all failed (>= ${ESCAPE_AFTER} in a row); trying a clearly different move: ${key} ${move.tag}.`,
      };
    default:
      return {
        direction: `tuning ${key} ${dirWord(move)}`,
        rationale: `Next untried ${move.level === 1 || move.level === 0 ? "" : "finer "}step on ${key} (${move.constant.category}), chosen by expected impact.`,
      };
  }
}

/** The batch constant to halve after OOM: a per-device/micro batch before a total/global one. */
function batchConstant(constants: NumericConstant[]): NumericConstant | undefined {
  const batches = constants.filter((c) => !c.excluded && c.index === null && isBatchName(c.name) && c.value >= 2);
  const rank = (c: NumericConstant): number => {
    const t = nameTokens(c.name);
    if (t.some((x) => ["DEVICE", "MICRO", "LOCAL", "PER", "MICROBATCH"].includes(x))) return 0;
    if (t.some((x) => ["TOTAL", "GLOBAL", "EFFECTIVE"].includes(x))) return 2;
    return 1;
  };
  return batches.sort((a, b) => rank(a) - rank(b))[0];
}

/**
 * The smallest batch that gets the all-directions-at-once proposal (see momentum). It takes the
 * place of a move a single worker would make next: in a wave of a few it costs more than it
 * brings (bench/tree-waves.mjs, 4 workers, seeds 1-8: 12 3 8 7 5 waves to the yardstick on seeds
 * 1-5 with it from 3, 10 4 8 6 4 without), in a wide one it is the wave's best bet (16 workers
 * reached it a wave sooner with it on 4 of 5 seeds).
 */
export const MOMENTUM_MIN_BATCH = 6;

/**
 * Every "continue" move of the ranking (a step further in a direction that won; one per
 * constant, none likely to lose) applied together, as one proposal; null when there are fewer
 * than two or that configuration was run already.
 */
function momentum(ctx: ProposalContext, ranked: readonly Candidate[], tried: ReadonlySet<string>, current: State): Proposal | null {
  const language = detectLanguage(ctx.trainPath, ctx.trainText);
  const moves = new Map<string, Candidate>();
  for (const c of ranked) if (c.reason === "continue" && !c.doubtful && !moves.has(c.move.constant.key)) moves.set(c.move.constant.key, c);
  if (moves.size < 2) return null;
  let text = ctx.trainText;
  const edits: Edit[] = [];
  const changes: Change[] = [];
  for (const { move } of moves.values()) {
    // Each edit is made on the script as the previous ones left it (a wider edit window may take in a line changed already).
    const c = parseConstants(text, language).find((x) => x.key === move.constant.key);
    const edit = c && c.value === move.constant.value ? constantEdit(text, c, move.literal) : null;
    const next = edit ? applyEdits(text, [edit]) : null;
    if (!edit || next === null) continue;
    edits.push(edit);
    text = next;
    changes.push(constantChange(move.constant.key, move.constant.literal, move.literal, move.constant.value, move.value, move.tag));
  }
  if (changes.length < 2 || tried.has(configKey(withChanges(current, changes.map((c) => ({ key: c.key, value: c.to })))))) return null;
  const first = [...moves.values()][0] as Candidate;
  const keys = changes.map((c) => c.key).join(", ");
  return {
    description: describeChanges(changes),
    category: proposalCategory(first.move.constant, ctx.scope),
    edits,
    changes,
    direction: `continuing ${keys} together`,
    rationale: `Each of these steps continues a change that improved the metric (${keys}); with several workers one experiment takes them all at once, in case their gains add up.`,
  };
}

export class BuiltinProposer implements Proposer {
  readonly name = BUILTIN_NAME;
  readonly instant = true;
  private readonly seed: number;

  constructor(options: BuiltinOptions) {
    this.seed = options.seed;
  }

  async propose(ctx: ProposalContext, signal?: AbortSignal): Promise<Proposal | null> {
    signal?.throwIfAborted();
    const language = detectLanguage(ctx.trainPath, ctx.trainText);
    const constants = parseConstants(ctx.trainText, language);
    if (ctx.oomRetry) return this.oomRetry(ctx, constants);
    return this.moves(ctx, constants, 1)[0] ?? null;
  }

  /**
   * k different moves at once (several workers free): one per constant first, then distinct
   * (constant, direction) pairs, so the batch spreads over the constants and both sides of each
   * rather than k step sizes of one move; only when there are fewer such pairs than k do other
   * steps fill the batch.
   */
  async proposeMany(ctx: ProposalContext, k: number, signal?: AbortSignal): Promise<Proposal[]> {
    signal?.throwIfAborted();
    const language = detectLanguage(ctx.trainPath, ctx.trainText);
    const constants = parseConstants(ctx.trainText, language);
    if (ctx.oomRetry) {
      const retry = this.oomRetry(ctx, constants);
      return retry ? [retry] : [];
    }
    return this.moves(ctx, constants, k);
  }

  /** The first `k` ranked moves as proposals (k > 1: one per constant and direction first). */
  private moves(ctx: ProposalContext, constants: NumericConstant[], k: number): Proposal[] {
    const current = stateOf(constants);
    // The tree: the history as seen from the node this proposal builds on.
    const analysis = analyzeHistory(ctx.history, current, ctx.best.commit, ctx.combining?.ids, ctx.metric.direction);
    const inScopeConstants = constants.filter((c) => !c.excluded && inScope(c, ctx.scope));
    // A constant a run in flight (or a proposal waiting) changes is left alone while it is: a change
    // to it made now would be built on the value that run is replacing, and refused when its turn
    // comes if that run is kept. Unless nothing else is left to tune.
    const busy = new Set((ctx.inFlight ?? []).flatMap((entry) => (entry.changes ?? []).map((change) => change.key)));
    const free = inScopeConstants.filter((c) => !busy.has(c.key));
    // Proposals refused earlier in this iteration (repeat, bad edit, out of scope): propose something else.
    const excluded = new Set<string>();
    for (const entry of ctx.rejected ?? []) {
      if (entry.iteration !== ctx.iteration) continue;
      for (const change of rejectedChanges(entry)) excluded.add(moveId(change.key, change.to));
    }
    const skipFirst = ctx.feedback !== undefined && excluded.size === 0;
    // Changes proposed already and still waiting or running count as tried: never the same one twice at once.
    for (const entry of ctx.inFlight ?? []) for (const change of entry.changes ?? []) excluded.add(moveId(change.key, change.to));
    const usableOf = (tunable: NumericConstant[]) => {
      const ranked = rankCandidates({
        constants: tunable,
        current,
        analysis,
        failureStreak: ctx.failureStreak,
        seed: this.seed,
        excluded,
        parallel: (ctx.workers ?? 1) > 1,
        ...(ctx.run?.noiseFloor !== undefined && { noise: ctx.run.noiseFloor }),
      });
      const found: { candidate: Candidate; edit: Edit }[] = [];
      for (const candidate of ranked) {
        const edit = constantEdit(ctx.trainText, candidate.move.constant, candidate.move.literal);
        if (edit !== null) found.push({ candidate, edit });
      }
      return found;
    };
    let usable = usableOf(free);
    if (usable.length === 0 && free.length < inScopeConstants.length) usable = usableOf(inScopeConstants);
    if (skipFirst) usable.shift();
    const chosen: typeof usable = [];
    if (k > 1) {
      // One move per constant first (its best-ranked one: a wave spread over the constants finds
      // more winners to combine), then one per constant and direction, then the other moves, each
      // pass leaving out the moves known to be likely to lose (doubtful) until the last.
      const passes: ((m: Move) => string)[] = [(m) => m.constant.key, (m) => `${m.constant.key}:${m.dir}`, (m) => `${m.constant.key}=${m.value}`];
      const order: typeof usable = [];
      for (const spread of passes) {
        const taken = new Set(order.map((item) => spread(item.candidate.move)));
        for (const item of usable) {
          const key = spread(item.candidate.move);
          if (item.candidate.doubtful || taken.has(key) || order.includes(item)) continue;
          taken.add(key);
          order.push(item);
        }
      }
      // Steps further in directions that won and other moves, taken in turn: a wave of steps
      // further alone spends itself near optima a single worker would leave after one step.
      const further = order.filter((item) => item.candidate.reason === "continue");
      const others = order.filter((item) => item.candidate.reason !== "continue");
      while (chosen.length < k && further.length + others.length > 0) {
        const next = chosen.length % 2 === 0 ? (further.shift() ?? others.shift()) : (others.shift() ?? further.shift());
        if (next) chosen.push(next);
      }
    }
    for (const item of usable) if (chosen.length < k && !chosen.includes(item)) chosen.push(item);
    // In rank order, so the batch's first proposal is the one a single call would have made.
    chosen.sort((a, b) => usable.indexOf(a) - usable.indexOf(b));
    const proposals: Proposal[] = chosen.map(({ candidate, edit }) => {
      const { move } = candidate;
      const change = constantChange(move.constant.key, move.constant.literal, move.literal, move.constant.value, move.value, move.tag);
      return {
        description: describeChanges([change]),
        category: proposalCategory(move.constant, ctx.scope),
        edits: [edit],
        changes: [change],
        ...explain(candidate, ctx.failureStreak),
      };
    });
    // A wide wave (MOMENTUM_MIN_BATCH or more) also takes every winning direction one step further
    // at once, as one experiment (second in the batch, in place of its last move): when the gains
    // add up, as they mostly do, that is the wave's best node and a whole wave sooner.
    const together = k >= MOMENTUM_MIN_BATCH ? momentum(ctx, usable.map((u) => u.candidate), analysis.tried, current) : null;
    if (together && !proposals.some((p) => p.description === together.description)) {
      proposals.splice(1, 0, together);
      if (proposals.length > k) proposals.pop();
    }
    return proposals;
  }

  private oomRetry(ctx: ProposalContext, constants: NumericConstant[]): Proposal | null {
    const failed = ctx.oomRetry?.experiment;
    if (!failed) return null;
    const byKey = new Map(constants.map((c) => [c.key, c]));
    const changes = changesOf(failed).filter((c) => byKey.has(c.key) && c.tag !== "halve after OOM");
    const scriptState = stateOf(constants);
    // The best configuration: the script, minus the failed change if the script already has it.
    const best: State = withChanges(
      scriptState,
      changes.filter((c) => scriptState.get(c.key) === c.to).map((c) => ({ key: c.key, value: c.from })),
    );
    const batch = batchConstant(constants);
    if (!batch || changes.some((c) => c.key === batch.key)) return null;

    let text = ctx.trainText;
    const edits: Edit[] = [];
    const language = detectLanguage(ctx.trainPath, ctx.trainText);
    for (const change of changes) {
      const c = parseConstants(text, language).find((x) => x.key === change.key);
      if (!c) return null;
      if (c.value === change.to) continue;
      const literal = formatLike(c.literal, c.kind, change.to);
      const edit = constantEdit(text, c, literal);
      const next = edit ? applyEdits(text, [edit]) : null;
      if (!edit || next === null) return null;
      edits.push(edit);
      text = next;
    }
    const batchNow = parseConstants(text, language).find((x) => x.key === batch.key);
    const halved = batchNow ? halveMove(batchNow) : null;
    if (!batchNow || !halved) return null;
    const config = withChanges(best, [...changes.map((c) => ({ key: c.key, value: c.to })), { key: batch.key, value: halved.value }]);
    const analysis = analyzeHistory(ctx.history, best);
    if (analysis.tried.has(configKey(config))) return null;
    const edit = constantEdit(text, batchNow, halved.literal);
    if (!edit) return null;
    edits.push(edit);
    const halving = constantChange(batch.key, batchNow.literal, halved.literal, batchNow.value, halved.value, halved.tag);
    const retried: Change[] = [...changes.map((c) => ({ ...c, tag: c.tag ?? "retry" })), halving];
    // A change the search does not know (another proposer's) keeps its own words.
    const own = changes.length === 0 && oneLine(failed.description) !== "" ? [oneLine(failed.description)] : [];
    return {
      description: [...own, describeChanges(retried)].join(" + "),
      changes: retried,
      category: failed.category === "baseline" ? "training" : failed.category,
      edits,
      direction: `retrying after out-of-memory with ${batch.key} halved`,
      rationale: `The run ran out of memory; halving ${batch.key} (${batchNow.literal} -> ${halved.literal}) and retrying once (spec 2.4).`,
    };
  }
}
