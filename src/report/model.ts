import type { SessionInfo } from "../ledger/ledger.js";
import { contentionText, decidedOn, delta, gain, inferDirection, type LoadAdjusted, measuredMeans, noiseOfRecords, percentChange, pooledNoise } from "../metric/index.js";
import type { ParsedResults } from "../ledger/results-tsv.js";
import { headOf, lineageOf } from "../ledger/tree.js";
import type { FinalizeView } from "./finalize-view.js";
import { CATEGORIES, type Category, type Direction, type ExperimentRecord, type MemoryEntry, type Status } from "../types.js";

/**
 * The one model every report reads. Two loaders feed it: the rich records of a session
 * (the records' experiments.jsonl + session.json) or just the rows of a results file
 * (this tool's or Karpathy's), where iteration = row index (baseline 0), categories are
 * guessed from the description and times are unknown.
 */
export interface ReportExperiment {
  /** 0 = baseline. */
  iteration: number;
  commit: string;
  metric: number | null;
  memGb: number | null;
  status: Status;
  description: string;
  category: Category | "baseline";
  /** True when the category was guessed from the description (results-file input). */
  categoryGuessed: boolean;
  /** improved, simpler, regression, no-change, timeout, oom, exit-code, ... (null when unknown). */
  reason: string | null;
  detail: string | null;
  /** Best metric before this experiment (null for the baseline or when unknown). */
  bestBefore: number | null;
  /**
   * Its measured metric (src/metric/noise.ts measuredMeans: the mean of all its runs, re-runs as a
   * parent and `confirm`'s included, or its parent's plus its pairs' difference) when that is not
   * its recorded metric; what picks the head and what "best so far" shows.
   */
  measured?: number;
  startedAt: string | null;
  finishedAt: string | null;
  durationSec: number | null;
  /** What the proposer said it was exploring. */
  direction: string | null;
  /** The proposer's predicted metric - bestBefore, when it gave one. */
  expectedDelta?: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  /** Runs behind the metric (their mean) when more than one. */
  runs?: number;
  /** Parent/change pairs it was decided on (a paired decision): a keep on pairs stands on them, not on the single-run noise floor. */
  pairs?: number;
  /**
   * Decided against the load its runs read (src/metric/load-tracker.ts): its difference from its
   * parent at the same load and that difference's standard error. A keep so decided stands on
   * its gain in those standard errors (src/metric/noise.ts loadAdjustedConfidence), not on the
   * single-run noise floor.
   */
  loadAdjusted?: LoadAdjusted;
  /** Which worker ran it and where (sessions with workers; absent in results files and older records). */
  worker?: number;
  device?: string | null;
  host?: string;
  /** When its run began on the device, after any wait in a cluster queue. */
  runStartedAt?: string;
  /** Seconds it waited in a cluster queue (not device time). */
  pendingSec?: number;
  /** The experiment whose change this one re-ran on the current best. */
  rebaseOf?: number;
  /** The commit of the node it was built on (the baseline's is its own commit); absent: the last kept before it (the chain). */
  parent?: string;
  /** The kept experiments whose changes this node applied onto its parent (a combination). */
  combines?: number[];
  /** Non-empty lines of its training script (absent when unknown: results files). */
  lines?: number;
  /** Its (first decided) run's optimizer steps and seconds of training, when the script printed them. */
  steps?: number;
  trainingSec?: number;
  /** Runs of it re-run because the machine was busy (src/metric/throughput.ts). */
  contendedRuns?: number;
}

/** The session's noise floor for the reports: the number, and how it was found (or why not) in words. */
export interface NoiseInfo {
  /** Pooled standard deviation of repeated runs of the same code; null when it cannot be estimated. */
  sd: number | null;
  basis: string;
}

