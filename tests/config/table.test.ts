import { describe, expect, it } from "vitest";
import { renderConfigTable } from "../../src/config/table.js";
import { adjustmentsFor } from "../../src/platform/adjustments.js";
import type { PlatformInfo } from "../../src/types.js";
import type { ResearchConfig } from "../../src/config/options.js";

const config: ResearchConfig = {
  train: "train.py",
  readonly: ["prepare.py"],
  budgetSec: 300,
  metric: "val_bpb",
  direction: "min",
  maxIterations: null,
  scope: ["architecture", "hyperparameters", "optimizer", "training"],
  tag: "nov26",
  results: "results.tsv",
  command: "uv run train.py",
  timeoutSec: 600,
  proposer: "builtin",
  seed: 0,
  reportEvery: 10,
};

const cpu: PlatformInfo = { kind: "cpu", label: "CPU", device: "cpu", os: "linux", detail: "AMD EPYC, 2 cores", source: "os", adjustments: adjustmentsFor("cpu") };

describe("renderConfigTable", () => {
  it("prints the spec's block: its rows, names and order, then the adjustments and the command", () => {
    expect(renderConfigTable(config, cpu)).toBe(
      [
        "## AutoResearch Config",
        "",
        "| Parameter          | Value                                                                                          |",
        "|--------------------|------------------------------------------------------------------------------------------------|",
        "| Training script    | train.py                                                                                       |",
        "| Read-only script   | prepare.py                                                                                     |",
        "| Time budget / run  | 5m                                                                                             |",
        "| Metric             | val_bpb (min)                                                                                  |",
        "| Max iterations     | unlimited                                                                                      |",
        "| Modification scope | all                                                                                            |",
        "| Branch             | autoresearch/nov26                                                                             |",
        "| Results file       | results.tsv                                                                                    |",
        "| Platform           | CPU (AMD EPYC, 2 cores)                                                                        |",
        "| Adjustments        | torch.compile off; SDPA; fp32; batch ×0.25 (offered to the script as AUTORESEARCH_* variables) |",
        "| Command            | `uv run train.py`                                                                              |",
        "| Hard timeout / run | 10m                                                                                            |",
        "| Proposer           | builtin                                                                                        |",
        "",
      ].join("\n"),
    );
  });

  it("shows limits, a partial scope, several read-only scripts, the research-team extras; escapes pipes", () => {
    const cuda: PlatformInfo = { ...cpu, kind: "cuda", label: "CUDA", device: "cuda", detail: "NVIDIA H100 80GB HBM3, 79.2 GiB, sm_90", torch: "2.5.1", adjustments: adjustmentsFor("cuda", { torchVersion: "2.5.1", bf16: true }) };
    const text = renderConfigTable(
      {
        ...config,
        readonly: ["prepare.py", "eval.py"],
        budgetSec: 5400,
        maxIterations: 20,
        scope: ["architecture", "hyperparameters"],
        direction: "max",
        metric: "val_acc",
        command: "python3 train.py | tee log",
        proposer: "anthropic",
        model: "claude-sonnet-4-5",
        hypothesis: "try hierarchical attention with a reduced context window",
        stopWhen: "val_acc >= 0.9",
      },
      cuda,
    );
    const rows = text.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Parameter"));
    const cells = Object.fromEntries(rows.map((l) => l.slice(2, -2).split(/ +\| /).map((c) => c.trim()) as [string, string]));
    expect(cells).toMatchObject({
      "Read-only script": "prepare.py, eval.py",
      "Time budget / run": "1h30m",
      Metric: "val_acc (max)",
      "Max iterations": "20",
      "Modification scope": "architecture / hyperparameters",
      // The torch the runs' own Python imports, next to the device it sees.
      Platform: "CUDA (NVIDIA H100 80GB HBM3, 79.2 GiB, sm_90) with torch 2.5.1",
      Adjustments: "torch.compile on (reduce-overhead); SDPA; bf16; batch ×1 (offered to the script as AUTORESEARCH_* variables)",
      Command: "`python3 train.py \\| tee log`",
      Proposer: "anthropic (claude-sonnet-4-5)",
      Hypothesis: "try hierarchical attention with a reduced context window",
      "Stop when": "val_acc >= 0.9",
    });
  });

  it("leaves out the torch adjustments for a script that does not use torch, keeps the platform", () => {
    const text = renderConfigTable(config, cpu, { torch: false });
    expect(text).not.toContain("Adjustments");
    expect(text).toMatch(/\| Platform +\| CPU \(AMD EPYC, 2 cores\) +\|/);
    expect(renderConfigTable(config, cpu, { torch: true })).toMatch(/\| Adjustments +\| torch\.compile off/);
  });

  it("says the adjustments are only offered to the script, and which of their variables it reads", () => {
    const ignores = renderConfigTable(config, cpu, { script: "import torch\nbatch_size = 8\n" });
    expect(ignores).toMatch(/\| Adjustments +\| torch\.compile off; SDPA; fp32; batch ×0\.25 \(offered to the script as AUTORESEARCH_\* variables; it reads none of them\) +\|/);
    const reads = renderConfigTable(config, cpu, { script: 'import os, torch\nbatch_size = int(8 * float(os.environ.get("AUTORESEARCH_BATCH_SCALE", "1")))\ndtype = os.environ["AUTORESEARCH_AMP_DTYPE"]\n' });
    expect(reads).toContain("(offered to the script as AUTORESEARCH_* variables; it reads AUTORESEARCH_AMP_DTYPE, AUTORESEARCH_BATCH_SCALE)");
  });
});

