/**
 * Issue 26 §5: nothing wider than an 80-column terminal. Each output that was wider is rendered at
 * the width an 80-column terminal gives (79: src/text.ts columnsOf keeps the last column free)
 * and no line may be wider, with every word still there. Where the width comes from the terminal
 * itself (the demo, show, note, doctor, a whole merge, help), the CLI runs at a real pty of 80
 * columns; help also in a pipe (79 columns there).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync as makeTemp, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderPlan } from "../../src/cli/commands/clean.js";
import { renderConfirm } from "../../src/cli/commands/confirm.js";
import { EXAMPLE_DIR } from "../../src/cli/commands/demo.js";
import { fitTableText } from "../../src/cli/commands/finalize.js";
import { mergedText, overview } from "../../src/cli/commands/merge.js";
import { renderLeftovers } from "../../src/cli/leftovers-text.js";
import type { CleanPlan } from "../../src/loop/clean.js";
import type { ConfirmReport } from "../../src/loop/confirm-command.js";
import { fromRecords } from "../../src/report/model.js";
import { renderProgressReport } from "../../src/report/progress.js";
import { renderSummary } from "../../src/report/summary.js";
import { renderFinalizeTable } from "../../src/report/finalize-table.js";
import { finalizeFixture } from "../helpers/finalize-log-fixture.js";
import { fitMarkdown } from "../../src/text.js";
import type { MergePlan } from "../../src/workspace/merge.js";
import { BIN, cli } from "../helpers/cli.js";
import { buildRecords, REALISTIC_SPECS, sessionInfo } from "../helpers/session-fixture.js";
import { hasScript } from "../helpers/terminal.js";

const WIDTH = 79;

/** Temp folders of this file's own, removed at the end. */
const temps: string[] = [];
const mkdtempSync = (prefix: string) => {
  const dir = makeTemp(prefix);
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});
const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]`, "g");

/** The lines as a terminal shows them: colours removed, a line redrawn after a carriage return counted on its own. */
function lines(text: string): string[] {
  return text.replace(ANSI, "").split(/\r?\n|\r/);
}
const columns = (line: string) => [...line].length;
const widest = (text: string) => Math.max(...lines(text).map(columns));
const words = (text: string) => text.replace(ANSI, "").split(/\s+/).filter(Boolean);

/**
 * No line wider than WIDTH, and all of the text rendered whole still there in order: the words
 * joined are the same (a word longer than a line, such as a long path, is cut where the line ends).
 */
function expectFits(narrow: string, whole: string): void {
  const over = lines(narrow).filter((l) => columns(l) > WIDTH);
  expect(over, `lines wider than ${WIDTH} columns`).toEqual([]);
  expect(words(narrow).join("")).toEqual(words(whole).join(""));
  expect(lines(narrow).length).toBeGreaterThan(lines(whole).length);
}

describe("merge at 80 columns", () => {
  // A best 1.5× the noise floor from the baseline: the luck warning is shown.
  const records = buildRecords(1.0, [{ description: "WEIGHT_DECAY 0.1 -> 0.2, with the learning-rate warmup lengthened to match the new decay", category: "optimizer", metric: 0.985 }]);
  (records[0] as (typeof records)[0]).runs = [
    { seed: 0, metric: 0.99, durationSec: 1 },
    { seed: 1, metric: 1.0, durationSec: 1 },
    { seed: 2, metric: 1.01, durationSec: 1 },
  ];
  const data = fromRecords(records, sessionInfo());
  const plan: MergePlan = {
    branch: "autoresearch/a-rather-long-session-tag",
    base: "main",
    branchTip: "b".repeat(40),
    baseTip: "a".repeat(40),
    mergeBase: "a".repeat(40),
    commits: [{ sha: "c".repeat(40), subject: "exp: WEIGHT_DECAY 0.1 -> 0.2, with the learning-rate warmup lengthened to match the new decay" }],
    diverged: true,
    conflicts: [],
  };

  it("the overview (final metric, kept experiments, the luck warning, commits) fits, words intact", () => {
    const whole = overview(plan, "squash", data);
    expect(whole).toContain("⚠ The best against the baseline:");
    expect(widest(whole)).toBeGreaterThan(WIDTH);
    expectFits(overview(plan, "squash", data, WIDTH), whole);
  });

  it("the result with its push advice (no remote) fits", () => {
    const advice = "This repository has no remote: there is nothing to push to.";
    const whole = mergedText(plan.branch, "main", "squash", "a".repeat(40), "d".repeat(40), advice);
    expect(widest(whole)).toBeGreaterThan(WIDTH);
    expectFits(mergedText(plan.branch, "main", "squash", "a".repeat(40), "d".repeat(40), advice, WIDTH), whole);
  });
});

describe("leftovers and clean's plan at 80 columns", () => {
  const now = new Date("2026-12-05T20:00:00Z");
  const leftovers = [
    { kind: "failed-start" as const, id: "failed/mar5-1796503821134", path: "/home/someone/projects/nanochat/.git/autoresearch/failed/mar5-1796503821134", bytes: 4200, modifiedAt: new Date("2026-12-05T19:59:00Z"), inUse: null },
    { kind: "demo" as const, id: "/tmp/autoresearch-demo-h3y8jX", path: "/tmp/autoresearch-demo-h3y8jX", bytes: 173_000, modifiedAt: new Date("2026-12-05T19:59:59Z"), inUse: "it was made moments ago (a demo may be starting in it)" },
  ];

  it("sessions' leftovers section, a demo in use and a failed start, fits", () => {
    const whole = renderLeftovers(leftovers, now);
    expect(whole).toContain("— in use:");
    expect(widest(whole)).toBeGreaterThan(WIDTH);
    expectFits(renderLeftovers(leftovers, now, WIDTH), whole);
  });

  it("clean's plan (a session's branch, refs and folder, a failed start, a demo kept because in use) fits", () => {
    const plan = {
      items: [
        {
          session: { id: "mar5", tag: "mar5", state: "finished", experiments: 12 },
          branch: "autoresearch/mar5",
          squashedInto: "main",
          finalizeBranches: ["autoresearch/mar5-final"],
          refs: ["refs/autoresearch/mar5/1", "refs/autoresearch/mar5/2"],
          dirs: ["/home/someone/projects/nanochat/.git/autoresearch/mar5"],
          unmergedKept: 0,
        },
      ],
      leftovers: [leftovers[0]],
      refused: [{ id: "/tmp/autoresearch-demo-h3y8jX", reason: "it was made moments ago (a demo may be starting in it)" }],
    } as unknown as CleanPlan;
    const whole = renderPlan(plan, false, now);
    expect(widest(whole)).toBeGreaterThan(WIDTH);
    expectFits(renderPlan(plan, false, now, WIDTH), whole);
  });
});

it("confirm's result fits at 80 columns", () => {
  const report: ConfirmReport = {
    target: { label: "best", commit: "e".repeat(40), iteration: 4 },
    metric: "val_bpb",
    direction: "min",
    runs: [],
    candidate: { mean: 3.282536, sd: 0.114215, runs: 2 },
    baseline: { mean: 4.634829, sd: 0.019495, runs: 2 },
    noise: 0.183453,
    head: { iteration: 4, metric: 3.256018 },
    confidence: 7.4,
    verdict: "a real improvement: the mean is 7.4× the noise floor better than the baseline",
  };
  const whole = renderConfirm(report);
  expect(widest(whole)).toBeGreaterThan(WIDTH);
  expectFits(renderConfirm(report, WIDTH), whole);
});

describe("help at 80 columns", () => {
  const commands = ["init", "run", "resume", "status", "show", "compare", "sessions", "clean", "note", "report", "confirm", "finalize", "export", "merge", "dashboard", "demo", "doctor"];

  it("every command's --help in a pipe is at most 79 columns wide", () => {
    const cwd = mkdtempSync(join(tmpdir(), "ar-fit80-"));
    for (const command of commands) {
      const result = cli(cwd, [command, "--help"]);
      expect(result.code, command).toBe(0);
      expect(lines(result.stdout).filter((l) => columns(l) > WIDTH), `${command} --help`).toEqual([]);
    }
  });

  it.skipIf(!hasScript)("in an 80-column terminal, every command's --help fits", () => {
    const cwd = mkdtempSync(join(tmpdir(), "ar-fit80-"));
    for (const command of commands) {
      const out = at80(cwd, [command, "--help"]);
      expect(out, command).toContain("Usage: autoresearch");
      expect(lines(out).filter((l) => columns(l) > WIDTH), `${command} --help`).toEqual([]);
    }
  });
});

/** The CLI at a real 80-column pty (util-linux `script`); what it wrote, colours and all. */
function at80(cwd: string, args: string[]): string {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const result = spawnSync("script", ["-qec", `stty cols 80 rows 50; exec ${quoted}`, "/dev/null"], {
    cwd,
    encoding: "utf8",
    input: "",
    timeout: 120_000,
    env: { ...process.env, TERM: "xterm-256color" },
  });
  return result.stdout;
}

it.skipIf(!hasScript)("a first night at an 80-column terminal: demo, show, note, doctor, sessions, merge --squash: no line wider than 79", () => {
  const parent = mkdtempSync(join(tmpdir(), "ar-fit80-"));
  const repo = join(parent, "demo");
  const outputs: Record<string, string> = {};
  outputs.demo = at80(parent, ["demo", "--dir", repo, "--iterations", "2", "--budget", "1s"]);
  expect(outputs.demo).toContain("Keep rule: any");
  // The session's first line, too long for 80 columns, hangs its rest under itself (it went on at column 0).
  const demoLines = lines(outputs.demo);
  const starting = demoLines.findIndex((l) => l.startsWith("Starting autoresearch/demo"));
  expect(starting).toBeGreaterThanOrEqual(0);
  expect(demoLines[starting + 1]).toMatch(/^ {2}\S/);
  outputs.show = at80(repo, ["show", "1"]);
  expect(outputs.show).toContain("Rationale:");
  outputs.note = at80(repo, ["note", "try", "a", "bigger", "batch"]);
  expect(outputs.note).toContain("The builtin search does not read notes");
  outputs.doctor = at80(repo, ["doctor"]);
  expect(outputs.doctor).toContain("Required:");
  outputs.sessions = at80(repo, ["sessions"]);
  outputs.merge = at80(repo, ["merge", "--squash", "--yes"]);
  expect(outputs.merge).toMatch(/Merged autoresearch\/demo into main|Nothing to merge/);
  for (const [name, out] of Object.entries(outputs)) {
    // The diff `show` prints is the training script's code, left whole.
    const shown = name === "show" ? out.slice(0, out.indexOf("Diff")) : out;
    expect(lines(shown).filter((l) => columns(l) > WIDTH), name).toEqual([]);
  }
}, 180_000);

it.skipIf(!hasScript)("a run whose baseline fails at an 80-column terminal: the error starts on its own line, not after the live line, and fits", () => {
  const repo = mkdtempSync(join(tmpdir(), "ar-fit80-run-"));
  cpSync(EXAMPLE_DIR, repo, { recursive: true });
  for (const args of [["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"]]) spawnSync("git", args, { cwd: repo });
  // `node` with no script reads its stdin and prints no metric: the baseline fails.
  const out = at80(repo, ["run", "--train", "train.js", "--readonly", "prepare.js", "--command", "node", "--budget", "1s", "--metric", "val_bpb", "--direction", "min", "--max-iterations", "1", "--yes"]);
  // What the terminal shows last on each line: a carriage return and an erase start the line again.
  const shown = lines(out.replace(new RegExp(`\\r${ESC}\\[2K`, "g"), "\r"));
  expect(shown.some((l) => l.startsWith("error: the baseline run failed")), out).toBe(true);
  expect(shown.filter((l) => columns(l) > WIDTH)).toEqual([]);
}, 120_000);

/** The lines inside fenced code blocks (left whole at any width). */
function codeLines(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of lines(markdown)) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (fenced) out.add(line);
  }
  return out;
}

/**
 * Every table's rows as their cells (white space made single), a row's continuation rows (the
 * first cell empty) joined back onto it, the `---` rows left out.
 */
function tableRows(markdown: string): string[][] {
  const rows: string[][] = [];
  for (const line of lines(markdown).filter((l) => l.startsWith("|"))) {
    const cells = line.replace(/^\|/, "").replace(/(?<!\\)\|\s*$/, "").split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    const last = rows[rows.length - 1];
    if (cells[0] === "" && last) {
      for (const [i, c] of cells.entries()) last[i] = `${last[i] ?? ""} ${c}`.trim();
    } else rows.push(cells);
  }
  return rows.map((row) => row.map((c) => c.replace(/\s+/g, " ")));
}

describe("the Markdown `status` and `report` print at an 80-column terminal", () => {
  const records = buildRecords(1.0, [
    { description: "LEARNING_RATE 0.06 -> 0.03 (x0.5), with the warmup lengthened to match", category: "optimizer", metric: 0.97 },
    { description: "BATCH_SIZE 32 -> 64 (x2)", category: "training", metric: 1.02 },
  ]);
  const data = fromRecords(records, sessionInfo());

  for (const [name, markdown] of [
    ["the summary (report)", () => renderSummary(data)],
    ["the progress report (status)", () => renderProgressReport(data)],
  ] as const) {
    it(`${name}: every line but code fits, tables too, and the Markdown says the same`, () => {
      const whole = markdown();
      const narrow = fitMarkdown(whole, WIDTH);
      const code = codeLines(whole);
      expect(lines(whole).filter((l) => columns(l) > WIDTH && !l.startsWith("|")).length).toBeGreaterThan(0);
      expect(lines(whole).filter((l) => columns(l) > WIDTH && l.startsWith("|")).length).toBeGreaterThan(0);
      expect(lines(narrow).filter((l) => columns(l) > WIDTH && !code.has(l))).toEqual([]);
      const prose = (text: string) => lines(text).filter((l) => !l.startsWith("|")).join("\n");
      expect(words(prose(narrow)).join("")).toEqual(words(prose(whole)).join(""));
      // Each table row's cells are all there, in their columns (continuation rows joined back).
      expect(tableRows(narrow)).toEqual(tableRows(whole));
      // Headings and code are left whole.
      for (const line of lines(whole).filter((l) => /^(#|```)/.test(l) || code.has(l))) expect(lines(narrow)).toContain(line);
    });
  }

  it("in a pipe (no width) the Markdown is unchanged", () => {
    const whole = renderSummary(data);
    expect(fitMarkdown(whole, undefined)).toBe(whole);
  });
});