export interface SessionData {
  metricName: string;
  direction: Direction;
  /** Where `direction` came from. */
  directionSource: "flag" | "session" | "inferred" | "default";
  source: "records" | "results";
  /** Results-file dialect, when read from one. */
  format: "autoresearch" | "karpathy" | null;
  experiments: ReportExperiment[];
  session: SessionInfo | null;
  /** e.g. "autoresearch/mar8", when known. */
  branch: string | null;
  resultsPath: string | null;
  /** Lines of the results file that could not be read. */
  skippedLines: number;
  /** The session's research notes (memory.jsonl), oldest first; empty for a results file. */
  memory?: MemoryEntry[];
  /** Absent where the caller built the data by hand. */
  noise?: NoiseInfo;
  /** "7 of 40 runs were re-run for contention (...)"; absent when no run was. */
  contention?: string;
  /**
   * A session other than the repository's current one (`report --tag`): a command the report
   * suggests would act on the current session, so each names this one.
   */
  notCurrent?: boolean;
  /** Where the session's `autoresearch finalize` stands (null: never finalized; absent: not read, e.g. a results file). */
  finalize?: FinalizeView | null;
  /** What the refused proposals (rejected.jsonl) cost: it counts in the proposer's usage, as it does for --max-cost. */
  rejected?: readonly { usage?: { inputTokens: number; outputTokens: number }; costUsd?: number }[];
}

/** The session's head (the best kept node) as finalize names it, or null with no experiment. */
export function headRef(data: SessionData): { id: number; commit: string } | null {
  const head = treeOf(data.experiments, data.direction)?.head ?? data.experiments[0];
  return head ? { id: head.iteration, commit: head.commit } : null;
}

const CONFIRM_HINT = "run `autoresearch confirm baseline --runs 3` in the session's repository to measure it";

/** The noise floor of a session's records: every run of identical code pooled. */
export function recordsNoise(records: readonly ExperimentRecord[]): NoiseInfo {
  const estimate = noiseOfRecords(records);
  if (!estimate) return { sd: null, basis: `not measured: no code ran twice (one baseline run, no confirmation runs); ${CONFIRM_HINT}` };
  const runs = estimate.dof + estimate.groups;
  return { sd: estimate.sd, basis: `the standard deviation of single runs, pooled over ${runs} runs of ${estimate.groups} identical script${estimate.groups > 1 ? "s" : ""}` };
}

/**
 * A results file has no script hashes: rows of the same commit are the only runs known to be of
 * identical code (a re-run baseline, a re-tested commit). Says so when there are none.
 */
export function rowsNoise(rows: readonly { commit: string; metric: number | null; status: Status }[]): NoiseInfo {
  const groups = new Map<string, number[]>();
  for (const row of rows) {
    if (row.status === "crash" || row.metric === null || !Number.isFinite(row.metric) || !row.commit) continue;
    const key = row.commit.slice(0, 7);
    groups.set(key, [...(groups.get(key) ?? []), row.metric]);
  }
  const estimate = pooledNoise(groups.values());
  if (!estimate) return { sd: null, basis: `cannot be estimated from this file: no two rows re-ran the same commit; ${CONFIRM_HINT}` };
  return { sd: estimate.sd, basis: `estimated from ${estimate.dof + estimate.groups} rows that re-ran ${estimate.groups} commit${estimate.groups > 1 ? "s" : ""} (rows of the same commit are identical code)` };
}

export interface LoadOptions {
  /** Overrides the session's direction or the inferred one. */
  direction?: Direction;
  branch?: string | null;
  resultsPath?: string | null;
}

