import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { loadReportData, loadResultsFile } from "../../src/report/load.js";
import { analyze, fromRecords, fromResults } from "../../src/report/model.js";
import { buildSummary, renderSummary } from "../../src/report/summary.js";
import {
  KARPATHY_RESULTS,
  REALISTIC_SPECS,
  buildRecords,
  commitAt,
  removeDir,
  sessionInfo,
  tempDir,
  writeSessionFiles,
} from "../helpers/session-fixture.js";
import { treeRecords } from "../helpers/tree-fixture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

/** The markdown between a heading and the next heading of the same or higher level. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  expect(start, `missing heading ${heading}`).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

function tableRows(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("|"));
}

/** Cells of a markdown row, honouring \| escapes. */
function cells(row: string): string[] {
  return row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

describe("autoresearch-summary.md (spec 3.1 + 3.2) from a real-looking session", () => {
  const records = buildRecords(1.0023, REALISTIC_SPECS);
  const data = fromRecords(records, sessionInfo());
  const md = renderSummary(data);
  const c = (id: number) => commitAt(records, id).slice(0, 7);

  it("has the spec's headings, in order", () => {
    const headings = md.split("\n").filter((l) => l.startsWith("#"));
    expect(headings).toEqual([
      "# AutoResearch Summary",
      "## Results",
      "## Top Improvements (kept commits)",
      "## What Didn't Work",
      "## Noise and Confidence",
      "## Recommended Next Steps",
      "## Progress Chart",
      "## Merge Recommendation",
    ]);
  });

  it("states the session's keep rule in the words the proposers were given", () => {
    expect(md.split("\n")).toContain("**Keep rule:** a change is kept when its one run's metric is better than the best so far by any margin; otherwise the branch is reset to the best.");
    const threshold = renderSummary(fromRecords(records, sessionInfo({}, { keepRule: "threshold", minDelta: "0.5%" }))).split("\n");
    expect(threshold.find((l) => l.startsWith("**Keep rule:**"))).toMatch(/beats the best so far by more than 0\.5% of the best;/);
    const paired = renderSummary(fromRecords(records, sessionInfo({}, { keepRule: "confirm", confirmRuns: 3 }))).split("\n");
    expect(paired.find((l) => l.startsWith("**Keep rule:**"))).toMatch(/within 2 × the noise floor .* better or worse, or far better, is run again in turns with its parent on the same worker \(its first run and a run of its parent just before or after it are the first pair; up to 3 pairs/);
    const confirm = renderSummary(fromRecords(records, sessionInfo({}, { keepRule: "confirm", confirmRuns: 3, pairBand: 0 }))).split("\n");
    expect(confirm.find((l) => l.startsWith("**Keep rule:**"))).toMatch(/is re-run 3 more time\(s\) with other seeds, and kept only when the mean of its runs beats the best's mean by more than 2 × the noise floor/);
  });

  it("has the header lines with session, platform, dates, iterations and budget", () => {
    const lines = md.split("\n");
    expect(lines).toContain("**Research session:** autoresearch/mar8");
    expect(lines).toContain("**Platform:** CUDA — NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90");
    // The torch version the probe saw, when the session recorded one.
    const base = sessionInfo();
    const withTorch = renderSummary(fromRecords(records, sessionInfo({ platform: { ...base.platform, kind: "cpu", label: "CPU", device: "cpu", detail: "Intel Xeon, 2 cores", torch: "1.13.0a0" } })));
    expect(withTorch.split("\n")).toContain("**Platform:** CPU — Intel Xeon, 2 cores, torch 1.13.0a0");
    expect(lines).toContain("**Date:** 2025-03-08 21:58 → 2025-03-08 23:55 UTC");
    expect(lines).toContain("**Total iterations:** 20 (5 kept, 12 discarded, 3 crashed)");
    expect(lines).toContain("**Time budget / run:** 5 minutes");
    expect(lines).toContain("**Metric:** val_bpb (lower is better)");
    expect(lines).toContain("**Proposer usage:** 39,900 tokens (37,500 in, 2,400 out), $0.16");
    const order = ["**Research session:**", "**Platform:**", "**Date:**", "**Total iterations:**", "**Time budget / run:**"].map((label) =>
      lines.findIndex((l) => l.startsWith(label)),
    );
    expect([...order].sort((x, y) => x - y)).toEqual(order);
  });

  it("Results table: baseline, best, improvement, best commit", () => {
    expect(tableRows(section(md, "## Results"))).toEqual([
      "| Baseline metric | Best metric | Improvement | Best commit |",
      "|-----------------|-------------|-------------|-------------|",
      `| 1.002300 | 0.961200 | -0.041100 (-4.10%) | ${c(14)} |`,
    ]);
  });

  it("Top Improvements: kept commits ranked by their own gain", () => {
    const rows = tableRows(section(md, "## Top Improvements (kept commits)"));
    expect(rows[0]).toBe("| Rank | Commit | Metric | Description |");
    expect(rows[1]).toBe("|------|--------|--------|-------------|");
    const body = rows.slice(2).map(cells);
    expect(body.map((r) => r[0])).toEqual(["1", "2", "3", "4", "5"]);
    // Own gains: #3 -0.0111, #1 -0.0091, #12 -0.0089, #8 -0.0077, #14 -0.0043.
    expect(body.map((r) => r[1])).toEqual([c(3), c(1), c(12), c(8), c(14)]);
    expect(body[0]).toEqual(["1", c(3), "0.982100", "ReLU² activation instead of GELU (-0.011100, -1.12%, iteration 3)"]);
  });

  it("What Didn't Work: every discard and crash, grouped by category, with why", () => {
    const rows = tableRows(section(md, "## What Didn't Work"));
    expect(rows[0]).toBe("| Category | Description | Outcome |");
    expect(rows[1]).toBe("|----------|-------------|---------|");
    const body = rows.slice(2).map(cells);
    expect(body).toHaveLength(15);
    const order = ["architecture", "hyperparameters", "optimizer", "training"];
    const ranks = body.map((r) => order.indexOf(r[0] ?? ""));
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    expect(ranks).not.toContain(-1);
    expect(body).toContainEqual(["architecture", `Double model width (iteration 4, ${c(4)})`, "crash: OOM: CUDA out of memory. Tried to allocate 2.00 GiB"]);
    expect(body).toContainEqual(["architecture", `Switch to GeLU activation (iteration 2, ${c(2)})`, "regression: +0.011800 (+1.19%) vs its parent 0.993200"]);
    expect(body).toContainEqual(["training", `Curriculum: short sequences first (iteration 18, ${c(18)})`, "crash: timeout after 600s"]);
  });

  it("3 to 5 next steps drawn from the data", () => {
    const bullets = section(md, "## Recommended Next Steps").split("\n").filter((l) => l.startsWith("- "));
    expect(bullets.length).toBeGreaterThanOrEqual(3);
    expect(bullets.length).toBeLessThanOrEqual(5);
    const text = bullets.join("\n");
    expect(text).toContain("Keep exploring **optimizer**"); // 3 kept, the largest total gain
    expect(text).toContain("Deprioritise **training**"); // 0 of 5 kept
    expect(text).toMatch(/near-miss/); // gradient clipping missed by 0.0001
    expect(text).toContain("Gradient clipping at 1.0");
    expect(text).toMatch(/3 crashes \(1 out of memory, 1 timed out\)/);
  });

  it("links the chart and ends with the merge recommendation", () => {
    expect(section(md, "## Progress Chart")).toContain("![progress](progress.png)");
    expect(section(md, "## Progress Chart")).toContain("[progress.svg](progress.svg)");
    const merge = section(md, "## Merge Recommendation");
    expect(merge).toContain(`**Final metric:** 0.961200 (iteration 14, commit ${c(14)}; -0.041100 / -4.10% vs baseline)`);
    expect(merge).toContain("**Kept commits (5):**");
    expect(tableRows(merge)).toHaveLength(2 + 5);
    expect(merge).toContain("autoresearch merge --squash --into main");
    expect(merge).toContain("autoresearch merge --rebase --into main");
    expect(merge).toContain("autoresearch merge --merge --into main");
    expect(merge).toContain("nothing is pushed");
  });

  it("an LLM may write the next steps; a failing one falls back to the data's", async () => {
    const withLlm = await buildSummary(data, {
      writeNextSteps: async () => ["Try **SwiGLU** next", "- Sweep warmup <b>100-400</b>\nnow", "Re-run the baseline"],
    });
    const bullets = section(withLlm, "## Recommended Next Steps").split("\n").filter((l) => l.startsWith("- "));
    expect(bullets).toEqual(["- Try **SwiGLU** next", "- Sweep warmup &lt;b>100-400&lt;/b> now", "- Re-run the baseline"]);
    const failing = await buildSummary(data, {
      writeNextSteps: async () => {
        throw new Error("provider down");
      },
    });
    expect(failing).toBe(md);
  });
});

describe("hostile descriptions cannot break the tables", () => {
  it("escapes pipes, backticks, newlines and HTML everywhere", () => {
    const hostile = "evil | `rm -rf` <img src=x onerror=alert(1)>\n## Not a heading | x";
    const records = buildRecords(1.0, [
      { description: hostile, category: "architecture", metric: 0.9 },
      { description: hostile, category: "optimizer", metric: 1.2 },
      { description: hostile, category: "training", metric: null, detail: "exit 1: | `boom`\n<b>" },
    ]);
    const md = renderSummary(fromRecords(records, sessionInfo()));
    expect(md).not.toContain("<img");
    expect(md).not.toContain("<b>");
    expect(md.split("\n").filter((l) => l.startsWith("#"))).toHaveLength(8);
    for (const heading of ["## Top Improvements (kept commits)", "## What Didn't Work"]) {
      for (const row of tableRows(section(md, heading))) {
        expect(cells(row)).toHaveLength(heading.startsWith("## Top") ? 4 : 3);
        expect(row).not.toMatch(/(^|[^\\])`/);
      }
    }
  });
});

describe("from a results file only", () => {
  it("Karpathy's format: crashes with 0.000000 become crashes without a metric", () => {
    const data = fromResults(parseResults(KARPATHY_RESULTS));
    expect(data.format).toBe("karpathy");
    expect(data.direction).toBe("min");
    expect(data.experiments.filter((e) => e.status === "crash").map((e) => e.metric)).toEqual([null, null]);
    const a = analyze(data);
    expect(a.best?.metric).toBe(0.9855);
    const md = renderSummary(data);
    const lines = md.split("\n");
    expect(lines).toContain("**Research session:** unknown");
    expect(lines).toContain("**Platform:** unknown");
    expect(lines).toContain("**Date:** unknown");
    expect(lines).toContain("**Total iterations:** 9 (3 kept, 4 discarded, 2 crashed)");
    expect(lines).toContain("**Time budget / run:** unknown");
    expect(tableRows(section(md, "## Results"))[2]).toBe("| 0.997900 | 0.985500 | -0.012400 (-1.24%) | a7b8c9d |");
    const top = tableRows(section(md, "## Top Improvements (kept commits)")).slice(2).map(cells);
    expect(top.map((r) => r[1])).toEqual(["e5f6a7b", "b2c3d4e", "a7b8c9d"]);
    const failed = tableRows(section(md, "## What Didn't Work")).slice(2).map(cells);
    expect(failed).toContainEqual(["architecture", "double model width (OOM) (iteration 3, d4e5f6a)", "crash: out of memory"]);
    expect(failed).toContainEqual(["optimizer", "Adam beta2 0.99 (iteration 7, b8c9d0e)", "regression: +0.000100 (+0.01%) vs its parent 0.985500"]);
    expect(md).toContain("Categories were guessed from the descriptions");
    expect(md).toContain("Karpathy's format");
    const bullets = section(md, "## Recommended Next Steps").split("\n").filter((l) => l.startsWith("- "));
    expect(bullets.length).toBeGreaterThanOrEqual(3);
    expect(bullets.length).toBeLessThanOrEqual(5);
  });

  it("commits that no longer exist (or never did) are no problem: no git is needed", () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, "results.tsv");
    writeFileSync(
      path,
      [
        "commit\tval_loss\tmem_gb\tstatus\tdescription",
        "deadbee\t2.500000\t10.0\tkeep\tBaseline — no modifications",
        "0000000\t2.400000\t10.1\tkeep\tlower LR",
        "fffffff\t—\t—\tcrash\tOOM: doubled batch size",
        "not-a-row",
        "1234567\t2.450000\t10.0\tdiscard\tlayer norm eps 1e-6",
        "",
      ].join("\n"),
    );
    const data = loadResultsFile(path);
    const md = renderSummary(data);
    expect(md).toContain("| 2.500000 | 2.400000 | -0.100000 (-4.00%) | 0000000 |");
    expect(md).toContain("1 unreadable line was skipped.");
  });

  it("--direction max overrides and flips what counts as better", () => {
    const text = [
      "commit\tval_acc\tmem_gb\tstatus\tdescription",
      "aaaaaaa\t0.700000\t1.0\tkeep\tbaseline",
      "bbbbbbb\t0.750000\t1.0\tkeep\twider MLP",
      "ccccccc\t0.720000\t1.0\tdiscard\tdropout 0.2",
      "",
    ].join("\n");
    const inferred = fromResults(parseResults(text));
    expect(inferred.direction).toBe("max");
    const md = renderSummary(inferred);
    expect(md).toContain("| 0.700000 | 0.750000 | +0.050000 (+7.14%) | bbbbbbb |");
    expect(md).toContain("regression: -0.030000 (-4.00%) vs its parent 0.750000");
    expect(md).toContain("**Metric:** val_acc (higher is better, inferred from the results; override with --direction)");
    const forced = renderSummary(fromResults(parseResults(text), { direction: "min" }));
    expect(forced).toContain("**Metric:** val_acc (lower is better)");
    // The file's statuses stay authoritative (the branch head is the last kept commit); a
    // discard that is better in the forced direction is reported as such.
    expect(forced).toContain("not kept: -0.030000 (-4.00%)");
  });
});

describe("loading", () => {
  it("prefers the session's records, and falls back to results.tsv", () => {
    const root = tempDir();
    dirs.push(root);
    const records = buildRecords(1.0023, REALISTIC_SPECS);
    writeSessionFiles(root, records, sessionInfo());
    const rich = loadReportData({ root });
    expect(rich.source).toBe("records");
    expect(rich.experiments[4]?.detail).toContain("CUDA out of memory");
    const viaFile = loadReportData({ root, results: join(root, "results.tsv") });
    expect(viaFile.source).toBe("records");
    const other = tempDir();
    dirs.push(other);
    writeFileSync(join(other, "results.tsv"), KARPATHY_RESULTS);
    const bare = loadReportData({ root: other });
    expect(bare.source).toBe("results");
    expect(bare.experiments).toHaveLength(10);
  });

  it("the proposer's usage counts the refused proposals too, as --max-cost does", () => {
    const root = tempDir();
    dirs.push(root);
    const records = buildRecords(1.0, [{ description: "x", metric: 0.9 }]);
    records[1] = { ...(records[1] as (typeof records)[number]), usage: { inputTokens: 2000, outputTokens: 200 }, costUsd: 0.02 };
    writeSessionFiles(root, records, sessionInfo());
    const rejected = [
      { iteration: 2, description: "touched prepare.js", reason: "agent-violation", at: "2025-03-08T22:00:00Z", usage: { inputTokens: 1000, outputTokens: 100 }, costUsd: 0.05 },
      { iteration: 2, description: "unusable reply", reason: "malformed-reply", at: "2025-03-08T22:01:00Z", usage: { inputTokens: 500, outputTokens: 50 } },
    ];
    writeFileSync(join(root, ".autoresearch", "rejected.jsonl"), rejected.map((r) => `${JSON.stringify(r)}\n`).join(""));
    // It showed the experiments' spend alone ($0.02) where the session stopped on "$0.07 of $0.05".
    expect(renderSummary(loadReportData({ root })).split("\n")).toContain("**Proposer usage:** 3,850 tokens (3,500 in, 350 out), $0.07");
  });

  it("skips a torn last line of experiments.jsonl without touching the file", () => {
    const root = tempDir();
    dirs.push(root);
    const records = buildRecords(1.0, [{ description: "x", metric: 0.9 }]);
    writeSessionFiles(root, records, sessionInfo());
    const path = join(root, ".autoresearch", "experiments.jsonl");
    const torn = `${records.map((r) => JSON.stringify(r)).join("\n")}\n{"id":2,"comm`;
    writeFileSync(path, torn);
    expect(loadReportData({ root }).experiments).toHaveLength(2);
    expect(readFileSync(path, "utf8")).toBe(torn);
  });
});

describe("the summary of a research tree", () => {
  const records = treeRecords();
  const data = fromRecords(records, sessionInfo());
  const md = renderSummary(data);
  const c = (id: number) => commitAt(records, id).slice(0, 7);

  it("the best is the head (the best kept node), not the last keep", () => {
    const a = analyze(data);
    expect(a.best?.iteration).toBe(4);
    expect(a.lineage.map((e) => e.iteration)).toEqual([0, 2, 4]);
    expect(a.offLineage.map((e) => e.iteration)).toEqual([1, 5]);
    expect(tableRows(section(md, "## Results"))[2]).toBe(`| 1.000000 | 0.960000 | -0.040000 (-4.00%) | ${c(4)} |`);
  });

  it("Top Improvements: the lineage's steps, each against its parent; then the kept nodes off the lineage", () => {
    const top = section(md, "## Top Improvements (kept commits)");
    const [steps, off] = top.split("**Kept off the best's lineage (2):**");
    const rows = tableRows(steps ?? "").slice(2).map(cells);
    expect(rows).toEqual([
      ["1", c(2), "0.970000", "ReLU² activation (-0.030000, -3.00%, iteration 2)"],
      ["2", c(4), "0.960000", "lower LR on ReLU² (combines #1) (-0.010000, -1.03%, iteration 4)"],
    ]);
    expect(tableRows(off ?? "").slice(2).map(cells)).toEqual([
      ["1", c(1), "0.980000", "lower LR (-0.020000 vs its parent #0)", "combined into the best's lineage as #4"],
      ["5", c(5), "0.975000", "warmup 200 steps (-0.005000 vs its parent #1)", "not in the best's code"],
    ]);
  });

  it("a combination kept off the lineage whose change the best holds says so (it said \"not in the best's code\")", () => {
    const tree = treeRecords();
    const two = tree[2] as (typeof tree)[number];
    // #7: #1's change applied onto #2, kept (better than #2), but the best is #4, which combines #1 into #2 as well.
    const combined = { ...(tree[4] as (typeof tree)[number]), id: 7, commit: "7".repeat(40), parent: two.commit, combines: [1], metric: 0.965, bestBefore: two.metric, description: "combine #1 into #2: lower LR" };
    const off = section(renderSummary(fromRecords([...tree, combined], sessionInfo())), "## Top Improvements (kept commits)").split("**Kept off the best's lineage (3):**")[1];
    expect(tableRows(off ?? "").slice(2).map(cells).find((r) => r[0] === "7")?.[4]).toBe("its change (#1's) is in the best's code, as #4");
  });

  it("Merge Recommendation lists the branch's commits: the lineage", () => {
    const merge = section(md, "## Merge Recommendation");
    expect(merge).toContain("**Kept commits (2):**");
    expect(tableRows(merge).slice(2).map((r) => cells(r)[0])).toEqual(["2", "4"]);
    expect(merge).toContain(`**Final metric:** 0.960000 (iteration 4, commit ${c(4)};`);
  });
});