describe("renderConfigTable: the confirm rule's band and cost", () => {
  it("shows the paired band and what it costs, or the old confirmation runs when pairing is off", () => {
    const paired = renderConfigTable({ ...config, keepRule: "confirm", confirmRuns: 3 }, cpu);
    expect(paired).toMatch(/\| Keep rule +\| confirm \(paired: kept when better than its parent by > 2 standard errors\) +\|/);
    expect(paired).toMatch(
      /\| Paired band +\| first runs within 2× the noise floor of the parent, better or worse \(or far better\), are decided on up to 3 parent\/change pairs, the first run in the first \(0 to 5 more runs: 1 for the first pair, none when the parent just ran on that worker, 2 for each further one; a change that is not better mostly stops after 1 pair, a keep takes 2 at least\) +\|/,
    );
    const old = renderConfigTable({ ...config, keepRule: "confirm", pairBand: 0 }, cpu);
    expect(old).toMatch(/confirm \(2 more runs, mean better by > 2× the noise floor\)/);
    expect(old).not.toMatch(/Paired band/);
  });
});

describe("renderConfigTable in a terminal of a given width", () => {
  // What `run` shows on this kind of machine: the sandbox row and the paired rule's band are the widest.
  const wide = { ...config, keepRule: "confirm" as const, baselineRuns: 2 };
  const options = { protection: "bwrap" as const };
  /** Parameter -> its value, continuation rows (empty parameter cell) joined back with a space. */
  const cellsOf = (text: string): Record<string, string> => {
    const cells: Record<string, string> = {};
    let last = "";
    for (const l of text.split("\n").filter((x) => x.startsWith("| ") && !x.startsWith("| Parameter"))) {
      const [k, v] = l.slice(2, -2).split(" | ").map((c) => c.trim()) as [string, string];
      if (k === "") {
        cells[last] = `${cells[last]} ${v}`;
      } else {
        last = k;
        cells[k] = v;
      }
    }
    return cells;
  };

  it("at 80 columns: no line wider, every value whole on its rows, one row per parameter still starting it", () => {
    const full = renderConfigTable(wide, cpu, options);
    expect(Math.max(...full.split("\n").map((l) => l.length))).toBeGreaterThan(80);
    const fitted = renderConfigTable(wide, cpu, { ...options, width: 80 });
    const lines = fitted.split("\n");
    expect(lines.filter((l) => l.length > 80)).toEqual([]);
    // A table still: every row has its two cells and the same width.
    const rows = lines.filter((l) => l.startsWith("|"));
    expect(new Set(rows.map((l) => l.length)).size).toBe(1);
    expect(cellsOf(fitted)).toEqual(cellsOf(full));
    expect(Object.keys(cellsOf(fitted))).toContain("Sandbox");
    // Wrapped at spaces: no word is cut.
    expect(fitted).toContain("| Sandbox            | bubblewrap sandbox (shared data and the session's       |\n|                    | records read-only or hidden; the run writes only its    |\n");
  });

  it("at 140 columns a table that fits is exactly the spec's block; one that does not is wrapped to 140", () => {
    expect(renderConfigTable(config, cpu, { width: 140 })).toBe(renderConfigTable(config, cpu));
    const fitted = renderConfigTable(wide, cpu, { ...options, width: 140 });
    expect(fitted.split("\n").filter((l) => l.length > 140)).toEqual([]);
    expect(cellsOf(fitted)).toEqual(cellsOf(renderConfigTable(wide, cpu, options)));
  });

  it("too narrow for two columns: a list, each value indented under its parameter, no line wider", () => {
    const text = renderConfigTable(wide, cpu, { ...options, width: 30 });
    expect(text.split("\n").filter((l) => l.length > 30)).toEqual([]);
    expect(text).toContain("Training script:\n  train.py\n");
    expect(text).toContain("Time budget / run:\n  5m\n");
  });
});
