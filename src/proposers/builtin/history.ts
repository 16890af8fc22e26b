/**
 * The proposer keeps no state of its own: everything it needs is read back from the session's
 * records. Each builtin proposal carries its changes as data (`changes`, stored with the
 * experiment); from those and the current script the configurations of every past experiment
 * are rebuilt. Descriptions (`KEY old -> new (tag)`, several joined with ` + `) are for people:
 * they are parsed only for builtin records written before `changes` existed.
 */
import type { ConstantChange, Direction, ExperimentRecord, RejectedProposal, Status } from "../../types.js";
import type { NumericConstant } from "./constants.js";
import { compactLiteral, parseLiteral } from "./literals.js";
import { classifyTag, type Dir, type Level } from "./moves.js";

export type Change = ConstantChange;

export function describeChange(key: string, fromLiteral: string, toLiteral: string, tag: string): string {
  return `${key} ${compactLiteral(fromLiteral)} -> ${compactLiteral(toLiteral)} (${tag})`;
}

const CHANGE_RE = /([A-Za-z_$][\w$]*(?:\[\d+\])?) (\S+) -> ([^\s()]+)(?: \(([^)]*)\))?/g;

/** The proposal's change as data: the description is made from the same values. */
export function constantChange(key: string, fromLiteral: string, toLiteral: string, from: number, to: number, tag: string): Change {
  return { key, from, to, fromText: compactLiteral(fromLiteral), toText: compactLiteral(toLiteral), tag };
}

export function describeChanges(changes: readonly Change[]): string {
  return changes.map((c) => describeChange(c.key, c.fromText, c.toText, c.tag ?? "retry")).join(" + ");
}

/**
 * What an experiment changed: its stored `changes`. A builtin record from before that field
 * existed is read from its own description (the builtin wrote it in its format); any other
 * record without the field changed nothing the search knows of (a model's description shaped
 * like `X 1 -> 2` says nothing reliable).
 */
export function changesOf(record: Pick<ExperimentRecord, "changes" | "proposer" | "description">): Change[] {
  if (record.changes) return record.changes;
  return record.proposer === BUILTIN_NAME ? parseChanges(record.description) : [];
}

/** A refused proposal's changes (none known for entries written before the field). */
export function rejectedChanges(entry: RejectedProposal): Change[] {
  return entry.changes ?? [];
}

/** The builtin proposer's name, as recorded in each experiment's `proposer`. */
export const BUILTIN_NAME = "builtin";

/** Every `KEY old -> new (tag)` in a description whose values are numeric literals (old records only). */
export function parseChanges(description: string): Change[] {
  const changes: Change[] = [];
  for (const m of description.matchAll(CHANGE_RE)) {
    const from = parseLiteral(m[2] ?? "");
    const to = parseLiteral(m[3] ?? "");
    if (!m[1] || from === null || to === null) continue;
    changes.push({ key: m[1], from: from.value, to: to.value, fromText: m[2] ?? "", toText: m[3] ?? "", tag: m[4] ?? null });
  }
  return changes;
}

export type State = Map<string, number>;

export interface HistoryEvent {
  record: ExperimentRecord;
  status: Status;
  /** Changes to constants that exist in the current script. */
  changes: Change[];
  /** The best configuration the experiment was built on. */
  before: State;
  oom: boolean;
  /** In a tree: its metric less the metric of the code its own change was made on (0: the change did nothing); absent when unknown. */
  metricDelta?: number;
}

export interface HistoryAnalysis {
  /** Experiments after the baseline, oldest first. */
  events: HistoryEvent[];
  /** Keys of every configuration already run (baseline, kept and discarded experiments). */
  tried: Set<string>;
  /** Smallest value of a constant that ran out of memory when raised to it. */
  oomCeiling: Map<string, number>;
  /**
   * In a tree: the changes that made the code the proposal builds on, each kept (the node's own
   * change, those of the nodes it combines, and those of a combination in flight it builds on),
   * so the search keeps going in their directions; and the commit of that node.
   */
  own?: { commit: string; changes: Change[] };
}

/** Canonical text of a value, insensitive to float noise. */
function canonical(value: number): string {
  return String(Number(value.toPrecision(12)));
}

