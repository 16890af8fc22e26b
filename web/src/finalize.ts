import type { FinalizePanel } from "../../src/report/finalize-view.js";
import { h } from "./dom.js";

/** A verdict of `autoresearch finalize` on one kept change. */
export type Verdict = FinalizePanel["rows"][number]["verdict"];

/** The verdict as a coloured badge: matters (green), within noise (grey), hurts (red), cannot remove (amber). */
export function verdictBadge(verdict: Verdict, title?: string): HTMLElement {
  return h("span", { class: `verdict v-${verdict.replace(/\s+/g, "-")}`, title }, verdict);
}

const COLUMNS = ["change", "kept Δ", "without it (vs best)", "confidence it matters", "verdict", "share of gain"];

/**
 * The finalize panel's content: the headline, the contribution table with each verdict coloured,
 * the dependencies, the smallest set and the branches, and finalize.md; or how far a finalize
 * that is running or stopped is. Every string is set as text (descriptions come from a model).
 */
export function finalizeSection(f: FinalizePanel, href: (id: number) => string): HTMLElement[] {
  const head = h("div", { class: "card-head" }, h("h2", {}, "Finalize"), h("span", { class: `muted finalize-line ${f.progress}` }, f.line));
  if (f.progress !== "finished" || f.rows.length === 0) return [head];
  const metric = f.metric ?? "metric";
  const rows = f.rows.map((r) =>
    h(
      "tr",
      { "data-change": r.change, "data-verdict": r.verdict },
      h("td", { class: "desc" }, h("a", { href: href(r.change) }, `#${r.change}`), ` ${r.description}`),
      h("td", { class: "num" }, r.keptDelta),
      h("td", { class: "num" }, r.without),
      h("td", { class: "num" }, r.confidence),
      h("td", {}, verdictBadge(r.verdict), r.dependsOn.length > 0 ? h("span", { class: "muted" }, ` with ${r.dependsOn.map((d) => `#${d}`).join(", ")}`) : null),
      h("td", { class: "num" }, r.share),
    ),
  );
  return [
    head,
    f.headline ? h("p", { class: "headline" }, `${f.headline}.`) : h("p", {}),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "results finalize-table" },
        h("thead", {}, h("tr", {}, ...COLUMNS.map((c, i) => h("th", {}, i === 2 ? `${metric} ${c}` : c)))),
        h("tbody", {}, ...rows),
      ),
    ),
    f.notes.length > 0 ? h("ul", { class: "finalize-notes" }, ...f.notes.map((n) => h("li", {}, n))) : h("span", {}),
    f.markdown ? h("details", {}, h("summary", {}, "finalize.md"), h("pre", { class: "code prose" }, f.markdown)) : h("span", {}),
  ];
}
