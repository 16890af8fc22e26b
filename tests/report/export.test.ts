import { describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { escapeLatex, exportTable } from "../../src/report/export.js";
import { fromRecords, fromResults } from "../../src/report/model.js";
import { KARPATHY_RESULTS, REALISTIC_SPECS, buildRecords, commitAt, sessionInfo } from "../helpers/session-fixture.js";

/** A small RFC 4180 reader, to prove the CSV parses back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

describe("export", () => {
  const hostileSpecs = [
    ...REALISTIC_SPECS,
    { description: 'Comma, "quote" and | pipe, 100% & $x_1$ #{}~^\\', category: "other" as const, metric: 1.1 },
    { description: "=HYPERLINK(\"http://evil\")", category: "other" as const, metric: 1.2 },
  ];
  const records = buildRecords(1.0023, hostileSpecs);
  const data = fromRecords(records, sessionInfo());

  it("json parses back with every experiment and the headline numbers", () => {
    const doc = JSON.parse(exportTable(data, "json"));
    expect(doc.metric).toBe("val_bpb");
    expect(doc.direction).toBe("min");
    expect(doc.experiments).toHaveLength(records.length);
    expect(doc.best).toEqual({ iteration: 14, commit: commitAt(records, 14).slice(0, 7), metric: 0.9612 });
    expect(doc.improvement).toBe(-0.0411);
    expect(doc.experiments[3]).toMatchObject({ iteration: 3, status: "keep", category: "architecture", metric: 0.9821, delta: -0.0111 });
    expect(doc.experiments[4]).toMatchObject({ iteration: 4, status: "crash", metric: null, delta: null, memGb: null });
    expect(Object.keys(doc.experiments[0])).toEqual(["iteration", "commit", "metric", "delta", "memGb", "status", "category", "description"]);
  });

  it("csv has a header and one row per experiment, quoting what needs it", () => {
    const rows = parseCsv(exportTable(data, "csv"));
    expect(rows[0]).toEqual(["iteration", "commit", "metric", "delta", "mem_gb", "status", "category", "description"]);
    expect(rows).toHaveLength(records.length + 1);
    for (const row of rows) expect(row).toHaveLength(8);
    expect(rows[22]?.[7]).toBe('Comma, "quote" and | pipe, 100% & $x_1$ #{}~^\\');
    expect(rows[23]?.[7]).toBe("'=HYPERLINK(\"http://evil\")");
    expect(rows[5]?.slice(2, 6)).toEqual(["", "", "", "crash"]);
    expect(rows[4]?.slice(0, 6)).toEqual(["3", commitAt(records, 3).slice(0, 7), "0.982100", "-0.011100", "44.9", "keep"]);
  });

  it("markdown is one table row per experiment with escaped cells", () => {
    const lines = exportTable(data, "markdown").trimEnd().split("\n");
    expect(lines[0]).toBe("| Iter | Commit | val_bpb | Δ vs parent | Mem (GB) | Status | Category | Description |");
    expect(lines).toHaveLength(records.length + 2);
    for (const line of lines.slice(2)) expect(line.slice(1, -1).split(/(?<!\\)\|/)).toHaveLength(8);
  });

  it("latex is a booktabs longtable with every special character escaped", () => {
    const tex = exportTable(data, "latex");
    expect(tex).toContain("\\begin{longtable}{rlrrrllp{6cm}}");
    expect(tex).toContain("\\toprule");
    expect(tex).toContain("\\end{longtable}");
    const rows = tex.split("\n").filter((l) => /^\d+ & /.test(l));
    expect(rows).toHaveLength(records.length);
    for (const row of rows) expect(row.split(/(?<!\\)&/)).toHaveLength(8);
    expect(escapeLatex('a_b 100% & $x$ #1 {y} ~ ^ \\ ReLU² — done')).toBe(
      "a\\_b 100\\% \\& \\$x\\$ \\#1 \\{y\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{} ReLU\\textsuperscript{2} --- done",
    );
    expect(tex).toContain("val\\_bpb");
    // Braces stay balanced, so the table compiles.
    const unescaped = tex.replace(/\\[{}]/g, "");
    expect(count(unescaped, "{")).toBe(count(unescaped, "}"));
  });

  it("works from Karpathy's results file", () => {
    const doc = JSON.parse(exportTable(fromResults(parseResults(KARPATHY_RESULTS)), "json"));
    expect(doc.experiments).toHaveLength(10);
    expect(doc.experiments.filter((e: { status: string }) => e.status === "crash").map((e: { metric: null }) => e.metric)).toEqual([null, null]);
  });
});

function count(text: string, ch: string): number {
  return text.split(ch).length - 1;
}
