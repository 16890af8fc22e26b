import { headOf, lineageOf } from "../ledger/tree.js";
import type { Direction } from "../types.js";
import type { ExperimentSummary } from "./model.js";

/**
 * Where the dashboard's tree view draws each experiment. Pure (the page imports it), so the
 * layout is tested without a browser. A file-tree layout: the column is the depth (distance from
 * the baseline, the root), the row the order of a depth-first walk with siblings in id order,
 * so a node's children sit below it, edges never cross and the picture grows one row per node.
 */
export interface TreeNodeView {
  id: number;
  depth: number;
  row: number;
  /** Null for the root (and for a node whose parent is not among the records). */
  parentId: number | null;
  status: ExperimentSummary["status"];
  metric: number | null;
  description: string;
  /** On the path from the root to the head: the research branch's history. */
  onLineage: boolean;
  head: boolean;
  combines?: number[];
}

export interface TreeLayout {
  nodes: TreeNodeView[];
  /** Null while no node has a kept metric. */
  headId: number | null;
  depth: number;
  rows: number;
}

export function layoutTree(experiments: readonly ExperimentSummary[], direction: Direction): TreeLayout {
  const sorted = [...experiments].sort((a, b) => a.id - b.id);
  const nodes = sorted.map((e) => ({ id: e.id, commit: e.commit, parent: e.parent, status: e.status, metric: e.metric, lines: e.lines, combines: e.combines, e }));
  const head = nodes.some((n) => n.status === "keep" && n.metric !== null) ? headOf(nodes, direction) : null;
  const lineage = new Set(head ? lineageOf(nodes, head).map((n) => n.id) : []);
  const byCommit = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) if (!byCommit.has(n.commit)) byCommit.set(n.commit, n);
  const children = new Map<number, (typeof nodes)[number][]>();
  const roots: (typeof nodes)[number][] = [];
  for (const n of nodes) {
    const parent = n.parent === n.commit ? undefined : byCommit.get(n.parent);
    if (!parent || parent.id === n.id) roots.push(n);
    else children.set(parent.id, [...(children.get(parent.id) ?? []), n]);
  }
  const out: TreeNodeView[] = [];
  let maxDepth = 0;
  // Depth-first, without recursion: a long chain of keeps is as deep as the session is long.
  const stack = [...roots].reverse().map((n) => ({ n, depth: 0, parentId: null as number | null }));
  while (stack.length > 0) {
    const { n, depth, parentId } = stack.pop() as (typeof stack)[number];
    maxDepth = Math.max(maxDepth, depth);
    out.push({
      id: n.id,
      depth,
      row: out.length,
      parentId,
      status: n.status,
      metric: n.metric,
      description: n.e.description,
      onLineage: lineage.has(n.id),
      head: head?.id === n.id,
      ...(n.combines && { combines: n.combines }),
    });
    const kids = children.get(n.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ n: kids[i] as (typeof nodes)[number], depth: depth + 1, parentId: n.id });
  }
  return { nodes: out, headId: head?.id ?? null, depth: maxDepth, rows: out.length };
}

/** The head among the page's experiments (the best kept node), or null before any keep. */
export function headSummary(experiments: readonly ExperimentSummary[], direction: Direction): ExperimentSummary | null {
  return experiments.some((e) => e.status === "keep" && e.metric !== null) ? headOf(experiments as ExperimentSummary[], direction) : null;
}
