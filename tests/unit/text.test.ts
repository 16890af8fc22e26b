import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import { cleanField, formatRow } from "../../src/ledger/results-tsv.js";
import { renderChartSvg } from "../../src/report/chart.js";
import { fromRecords } from "../../src/report/model.js";
import { pngSize, renderPng } from "../../src/report/png.js";
import { columnsOf, fitTable, fitWidth, oneLine, wrapWords } from "../../src/text.js";
import { REALISTIC_SPECS, buildRecords, sessionInfo } from "../helpers/session-fixture.js";

/** Every kind of character a model or a script may put in a description that breaks a reader. */
const HOSTILE = "a\u0001b\u0007c\u001bd\u0085e\u009bf\u2028g\u2029h\u202ei\u2066j\ufeffk\ufffel\ud800m\tn\r\no";

describe("text from models and scripts", () => {
  it("keeps one line with no C0/C1 controls, separators, bidi overrides or XML-invalid characters", () => {
    expect(oneLine(HOSTILE)).toBe("a b c d e f g h i j k l m n o");
    expect(oneLine("emoji 🙂 and ünïcödé stay")).toBe("emoji 🙂 and ünïcödé stay");
  });

  it("results.tsv rows stay five tab-separated fields on one line", () => {
    const row = formatRow({ commit: "abcdef1234", metric: 1, memGb: null, status: "keep", description: HOSTILE });
    expect(row.endsWith("\n")).toBe(true);
    const fields = row.slice(0, -1).split("\t");
    expect(fields).toHaveLength(5);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(fields[4]).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    expect(cleanField("x\u0085y")).toBe("x y");
  });

  it("a description with control characters still gives a valid chart and a PNG", () => {
    const records = buildRecords(1.0023, REALISTIC_SPECS).map((r) => (r.status === "keep" ? { ...r, description: `${HOSTILE} ${r.description}` } : r));
    const svg = renderChartSvg(fromRecords(records, sessionInfo()), { maxTooltips: 1000 });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence
    expect(svg).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/);
    const png = renderPng(svg);
    expect(pngSize(png)?.width).toBeGreaterThan(100);
  });
});

describe("wrapWords", () => {
  it("breaks at spaces, cuts only a word longer than a line, never returns a line too long", () => {
    expect(wrapWords("the quick brown fox", 10)).toEqual(["the quick", "brown fox"]);
    expect(wrapWords("a verylongwordindeed b", 6)).toEqual(["a", "verylo", "ngword", "indeed", "b"]);
    expect(wrapWords("", 5)).toEqual([""]);
    expect(wrapWords("fits", 4)).toEqual(["fits"]);
  });
});

describe("fitTable", () => {
  const table = ["| # | value | description |", "|---|------:|:------------|", "| 1 | 3.230058 | a change whose description is long \\| with a pipe |"];

  it("leaves a table that fits as it is", () => {
    expect(fitTable(table, 80)).toEqual(table);
  });

  it("narrows the widest column and wraps its cells onto continuation rows, every line the same width, the alignment kept", () => {
    expect(fitTable(table, 40)).toEqual([
      "| #   | value    | description         |",
      "|-----|---------:|:--------------------|",
      "| 1   | 3.230058 | a change whose      |",
      "|     |          | description is long |",
      "|     |          | \\| with a pipe      |",
    ]);
  });

  it("leaves a table too wide to fit even with narrow columns as it is", () => {
    const wide = ["| a | b | c | d | e | f |", "|---|---|---|---|---|---|", `| ${"x ".repeat(40)}| y | z | w | v | u |`];
    expect(fitTable(wide, 30)).toEqual(wide);
  });
});

describe("fitWidth", () => {
  it("breaks a paragraph at spaces under a hanging indent, keeping the line's own leading spaces", () => {
    expect(fitWidth("  records      the records of the session and more words", 30, "             ").split("\n")).toEqual([
      "  records      the records of",
      "               the session and",
      "               more words",
    ]);
    // A word longer than the room left is cut where the line ends.
    expect(fitWidth("x".repeat(25), 10).split("\n")).toEqual(["xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"]);
  });
  it("a word longer than the line (a URL, a path) goes on whole under the indent, with no space where it was cut", () => {
    const url = `https://wandb.ai/team/project/runs/${"a1b2c3".repeat(12)}?panelDisplayName=val_bpb`;
    const lines = fitWidth(`note: see ${url} before more`, 30, "      ").split("\n");
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(30);
    expect(lines.length).toBeGreaterThan(3);
    // The URL's pieces, each continuation line without its indent, join back to the URL itself.
    const joined = [lines[0], ...lines.slice(1).map((l) => l.replace(/^ {6}/, ""))].join("");
    expect(joined).toContain(url);
    expect(lines.map((l) => l.trim()).join(" ")).toMatch(/ before more$/);
  });
  it("a path too long for a line under the hanging indent starts after its label, where it stands, not alone on the next line", () => {
    // Longer than a line under the hanging indent (25 columns), though not than a whole line (38).
    const path = "/home/me/nanoGPT/.git/autoresearch";
    const lines = fitWidth(`  records      ${path}`, 40, "             ").split("\n");
    expect(lines[0]).toBe(`  records      ${path.slice(0, 25)}`);
    expect(lines.slice(1).every((l) => l.startsWith(" ".repeat(15)) && l.length <= 40)).toBe(true);
    expect(lines[0]?.slice(15) + lines.slice(1).map((l) => l.slice(15)).join("")).toBe(path);
    // A word that fits on a line under the indent still moves there whole.
    expect(fitWidth("note: see /a/path/records", 20, "  ").split("\n")).toEqual(["note: see", "  /a/path/records"]);
  });
  it("leaves text alone when there is no terminal width, and a line that fits as it is", () => {
    expect(fitWidth("a very long line ".repeat(10), undefined)).toBe("a very long line ".repeat(10));
    expect(fitWidth("short\n  two", 40)).toBe("short\n  two");
  });
  it("a coloured line with leading spaces keeps them and repeats no word (the colour's code comes before the spaces)", () => {
    // As the session's end prints its "vs the baseline" line: yellow, indented six columns.
    const text = "      vs the baseline: never re-measured, no noise floor; `autoresearch confirm best --runs 3` re-runs it before you merge";
    const lines = fitWidth(`\u001b[33m${text}\u001b[39m`, 79).split("\n");
    const plain = lines.map((l) => stripVTControlCharacters(l));
    expect(Math.max(...plain.map((l) => l.length))).toBeLessThanOrEqual(79);
    expect(plain.every((l) => l.startsWith("      "))).toBe(true);
    expect(plain.map((l) => l.trim()).join(" ")).toBe(text.trim());
  });
  it("counts columns, not escape codes", () => {
    const red = "\u001b[31merror:\u001b[39m";
    expect(fitWidth(`${red} one two three`, 20)).toBe(`${red} one two three`);
  });
  it("a terminal's width is one less than its columns (a full last column wraps in some); none for a pipe", () => {
    expect(columnsOf({ isTTY: true, columns: 80 })).toBe(79);
    expect(columnsOf({ isTTY: false, columns: 80 })).toBeUndefined();
    expect(columnsOf({})).toBeUndefined();
  });
});