export function fromRecords(records: ExperimentRecord[], session: SessionInfo | null, options: LoadOptions = {}): SessionData {
  const means = measuredMeans(records);
  const measuredOf = (r: ExperimentRecord): number | undefined => {
    const m = r.status === "crash" ? undefined : means.get(r.commit);
    return m !== undefined && Number.isFinite(m) && m !== r.metric ? m : undefined;
  };
  const experiments: ReportExperiment[] = records.map((r) => {
    const decided = decidedOn(r);
    return {
      iteration: r.id,
      commit: r.commit,
      metric: r.status === "crash" ? null : finiteOrNull(r.metric),
      memGb: finiteOrNull(r.memGb),
      status: r.status,
      description: r.description ?? "",
      category: r.id === 0 ? "baseline" : (r.category ?? "other"),
      categoryGuessed: false,
      reason: r.reason ?? null,
      detail: r.detail ?? null,
      bestBefore: finiteOrNull(r.bestBefore),
      ...(measuredOf(r) !== undefined && { measured: measuredOf(r) }),
      startedAt: r.startedAt ?? null,
      finishedAt: r.finishedAt ?? null,
      durationSec: finiteOrNull(r.durationSec),
      direction: r.direction?.trim() ? r.direction : null,
      expectedDelta: finiteOrNull(r.expectedDelta),
      inputTokens: r.usage ? r.usage.inputTokens : null,
      outputTokens: r.usage ? r.usage.outputTokens : null,
      costUsd: finiteOrNull(r.costUsd),
      ...(r.runs && r.runs.length > 1 && { runs: r.runs.length }),
      ...(decided.pairs > 0 && { pairs: decided.pairs }),
      ...(decided.loadAdjusted && { loadAdjusted: decided.loadAdjusted }),
      ...(typeof r.worker === "number" && { worker: r.worker }),
      ...(r.device !== undefined && { device: r.device }),
      ...(r.host && { host: r.host }),
      ...(r.runStartedAt && { runStartedAt: r.runStartedAt }),
      ...(Number.isFinite(r.pendingSec) && { pendingSec: r.pendingSec }),
      ...(typeof r.rebaseOf === "number" && { rebaseOf: r.rebaseOf }),
      // Records written before the tree lack nothing here: every record has always had its parent.
      parent: r.parent || r.commit,
      ...(r.combines && r.combines.length > 0 && { combines: [...r.combines] }),
      lines: Number.isFinite(r.lines) ? r.lines : 0,
      ...(r.steps !== undefined && { steps: r.steps }),
      ...(r.trainingSec !== undefined && { trainingSec: r.trainingSec }),
      ...(r.contendedRuns?.length && { contendedRuns: r.contendedRuns.length }),
    };
  });
  const contention = contentionText(records);
  const metricName = session?.config?.metric ?? "metric";
  const direction = options.direction ?? session?.config?.direction;
  const resolved = direction ? null : inferDirection(experiments, metricName);
  const data: SessionData = {
    metricName,
    direction: direction ?? (resolved as { direction: Direction }).direction,
    directionSource: options.direction ? "flag" : direction ? "session" : (resolved as { source: "inferred" | "default" }).source,
    source: "records",
    format: null,
    experiments,
    session,
    branch: options.branch ?? session?.branch ?? null,
    resultsPath: options.resultsPath ?? null,
    skippedLines: 0,
    noise: recordsNoise(records),
    ...(contention !== null && { contention }),
  };
  fillBestBefore(data);
  return data;
}

export function fromResults(parsed: ParsedResults, options: LoadOptions = {}): SessionData {
  const experiments: ReportExperiment[] = parsed.rows.map((row, index) => {
    const guessed = index === 0 ? "baseline" : guessCategory(row.description);
    return {
      iteration: index,
      commit: row.commit,
      metric: row.status === "crash" ? null : finiteOrNull(row.metric),
      memGb: finiteOrNull(row.memGb),
      status: row.status,
      description: row.description,
      category: guessed,
      categoryGuessed: index !== 0,
      reason: null,
      detail: null,
      bestBefore: null,
      startedAt: null,
      finishedAt: null,
      durationSec: null,
      direction: null,
      inputTokens: null,
      outputTokens: null,
      costUsd: null,
    };
  });
  const resolved = options.direction ? null : inferDirection(experiments, parsed.metricName);
  const data: SessionData = {
    metricName: parsed.metricName,
    direction: options.direction ?? (resolved as { direction: Direction }).direction,
    directionSource: options.direction ? "flag" : (resolved as { source: "inferred" | "default" }).source,
    source: "results",
    format: parsed.format,
    experiments,
    session: null,
    branch: options.branch ?? null,
    resultsPath: options.resultsPath ?? null,
    skippedLines: parsed.skipped.length,
    noise: rowsNoise(parsed.rows),
  };
  fillBestBefore(data);
  return data;
}

/** " (re-run of #n)" for an experiment that re-ran n's change on the current best, else "". */
export function reRunNote(e: Pick<ReportExperiment, "rebaseOf">): string {
  return e.rebaseOf === undefined ? "" : ` (re-run of #${e.rebaseOf})`;
}

