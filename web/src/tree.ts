import type { ExperimentSummary } from "../../src/dashboard/model.js";
import { layoutTree, type TreeNodeView } from "../../src/dashboard/tree-layout.js";
import { h } from "./dom.js";
import { type Direction, fmtMetric } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const COL = 22;
const ROW = 20;
const PAD = 10;

/** An SVG element; text goes in as text nodes only (descriptions come from a model). */
function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The research tree beside the chart: every experiment a node under the one it was built on,
 * coloured by status, the best's lineage (root to head) drawn thick, the head ringed. Click a
 * node (or focus it and press Enter) to open the experiment.
 */
export class TreeView {
  readonly root: HTMLElement;
  private readonly body: HTMLElement;
  private signature = "";

  constructor(private readonly onOpen: (id: number) => void) {
    this.body = h("div", { class: "tree-wrap" });
    this.root = h(
      "section",
      { class: "card tree-card" },
      h("div", { class: "card-head" }, h("h2", {}, "Research tree"), h("span", { class: "hint" }, "each run under the node it was built on · thick: the best's lineage · click to open")),
      this.body,
    );
  }

  update(experiments: ExperimentSummary[], direction: Direction): void {
    // Redrawn only when a node was added or decided differently: events arrive often.
    const signature = `${direction}:${experiments.length}:${experiments.at(-1)?.id ?? ""}`;
    if (signature === this.signature) return;
    this.signature = signature;
    const layout = layoutTree(experiments, direction);
    const x = (n: TreeNodeView) => PAD + n.depth * COL;
    const y = (n: TreeNodeView) => PAD + n.row * ROW + ROW / 2;
    const width = PAD * 2 + layout.depth * COL + 420;
    const height = PAD * 2 + layout.rows * ROW;
    const svg = s("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}`, role: "tree", "aria-label": "research tree" });
    const byId = new Map(layout.nodes.map((n) => [n.id, n]));
    const edges = s("g", { class: "edges" });
    // Lineage edges last, so the thick line is drawn over the thin ones that share its column.
    const order = [...layout.nodes].sort((a, b) => Number(a.onLineage) - Number(b.onLineage));
    for (const n of order) {
      const parent = n.parentId === null ? undefined : byId.get(n.parentId);
      if (!parent) continue;
      // An elbow: down from the parent, then across to the child.
      const lineage = n.onLineage && parent.onLineage;
      edges.append(s("path", { class: lineage ? "edge lineage" : "edge", d: `M${x(parent)} ${y(parent)}V${y(n)}H${x(n)}`, "data-to": n.id }));
    }
    svg.append(edges);
    for (const n of layout.nodes) {
      const cls = ["node", n.status, n.onLineage ? "lineage" : "", n.head ? "head" : ""].filter(Boolean).join(" ");
      const g = s("g", { class: cls, "data-id": n.id, tabindex: 0, role: "link", transform: `translate(${x(n)} ${y(n)})` });
      const title = `#${n.id} ${n.status} ${fmtMetric(n.metric)}: ${n.description}${n.combines ? ` (combines ${n.combines.map((c) => `#${c}`).join(", ")})` : ""}${n.head ? " — the best (the research branch's head)" : ""}`;
      g.append(s("title", {}, title));
      if (n.head) g.append(s("circle", { class: "ring", r: 9 }));
      g.append(s("circle", { class: "dot", r: n.onLineage ? 6 : 5 }));
      const label = `#${n.id} ${n.status === "crash" ? "crash" : fmtMetric(n.metric)} ${n.description}`;
      g.append(s("text", { x: 12, y: 4 }, label.length > 60 ? `${label.slice(0, 59)}…` : label));
      g.addEventListener("click", () => this.onOpen(n.id));
      g.addEventListener("keydown", (event) => {
        if ((event as KeyboardEvent).key === "Enter") this.onOpen(n.id);
      });
      svg.append(g);
    }
    this.body.replaceChildren(layout.nodes.length > 0 ? svg : h("p", { class: "muted" }, "no experiment yet"));
  }
}