export function configKey(state: State): string {
  return [...state.keys()]
    .sort()
    .map((key) => `${key}=${canonical(state.get(key) ?? Number.NaN)}`)
    .join(";");
}

export function stateOf(constants: NumericConstant[]): State {
  return new Map(constants.map((c) => [c.key, c.value]));
}

export function withChanges(state: State, changes: { key: string; value: number }[]): State {
  const next = new Map(state);
  for (const change of changes) if (next.has(change.key)) next.set(change.key, change.value);
  return next;
}

function isOom(record: ExperimentRecord): boolean {
  return record.reason === "oom" || /out of memory|\bOOM\b/i.test(record.detail ?? "");
}

/**
 * Rebuilds each experiment's starting configuration. `at` is the commit of the node the proposal
 * builds on, and `combining` the kept nodes whose changes are applied on it in the current script
 * (a combination in flight, see ProposalContext.combining). In a research tree every node's
 * configuration is its parent's, with the own changes of the nodes it combines, plus its own
 * changes; the root's is the current script with the changes of `at`'s lineage (and `combining`)
 * undone; the events are the experiments built on that lineage (siblings on other branches are
 * another search's campaign), every node's configuration counts as tried. Without `at`, or for
 * records without parents in the history, the single chain: walking back from the current script,
 * a kept experiment's changes are undone, a discarded one left the best unchanged.
 */
export function analyzeHistory(history: ExperimentRecord[], current: State, at?: string, combining: readonly number[] = [], direction: Direction = "min"): HistoryAnalysis {
  const tree = at === undefined ? null : treeAnalysis(history, current, at, combining, direction);
  const { events, tried } = tree ?? chainAnalysis(history, current);
  const oomCeiling = new Map<string, number>();
  for (const event of events) {
    if (!event.oom) continue;
    for (const change of event.changes) {
      if (change.to <= change.from) continue;
      oomCeiling.set(change.key, Math.min(oomCeiling.get(change.key) ?? Number.POSITIVE_INFINITY, change.to));
    }
  }
  return { events, tried, oomCeiling, ...(tree?.own && { own: tree.own }) };
}

function chainAnalysis(history: ExperimentRecord[], current: State): Pick<HistoryAnalysis, "events" | "tried"> {
  const records = [...history].filter((r) => r.category !== "baseline" && r.id !== 0).sort((a, b) => a.id - b.id);
  const tried = new Set<string>([configKey(current)]);
  const events: HistoryEvent[] = [];
  let state = current;
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i] as ExperimentRecord;
    const changes = changesOf(record).filter((c) => current.has(c.key));
    const before = record.status === "keep" ? withChanges(state, changes.map((c) => ({ key: c.key, value: c.from }))) : state;
    if (changes.length > 0) tried.add(configKey(withChanges(before, changes.map((c) => ({ key: c.key, value: c.to })))));
    events.push({ record, status: record.status, changes, before, oom: isOom(record) });
    state = before;
  }
  tried.add(configKey(state));
  events.reverse();
  return { events, tried };
}

/** `state` with `changes` undone, last first (each back to the value it changed). */
function undone(state: State, changes: readonly Change[]): State {
  return withChanges(state, [...changes].reverse().map((c) => ({ key: c.key, value: c.from })));
}