function finiteOrNull(value: number | null | undefined): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** Running best from the baseline through kept experiments; fills `bestBefore` where missing. */
function fillBestBefore(data: SessionData): void {
  let best: number | null = null;
  data.experiments.forEach((e, index) => {
    if (index === 0) {
      e.bestBefore = null;
      best = e.metric;
      return;
    }
    if (e.bestBefore === null) e.bestBefore = best;
    if (e.status === "keep" && e.metric !== null) best = e.metric;
  });
}

type Guessable = Exclude<Category, "other">;

/** Words (and two-word phrases) that name what a change touches; spec 2.2's candidate list. */
const CATEGORY_WORDS: Record<Guessable, string[]> = {
  architecture: [
    "layer", "layers", "n_layer", "depth", "deeper", "shallower", "width", "wider", "narrower", "n_embd", "d_model", "dim",
    "head", "heads", "n_head", "kv", "gqa", "mqa", "attention", "attn", "window", "context", "seq_len", "block_size",
    "sequence length", "block size", "activation", "gelu", "silu", "swiglu", "geglu", "mlp", "ffn", "expansion",
    "residual", "skip", "norm", "rmsnorm", "layernorm", "rope", "rotary", "alibi", "positional", "value embedding",
    "tie", "tying", "softcap", "architecture", "moe", "expert", "experts", "model",
  ],
  optimizer: [
    "lr", "learning_rate", "learning rate", "warmup", "warm up", "cooldown", "cool down", "warmdown", "cosine",
    "linear decay", "weight_decay", "weight decay", "wd", "muon", "lion", "sgd", "momentum", "nesterov", "beta",
    "beta1", "beta2", "betas", "eps", "grad_clip", "gradient clipping", "optimizer", "optimiser", "decay", "multiplier",
    "multipliers",
  ],
  training: [
    "bs", "micro batch", "microbatch", "precision", "bf16", "fp16", "fp32", "fp8", "amp", "autocast", "dropout",
    "stochastic depth", "droppath", "curriculum", "data order", "shuffle", "compile", "checkpointing", "steps",
    "epoch", "epochs", "tokens", "ema",
  ],
  hyperparameters: [
    "std", "scale", "scaling", "temperature", "seed", "constant", "coefficient", "ratio", "z_loss", "z loss",
    "label smoothing", "hyperparameter", "hyperparameters",
  ],
};
const CATEGORY_PREFIXES: [string, Guessable][] = [
  ["relu", "architecture"], ["embed", "architecture"], ["schedul", "optimizer"], ["adam", "optimizer"], ["clip", "optimizer"],
  ["batch", "training"], ["accum", "training"], ["init", "hyperparameters"], ["hyperparam", "hyperparameters"], ["logit", "hyperparameters"],
];
const WORD_CATEGORY = new Map<string, Guessable>();
const PHRASE_STARTS = new Set<string>();
for (const [category, words] of Object.entries(CATEGORY_WORDS) as [Guessable, string[]][]) {
  for (const word of words) {
    WORD_CATEGORY.set(word, category);
    if (word.includes(" ")) PHRASE_STARTS.add(word.split(" ")[0] as string);
  }
}
const PREFIX_STARTS = new Set(CATEGORY_PREFIXES.map(([prefix]) => prefix[0] as string));

/**
 * Category from the words of a description (results files carry no category column): each
 * known word or two-word phrase votes; the most votes win, ties in CATEGORIES order.
 */
export function guessCategory(description: string): Category {
  const words = description.toLowerCase().split(/[^a-z0-9_²]+/);
  const votes: Record<Guessable, number> = { architecture: 0, hyperparameters: 0, optimizer: 0, training: 0 };
  let any = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (word === "") continue;
    let category = WORD_CATEGORY.get(word);
    if (!category && word.length > 3 && PREFIX_STARTS.has(word[0] as string)) {
      for (const [prefix, c] of CATEGORY_PREFIXES) {
        if (word.startsWith(prefix)) {
          category = c;
          break;
        }
      }
    }
    if (category) {
      votes[category]++;
      any = true;
    }
    const next = words[i + 1];
    const phrase = next && PHRASE_STARTS.has(word) ? WORD_CATEGORY.get(`${word} ${next}`) : undefined;
    if (phrase) {
      votes[phrase]++;
      any = true;
    }
  }
  if (!any) return "other";
  let best: Guessable = "architecture";
  for (const c of CATEGORIES) {
    if (c !== "other" && votes[c] > votes[best]) best = c;
  }
  return best;
}

