import { type ExperimentSummary, keepCaveat } from "../../src/dashboard/model.js";
import { h } from "./dom.js";
import { type Verdict, verdictBadge } from "./finalize.js";
import { headSummary } from "../../src/dashboard/tree-layout.js";
import { isBetter } from "../../src/metric/compare.js";
import { type Direction, delta, fmtDelta, fmtDuration, fmtMetric } from "./format.js";

type SortKey = "id" | "status" | "metric" | "delta" | "category" | "description" | "duration";

const COLUMNS: { key: SortKey; label: string; title?: string }[] = [
  { key: "id", label: "#" },
  { key: "status", label: "status" },
  { key: "metric", label: "metric" },
  { key: "delta", label: "Δ vs parent", title: "metric minus its parent's: the node it was built on and decided against" },
  { key: "category", label: "category" },
  { key: "duration", label: "duration" },
  { key: "description", label: "description" },
];

const PAGE = 100;

/**
 * The results table: sortable by any column, filtered by status, category and text, one page of
 * rows in the document at a time so 10,000 experiments cost no more to show than 100.
 */
export class ResultsTable {
  readonly root: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly head: HTMLTableRowElement;
  private readonly pager: HTMLElement;
  private readonly statusFilter: HTMLSelectElement;
  private readonly categoryFilter: HTMLSelectElement;
  private readonly textFilter: HTMLInputElement;
  private readonly count: HTMLElement;
  private experiments: ExperimentSummary[] = [];
  private sortKey: SortKey = "id";
  private sortDesc = true;
  private page = 0;
  /** The research tree's head: the row marked "best". */
  private headId: number | null = null;
  /** The session's noise floor, to mark keeps within it. */
  private noise: number | null = null;
  /** Finalize's verdict of each kept change it measured, by experiment number. */
  private verdicts: Record<number, Verdict> = {};