/** The tree's reading (see analyzeHistory), or null when `at` or a parent is not in the history. */
function treeAnalysis(history: ExperimentRecord[], current: State, at: string, combining: readonly number[], direction: Direction): Pick<HistoryAnalysis, "events" | "tried" | "own"> | null {
  const byCommit = new Map<string, ExperimentRecord>();
  for (const r of history) if (!byCommit.has(r.commit)) byCommit.set(r.commit, r);
  const byId = new Map(history.map((r) => [r.id, r]));
  const root = history.find((r) => r.id === 0);
  const anchor = byCommit.get(at);
  if (!root || !anchor) return null;
  const changesIn = (r: ExperimentRecord) => changesOf(r).filter((c) => current.has(c.key));
  /** The own changes of the nodes `ids` combines, in the order they were applied. */
  const partsChanges = (ids: readonly number[]) => ids.flatMap((id) => (byId.has(id) ? changesIn(byId.get(id) as ExperimentRecord) : []));
  /** Everything a node changed on its parent: its parts' own changes, then its own. */
  const fullChanges = (r: ExperimentRecord) => [...partsChanges(r.combines ?? []), ...changesIn(r)];
  // The lineage of `at`, root first; its changes undone from the current script give the root's configuration.
  const lineage: ExperimentRecord[] = [];
  for (let node: ExperimentRecord | undefined = anchor; node && node.id !== 0; node = byCommit.get(node.parent)) {
    if (lineage.includes(node)) return null;
    lineage.unshift(node);
  }
  if (lineage.length > 0 && byCommit.get((lineage[0] as ExperimentRecord).parent)?.id !== 0) return null;
  let rootState = undone(current, partsChanges(combining));
  for (const node of [...lineage].reverse()) rootState = undone(rootState, fullChanges(node));
  const states = new Map<string, State>([[root.commit, rootState]]);
  const stateOfNode = (r: ExperimentRecord): State | null => {
    const known = states.get(r.commit);
    if (known) return known;
    const parent = byCommit.get(r.parent);
    const before = parent && parent !== r ? stateOfNode(parent) : null;
    if (!before) return null;
    const state = withChanges(before, fullChanges(r).map((c) => ({ key: c.key, value: c.to })));
    states.set(r.commit, state);
    return state;
  };
  /**
   * The code a node's own change was made on, measured: its parent, or for a node made on a
   * combination in flight, that combination (a pure combination of the same nodes on the same
   * parent) once measured. Its status and delta are read against that: such a node is kept when
   * the combination and its change together beat the parent, which says nothing of its own change.
   */
  const same = (a: readonly number[] = [], b: readonly number[] = []) => a.length === b.length && a.every((id, i) => b[i] === id);
  const ownBase = (r: ExperimentRecord): ExperimentRecord | undefined =>
    (r.onCombination ? history.find((n) => n.parent === r.parent && (n.combines?.length ?? 0) > 0 && !n.onCombination && same(n.combines, r.combines) && n.metric !== null) : undefined) ??
    byCommit.get(r.parent);
  const better = (a: number, b: number) => (direction === "min" ? a < b : a > b);
  const onLineage = new Set([root.commit, ...lineage.map((n) => n.commit)]);
  const tried = new Set<string>([configKey(current), configKey(rootState)]);
  const events: HistoryEvent[] = [];
  for (const record of [...history].filter((r) => r.id !== 0 && r.category !== "baseline").sort((a, b) => a.id - b.id)) {
    const parent = byCommit.get(record.parent);
    const parentState = parent ? stateOfNode(parent) : null;
    if (!parentState) return null;
    // Its own changes were made on its parent with the changes it combines applied.
    const before = withChanges(parentState, partsChanges(record.combines ?? []).map((c) => ({ key: c.key, value: c.to })));
    const changes = changesIn(record);
    tried.add(configKey(withChanges(before, changes.map((c) => ({ key: c.key, value: c.to })))));
    if (!onLineage.has(record.parent)) continue;
    const base = ownBase(record);
    const measured = record.metric !== null && base && base.metric !== null ? { metricDelta: record.metric - base.metric } : {};
    // Kept against its parent but not better than the combination it was made on: its own change lost.
    const status = record.onCombination && record.status === "keep" && record.metric !== null && base && base.metric !== null && !better(record.metric, base.metric) ? "discard" : record.status;
    events.push({ record, status, changes, before, oom: isOom(record), ...measured });
  }
  // What made the code the proposal builds on: the node's own change and its parts', and the combination in flight's.
  const own = anchor.id === 0 ? [] : fullChanges(anchor);
  return { events, tried, own: { commit: at, changes: [...own, ...partsChanges(combining)] } };
}

/** Direction and level of a single-constant event, or null for anything else. */
export function eventMove(event: HistoryEvent): { key: string; dir: Dir; level: Level; from: number; to: number } | null {
  if (event.changes.length !== 1) return null;
  return changeMove(event.changes[0] as Change);
}

/** Direction and level of one change to a constant, or null (an out-of-memory halving, an unknown tag). */
export function changeMove(change: Change): { key: string; dir: Dir; level: Level; from: number; to: number } | null {
  if (change.tag === "halve after OOM") return null;
  const kind = classifyTag(change.tag ?? "", change.from, change.to);
  return kind ? { key: change.key, ...kind, from: change.from, to: change.to } : null;
}