export interface CategoryStats {
  category: Category;
  tries: number;
  kept: number;
  discarded: number;
  crashed: number;
  /** Sum of kept experiments' own gains (positive = better). */
  totalGain: number;
  bestKept: ReportExperiment | null;
}

/** Everything the reports derive from the experiments, computed in one pass. */
export interface Analysis {
  baseline: ReportExperiment | null;
  /** The head (src/ledger/tree.ts headOf): the best kept node, which the research branch points at (the baseline when none beat it). */
  best: ReportExperiment | null;
  /** The head's lineage, root (the baseline) to head: the research branch's history. */
  lineage: ReportExperiment[];
  /** Kept experiments off the head's lineage, in order (combined into the head or not: see combinedInto). */
  offLineage: ReportExperiment[];
  /** Kept experiments after the baseline, in order. */
  kept: ReportExperiment[];
  /** Experiments after the baseline. */
  iterations: number;
  lastIteration: number;
  counts: Record<Status, number>;
  /**
   * The best's and the baseline's metrics as measured (src/metric/noise.ts measuredMeans: the mean of
   * all their runs, `confirm`'s included; the first run's metric until it ran again): what decisions
   * compare with, so what every view shows for them.
   */
  bestMetric: number | null;
  baselineMetric: number | null;
  /** bestMetric - baselineMetric, signed raw. */
  improvement: number | null;
  improvementPct: number | null;
  categories: CategoryStats[];
  startedAt: string | null;
  finishedAt: string | null;
  tokens: { input: number; output: number } | null;
  costUsd: number | null;
}

const analysisCache = new WeakMap<SessionData, { experiments: ReportExperiment[]; length: number; direction: Direction; analysis: Analysis }>();

/** One pass over the experiments; cached per data object while its experiments stay the same. */
export function analyze(data: SessionData): Analysis {
  const cached = analysisCache.get(data);
  if (cached && cached.experiments === data.experiments && cached.length === data.experiments.length && cached.direction === data.direction) {
    return cached.analysis;
  }
  const analysis = computeAnalysis(data);
  analysisCache.set(data, { experiments: data.experiments, length: data.experiments.length, direction: data.direction, analysis });
  return analysis;
}