  constructor(
    private direction: Direction,
    private readonly href: (id: number) => string,
  ) {
    this.statusFilter = h("select", { "aria-label": "status", onchange: () => this.refilter() }, h("option", { value: "" }, "all statuses"), ...["keep", "discard", "crash"].map((s) => h("option", { value: s }, s)));
    this.categoryFilter = h("select", { "aria-label": "category", onchange: () => this.refilter() }, h("option", { value: "" }, "all categories"));
    this.textFilter = h("input", { type: "search", placeholder: "filter text…", "aria-label": "filter text", oninput: () => this.refilter() });
    this.count = h("span", { class: "muted" });
    this.head = h("tr");
    this.body = h("tbody");
    this.pager = h("div", { class: "pager" });
    this.root = h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, "Experiments"), this.statusFilter, this.categoryFilter, this.textFilter, this.count),
      h("div", { class: "table-wrap" }, h("table", { class: "results" }, h("thead", {}, this.head), this.body)),
      this.pager,
    );
  }

  setData(experiments: ExperimentSummary[], direction: Direction, noise: number | null = null, verdicts: Record<number, Verdict> = {}): void {
    this.experiments = experiments;
    this.verdicts = verdicts;
    this.direction = direction;
    this.headId = headSummary(experiments, direction)?.id ?? null;
    this.noise = noise;
    const categories = [...new Set(experiments.map((e) => e.category))].sort();
    const current = this.categoryFilter.value;
    const known = [...this.categoryFilter.options].slice(1).map((o) => o.value);
    if (categories.join() !== known.join()) {
      this.categoryFilter.replaceChildren(h("option", { value: "" }, "all categories"), ...categories.map((c) => h("option", { value: c }, c)));
      this.categoryFilter.value = categories.includes(current) ? current : "";
    }
    this.render();
  }

  private refilter(): void {
    this.page = 0;
    this.render();
  }

  private sortBy(key: SortKey): void {
    if (this.sortKey === key) this.sortDesc = !this.sortDesc;
    else {
      this.sortKey = key;
      // Newest first, and for metric and delta the best first, whichever the direction.
      this.sortDesc = key === "id" || key === "metric" || key === "delta";
    }
    this.page = 0;
    this.render();
  }

  private rows(): ExperimentSummary[] {
    const status = this.statusFilter.value;
    const category = this.categoryFilter.value;
    const text = this.textFilter.value.trim().toLowerCase();
    const rows = this.experiments.filter(
      (e) =>
        (!status || e.status === status) &&
        (!category || e.category === category) &&
        (!text || `${e.id} ${e.commit.slice(0, 7)} ${e.description} ${e.reason} ${e.detail ?? ""}`.toLowerCase().includes(text)),
    );
    const key = this.sortKey;
    // "Better" first for metric and delta when descending, whichever the direction.
    const sign = this.direction === "min" ? -1 : 1;
    const value = (e: ExperimentSummary): number | string | null => {
      switch (key) {
        case "id":
          return e.id;
        case "status":
          return e.status;
        case "metric":
          return e.metric === null ? null : sign * e.metric;
        case "delta": {
          const d = delta(e);
          return d === null ? null : sign * d;
        }
        case "category":
          return e.category;
        case "duration":
          return e.durationSec;
        default:
          return e.description.toLowerCase();
      }
    };
    const dir = this.sortDesc ? -1 : 1;
    return rows.sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va === vb) return a.id - b.id;
      if (va === null) return 1; // missing values last either way
      if (vb === null) return -1;
      return (va < vb ? -1 : 1) * dir;
    });
  }

  render(): void {
    this.head.replaceChildren(
      ...COLUMNS.map((c) =>
        h(
          "th",
          { title: c.title, "aria-sort": this.sortKey === c.key ? (this.sortDesc ? "descending" : "ascending") : null },
          h("button", { type: "button", class: "sort", onclick: () => this.sortBy(c.key) }, c.label, this.sortKey === c.key ? (this.sortDesc ? " ▾" : " ▴") : ""),
        ),
      ),
    );
    const rows = this.rows();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    this.page = Math.min(this.page, pages - 1);
    const shown = rows.slice(this.page * PAGE, (this.page + 1) * PAGE);
    this.body.replaceChildren(...shown.map((e) => this.row(e)));
    this.count.textContent = `${rows.length} of ${this.experiments.length}`;
    this.pager.replaceChildren(
      h("button", { type: "button", class: "small", disabled: this.page === 0, onclick: () => this.goto(this.page - 1) }, "‹ newer"),
      h("span", { class: "muted" }, ` page ${this.page + 1} of ${pages} `),
      h("button", { type: "button", class: "small", disabled: this.page >= pages - 1, onclick: () => this.goto(this.page + 1) }, "older ›"),
    );
  }

  private goto(page: number): void {
    this.page = page;
    this.render();
  }

  private row(e: ExperimentSummary): HTMLTableRowElement {
    const d = delta(e);
    const deltaClass = d === null ? "" : isBetter(d, 0, this.direction) ? "better" : d === 0 ? "" : "worse";
    return h(
      "tr",
      { "data-id": e.id, class: e.id === this.headId ? "head" : null },
      h("td", { class: "num" }, h("a", { href: this.href(e.id) }, String(e.id))),
      h(
        "td",
        {},
        h("span", { class: `status ${e.status}` }, e.status),
        e.id === this.headId ? [" ", h("span", { class: "best-mark", title: "the best kept node: the research branch points here" }, "best")] : null,
        ((caveat) => (caveat ? h("span", { class: "within-noise", title: caveat.includes("load-adjusted") ? "its gain over its parent at the same load is under 2 standard errors: it could be luck" : caveat.startsWith("within") ? "its gain is under 2x the noise floor: it could be luck" : "no noise floor was measured: one run, never repeated, could be luck" }, ` ⚠ ${caveat.replace(/[:(,].*$/, "").trim()}`) : null))(keepCaveat(e, this.direction, this.noise)),
        e.status === "keep" && this.verdicts[e.id] ? [" ", verdictBadge(this.verdicts[e.id] as Verdict, "finalize's verdict: the metric's change when it is taken out of the best")] : null,
      ),
      h("td", { class: "num" }, fmtMetric(e.metric)),
      h("td", { class: `num ${deltaClass}` }, fmtDelta(d)),
      h("td", {}, e.category),
      h("td", { class: "num" }, fmtDuration(e.durationSec)),
      h("td", { class: "desc" }, h("a", { href: this.href(e.id) }, e.description), e.status === "keep" ? null : h("span", { class: "muted" }, ` — ${e.detail ?? e.reason}`)),
    );
  }
}