it("finalize's sentences fit at 80 columns; its table rows stay whole", () => {
  const text = [
    "Finalize of t2: best #4 (ed58990), 29 runs, 1 run of each variant, finished 2026-12-05 20:53 UTC",
    "val_bpb: best 3.215941 vs baseline 4.652179 re-measured here. 1 of 2 kept changes matter, 1 are within noise, 0 hurt; the smallest set (1 of 2) keeps 84% of the gain.",
    "",
    "  change                                kept Δ     val_bpb without it (vs best)  confidence it matters  verdict       share of gain",
    "  #3 LEARNING_RATE 0.06 -> 0.03 (x0.5)  -1.171163  +0.733674                     3.3 SE (>99.9%)        matters       51%",
    "",
    "Final code: autoresearch/t2-final (e023952), on the session's base commit; `autoresearch merge --final` merges it",
    "",
  ].join("\n");
  const narrow = fitTableText(text, WIDTH);
  expect(lines(narrow).filter((l) => columns(l) > WIDTH && !l.startsWith("  "))).toEqual([]);
  expect(words(narrow).join("")).toEqual(words(text).join(""));
  expect(lines(narrow)).toContain(lines(text)[3]);
});

it("finalize's contribution table at 80 columns: one block per change, every cell there with its column's name", () => {
  const records = buildRecords(1.0, REALISTIC_SPECS);
  const fixture = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: { 3: { verdict: "matters", loss: 0.011 }, 8: { verdict: "hurts", loss: -0.003 } } });
  const result = fixture.result as NonNullable<typeof fixture.result>;
  const options = { format: "text" as const, tag: "mar8", runsPerVariant: 3 };
  const whole = renderFinalizeTable(result, options);
  expect(widest(whole)).toBeGreaterThan(WIDTH);
  const narrow = renderFinalizeTable(result, { ...options, width: WIDTH });
  expect(lines(narrow).filter((l) => columns(l) > WIDTH)).toEqual([]);
  // Each row's words, in order, in its block (with the names of the columns between them).
  // (A cell ends with ";" in a block; a description the table cut ends with "…".)
  const narrowWords = words(narrow).map((w) => w.replace(/;$/, ""));
  let at = 0;
  for (const row of lines(whole).filter((l) => l.startsWith("  #"))) {
    for (const word of words(row).filter((w) => !w.endsWith("…"))) {
      const found = narrowWords.indexOf(word, at);
      expect(found, `${word} of ${row}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
  }
  expect(narrow).toContain("confidence it matters");
  // Wide enough, the table as it was.
  expect(renderFinalizeTable(result, { ...options, width: 300 })).toBe(whole);
});