function computeAnalysis(data: SessionData): Analysis {
  const experiments = data.experiments;
  const baseline = experiments[0] ?? null;
  let best: ReportExperiment | null = baseline && baseline.metric !== null ? baseline : null;
  const kept: ReportExperiment[] = [];
  const counts: Record<Status, number> = { keep: 0, discard: 0, crash: 0 };
  const stats = new Map<Category, CategoryStats>();
  let startedAt: string | null = null;
  let finishedAt: string | null = null;
  let input = 0;
  let output = 0;
  let cost = 0;
  let hasTokens = false;
  let hasCost = false;
  /** One proposal's spend added to the session's (null or undefined: it did not say). */
  const spend = (tokensIn: number | null | undefined, tokensOut: number | null | undefined, usd: number | null | undefined) => {
    if (tokensIn != null || tokensOut != null) {
      hasTokens = true;
      input += tokensIn ?? 0;
      output += tokensOut ?? 0;
    }
    if (usd != null && Number.isFinite(usd)) {
      hasCost = true;
      cost += usd;
    }
  };
  // Refused proposals were paid for too (an agent's change that broke a rule, an LLM reply that could not be used).
  for (const r of data.rejected ?? []) spend(r.usage?.inputTokens, r.usage?.outputTokens, r.costUsd);
  for (let i = 0; i < experiments.length; i++) {
    const e = experiments[i] as ReportExperiment;
    if (e.startedAt && (startedAt === null || e.startedAt < startedAt)) startedAt = e.startedAt;
    if (e.finishedAt && (finishedAt === null || e.finishedAt > finishedAt)) finishedAt = e.finishedAt;
    spend(e.inputTokens, e.outputTokens, e.costUsd);
    if (i === 0) continue;
    counts[e.status]++;
    const category: Category = e.category === "baseline" ? "other" : e.category;
    let s = stats.get(category);
    if (!s) {
      s = { category, tries: 0, kept: 0, discarded: 0, crashed: 0, totalGain: 0, bestKept: null };
      stats.set(category, s);
    }
    s.tries++;
    if (e.status === "keep") {
      s.kept++;
      kept.push(e);
      const g = gain(e.metric, e.bestBefore, data.direction) ?? 0;
      s.totalGain += g;
      if (!s.bestKept || g > (gain(s.bestKept.metric, s.bestKept.bestBefore, data.direction) ?? 0)) s.bestKept = e;
      if (e.metric !== null) best = e;
    } else if (e.status === "discard") s.discarded++;
    else s.crashed++;
  }
  // The best is the tree's head, not the last keep: under the tree a later keep can beat only its
  // own parent while a better node sits in another branch.
  const tree = treeOf(experiments, data.direction);
  if (tree) best = tree.head;
  const bestMetric = best ? (best.measured ?? best.metric) : null;
  const baselineMetric = baseline ? (baseline.measured ?? baseline.metric) : null;
  const improvement = delta(bestMetric, baselineMetric);
  const improvementPct = percentChange(bestMetric, baselineMetric);
  const order = (c: Category) => CATEGORIES.indexOf(c);
  return {
    baseline,
    best,
    lineage: tree?.lineage ?? (baseline ? [baseline] : []),
    offLineage: tree ? kept.filter((e) => !tree.onLineage.has(e.iteration)) : [],
    kept,
    iterations: Math.max(0, experiments.length - 1),
    lastIteration: experiments.length > 0 ? (experiments[experiments.length - 1] as ReportExperiment).iteration : 0,
    counts,
    bestMetric,
    baselineMetric,
    improvement,
    improvementPct,
    categories: [...stats.values()].sort((a, b) => order(a.category) - order(b.category)),
    startedAt: data.session?.startedAt ?? startedAt,
    finishedAt,
    tokens: hasTokens ? { input, output } : null,
    costUsd: hasCost ? cost : null,
  };
}

/** The tree's head and its lineage over report experiments; null when no node has a kept metric. */
function treeOf(experiments: readonly ReportExperiment[], direction: Direction): { head: ReportExperiment; lineage: ReportExperiment[]; onLineage: Set<number> } | null {
  // A results file has no parent column: it reads as the spec's single chain, each row built on
  // the last kept row before it (the baseline on itself).
  let chainHead: string | null = null;
  const nodes = experiments.map((e, i) => {
    const parent = e.parent ?? chainHead ?? e.commit;
    if (i === 0 || (e.status === "keep" && e.metric !== null)) chainHead = e.commit;
    return { id: e.iteration, commit: e.commit, parent, status: e.status, metric: e.measured ?? e.metric, lines: e.lines ?? 0, combines: e.combines, e };
  });
  if (!nodes.some((n) => n.status === "keep" && n.metric !== null)) return null;
  const head = headOf(nodes, direction);
  const lineage = lineageOf(nodes, head).map((n) => n.e);
  return { head: head.e, lineage, onLineage: new Set(lineage.map((e) => e.iteration)) };
}

/** The lineage node whose `combines` took in `e`'s change, if any (so the summary can say "combined into the head as #n"). */
export function combinedInto(a: Pick<Analysis, "lineage">, e: Pick<ReportExperiment, "iteration">): ReportExperiment | null {
  return a.lineage.find((n) => n.combines?.includes(e.iteration)) ?? null;
}

/** The node of the best's lineage that holds experiment `id`'s change: itself on the lineage, or the node that combined it in; null when none. */
export function holderInBest(a: Pick<Analysis, "lineage">, id: number): ReportExperiment | null {
  return a.lineage.find((n) => n.iteration === id) ?? combinedInto(a, { iteration: id });
}
