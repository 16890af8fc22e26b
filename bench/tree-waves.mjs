#!/usr/bin/env node
// Waves to the yardstick: the tree's search alone, without the machine's noise.
//
//   node bench/tree-waves.mjs --ns 1,4,8 --seeds 1,2,3,4,5 [--run-ms 400] [--verbose] [--dump DIR]
//
// The fast fake trainer of bench/tree.mjs, its metric computed in-process (no shell, no awk) after a
// sleep of --run-ms, so a session of N workers runs in waves as on a GPU machine. For each seed the
// yardstick is what a 1-worker chain session reached after 16 experiments (as in bench/tree.mjs); a
// cell is the number of waves (the rounds of runs started together) until the kept best first
// reaches it, and its speedup the same search's 1-worker waves (= experiments) over that. The
// wall-clock speedup of bench/tree.mjs is this less the tool's own time per wave.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { research } from "../dist/loop/research.js";
import { StopControl } from "../dist/search/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { Git } from "../dist/workspace/git.js";
import { benchRepo, recordsDir } from "./repo.mjs";
import { TRAIN, fakeLoss } from "./tree-fixture.mjs";

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const list = (name, fallback) => value(name, fallback).split(",").filter(Boolean);
const NS = list("--ns", "1,4,8").map(Number);
const SEEDS = list("--seeds", "1,2,3,4,5").map(Number);
const RUN_MS = Number(value("--run-ms", "400"));
const VERBOSE = args.includes("--verbose");
const DUMP = value("--dump", null);
const YARDSTICK_EXPERIMENTS = 16;
const capOf = (n) => 3 * YARDSTICK_EXPERIMENTS + 4 * n;
const CPU = { kind: "cpu", label: "CPU", device: "cpu", os: process.platform, detail: "bench", source: "os", adjustments: { compile: false, compileMode: null, attention: "manual", ampDtype: "fp32", batchScale: 1, castOptimizerStateFp32: false, notes: [] } };

/** The fake trainer in-process: its constants read from train.js, the metric after a sleep. */
class FakeExecutor {
  constructor(runMs) {
    this.runMs = runMs;
  }
  async run(spec) {
    const started = performance.now();
    spec.onStart?.();
    const text = readFileSync(join(spec.cwd, "train.js"), "utf8");
    if (spec.env.AUTORESEARCH_EXPERIMENT !== "0") await new Promise((r) => setTimeout(r, this.runMs));
    const loss = fakeLoss(text);
    const lines = [loss === null ? "bad constants" : `val_loss: ${loss.toFixed(6)}`];
    mkdirSync(dirname(spec.logPath), { recursive: true });
    writeFileSync(spec.logPath, `${lines.join("\n")}\n`);
    return { exitCode: loss === null ? 1 : 0, signal: null, timedOut: false, durationSec: (performance.now() - started) / 1000, metric: loss === null ? null : Number(loss.toFixed(6)), memGb: null, params: null, oom: false, tailLines: lines };
  }
}

async function session({ workers, search, experiments, seed, runMs, target }) {
  const root = benchRepo("ar-waves-", { "train.js": TRAIN });
  const stop = new StopControl();
  const bests = [];
  const deps = {
    git: new Git(root),
    executor: new FakeExecutor(runMs),
    proposer: new BuiltinProposer({ seed }),
    emit: (event) => {
      if (event.type !== "experiment") return;
      const best = event.best.metric;
      if (bests.length === 0 || best < bests[bests.length - 1].metric) bests.push({ metric: best, id: event.record.id });
      if (target !== undefined && best <= target + 1e-12 && !stop.stopRequested) stop.request();
    },
    now: () => new Date(),
    stop,
    baseEnv: {},
    graceMs: 100,
  };
  const config = {
    train: "train.js", budgetSec: 1, metric: "val_loss", direction: "min", maxIterations: experiments,
    scope: ["architecture", "hyperparameters", "optimizer", "training"], tag: "bench", results: "results.tsv", timeoutSec: 60,
    proposer: "builtin", seed, reportEvery: 1000, search, workers, devices: Array.from({ length: workers }, (_, i) => String(i)),
    readonly: [], command: "true", keepRule: "any", baselineRuns: 1,
  };
  await research(root, { kind: "new", config, platform: CPU }, deps);
  const records = readFileSync(join(recordsDir(root), "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  rmSync(root, { recursive: true, force: true });
  return { bests, records };
}

/** Each experiment's wave: runs started within half a run of the wave's first start are one wave. */
function wavesOf(records, runMs) {
  const runs = records.filter((r) => r.id !== 0).map((r) => ({ id: r.id, t: Date.parse(r.runStartedAt ?? r.startedAt) })).sort((a, b) => a.t - b.t);
  const wave = new Map();
  let n = 0;
  let start = Number.NEGATIVE_INFINITY;
  for (const r of runs) {
    if (r.t - start > runMs / 2) {
      n++;
      start = r.t;
    }
    wave.set(r.id, n);
  }
  return wave;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const cells = new Map();
for (const seed of SEEDS) {
  const yard = await session({ workers: 1, search: "chain", experiments: YARDSTICK_EXPERIMENTS, seed, runMs: 0 });
  const target = yard.bests[yard.bests.length - 1].metric;
  for (const n of NS) {
    const { bests, records } = await session({ workers: n, search: "tree", experiments: capOf(n), seed, runMs: n === 1 ? 0 : RUN_MS, target });
    const hit = bests.find((b) => b.metric <= target + 1e-12);
    const waves = n === 1 ? null : wavesOf(records, RUN_MS);
    // The reaching experiment's wave; with one worker every experiment is a wave.
    const w = hit ? (n === 1 ? hit.id : waves.get(hit.id)) : null;
    const experiments = hit ? records.filter((r) => r.id !== 0 && (n === 1 ? r.id <= hit.id : waves.get(r.id) <= w)).length : null;
    (cells.get(n) ?? cells.set(n, []).get(n)).push({ seed, waves: w, experiments });
    if (DUMP) {
      mkdirSync(DUMP, { recursive: true });
      writeFileSync(join(DUMP, `tree-${n}-${seed}.json`), JSON.stringify({ target, bests, records, waves: waves && Object.fromEntries(waves) }, null, 1));
    }
    if (VERBOSE) console.log(`seed ${seed} N=${n}: target ${target.toFixed(6)}, ${w === null ? "not reached" : `reached in wave ${w} (${experiments} experiments)`}, ${records.length - 1} run`);
  }
}
console.log(`tree-waves: waves until the kept best first reaches the yardstick (speedup = 1-worker waves / N-worker waves, per seed), run ${RUN_MS} ms`);
console.log("   N  waves (per seed)              median speedup  [min-max]        experiments (median)");
for (const n of NS) {
  const rows = cells.get(n);
  const ones = cells.get(1) ?? [];
  const speedups = rows.map((r) => {
    const one = ones.find((o) => o.seed === r.seed)?.waves;
    return r.waves === null || !one ? 0 : one / r.waves;
  });
  console.log(`  ${String(n).padStart(2)}  ${rows.map((r) => String(r.waves ?? "-")).join(" ").padEnd(28)}  ${median(speedups).toFixed(2).padStart(13)}x  [${Math.min(...speedups).toFixed(2)}-${Math.max(...speedups).toFixed(2)}]  ${median(rows.map((r) => r.experiments ?? Number.NaN)).toString().padStart(10)}`);
}
