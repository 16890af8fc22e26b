#!/usr/bin/env node
// Honest keeps (no change kept on noise alone): the builtin search for 100 experiments under --keep-rule any and
// --keep-rule confirm, on a synthetic trainer whose true metric is a known function of its
// constants plus Gaussian noise drawn from AUTORESEARCH_SEED and the code (a different script
// gets different noise, as a real one does). Reported per rule, over several seeds:
//   false-keep rate: kept changes whose TRUE metric is not better than the previous best's,
//   final true metric: the true metric of the branch head at the end,
//   runs used: every run (confirmation and baseline repeats included), as a ratio to `any`.
// Real git repos and the real loop; the runs themselves are evaluated in-process (node:vm) to
// keep 600 experiments affordable on a shared machine: the decision logic is what is measured.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";
import { research } from "../dist/loop/research.js";
import { StopControl } from "../dist/search/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { Git } from "../dist/workspace/git.js";
import { detectPlatform } from "../dist/platform/index.js";
import { benchRepo, recordsDir } from "./repo.mjs";
import { TRAIN } from "./keeps-fixture.mjs";

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 100);
const SEEDS = (process.env.BENCH_SEEDS ?? "1,2,3").split(",").map(Number);
const SIGMA = Number(process.env.BENCH_NOISE ?? 0.01);

/** Runs a script in-process: its console lines, its metric, a log file; the Executor contract. */
class VmExecutor {
  constructor() {
    this.runs = 0;
  }
  async run(spec) {
    this.runs++;
    const started = performance.now();
    const lines = [];
    const code = readFileSync(join(spec.cwd, "train.js"), "utf8");
    let exitCode = 0;
    try {
      vm.runInNewContext(code, { console: { log: (s) => lines.push(String(s)) }, process: { env: spec.env }, Math, Number });
    } catch (error) {
      lines.push(String(error));
      exitCode = 1;
    }
    spec.onStart?.();
    mkdirSync(dirname(spec.logPath), { recursive: true });
    writeFileSync(spec.logPath, `${lines.join("\n")}\n`);
    const found = lines.map((l) => /^val_loss: (.*)$/.exec(l)).filter(Boolean).at(-1);
    return {
      exitCode,
      signal: null,
      timedOut: false,
      durationSec: (performance.now() - started) / 1000,
      metric: found ? Number(found[1]) : null,
      memGb: null,
      params: null,
      oom: false,
      tailLines: lines.slice(-20),
    };
  }
}

function repo() {
  return benchRepo("ar-keeps-", { "train.js": TRAIN, "prepare.js": "// read-only\n" });
}

function trueMetric(root, commit) {
  const code = execFileSync("git", ["show", `${commit}:train.js`], { cwd: root, encoding: "utf8" });
  const lines = [];
  vm.runInNewContext(code, { console: { log: (s) => lines.push(String(s)) }, process: { env: { AUTORESEARCH_SEED: "0", BENCH_NOISE: "0" } }, Math, Number });
  return Number(/^true_loss: (.*)$/.exec(lines[0])[1]);
}

async function session(rule, seed, platform) {
  const root = repo();
  const executor = new VmExecutor();
  const config = {
    train: "train.js",
    readonly: ["prepare.js"],
    budgetSec: 1,
    metric: "val_loss",
    direction: "min",
    maxIterations: EXPERIMENTS,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag: `b${seed}`,
    results: "results.tsv",
    command: "node train.js",
    timeoutSec: 10,
    proposer: "builtin",
    seed,
    runSeed: seed * 100,
    reportEvery: 1000,
    keepRule: rule,
  };
  const deps = {
    git: new Git(root),
    executor,
    proposer: new BuiltinProposer({ seed }),
    emit: () => {},
    now: () => new Date(),
    stop: new StopControl(),
    baseEnv: { BENCH_NOISE: String(SIGMA) },
    graceMs: 100,
  };
  await research(root, { kind: "new", config, platform }, deps);
  const records = readFileSync(join(recordsDir(root), "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  let bestTrue = trueMetric(root, records[0].commit);
  let falseKeeps = 0;
  let keeps = 0;
  for (const r of records.slice(1)) {
    if (r.status !== "keep") continue;
    keeps++;
    const t = trueMetric(root, r.commit);
    if (!(t < bestTrue)) falseKeeps++;
    bestTrue = Math.min(bestTrue, t);
  }
  const finalTrue = trueMetric(root, records.filter((r) => r.status === "keep").at(-1).commit);
  rmSync(root, { recursive: true, force: true });
  return { experiments: records.length - 1, keeps, falseKeeps, finalTrue, runs: executor.runs };
}

const platform = await detectPlatform({ command: "node train.js", root: tmpdir() });
const totals = {};
const started = performance.now();
for (const rule of ["any", "confirm"]) {
  const t = { experiments: 0, keeps: 0, falseKeeps: 0, finalTrue: [], runs: 0 };
  for (const seed of SEEDS) {
    const r = await session(rule, seed, platform);
    t.experiments += r.experiments;
    t.keeps += r.keeps;
    t.falseKeeps += r.falseKeeps;
    t.finalTrue.push(r.finalTrue);
    t.runs += r.runs;
    console.log(`keeps: ${rule.padEnd(7)} seed ${seed}: ${r.experiments} experiments, ${r.keeps} kept (${r.falseKeeps} false), final true metric ${r.finalTrue.toFixed(4)}, ${r.runs} runs`);
  }
  totals[rule] = t;
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const any = totals.any;
console.log(`keeps: noise sd ${SIGMA}, ${EXPERIMENTS} experiments x seeds ${SEEDS.join(",")}, ${((performance.now() - started) / 1000).toFixed(0)}s`);
for (const rule of ["any", "confirm"]) {
  const t = totals[rule];
  const rate = t.keeps === 0 ? 0 : t.falseKeeps / t.keeps;
  console.log(
    `keeps: ${rule.padEnd(7)} false-keep rate ${(rate * 100).toFixed(1)}% (${t.falseKeeps}/${t.keeps}), final true metric ${mean(t.finalTrue).toFixed(4)} (mean), runs ${t.runs} = ${(t.runs / any.runs).toFixed(2)}x any's (${(t.runs / t.experiments).toFixed(2)} per experiment vs ${(any.runs / any.experiments).toFixed(2)})`,
  );
}
const confirm = totals.confirm;
const rate = confirm.keeps === 0 ? 0 : confirm.falseKeeps / confirm.keeps;
console.log(
  `keeps: targets for confirm: false-keep rate < 5%: ${rate < 0.05 ? "met" : "NOT met"}; final true metric <= any's: ${mean(confirm.finalTrue) <= mean(any.finalTrue) ? "met" : "NOT met"}; runs <= 1.3x: ${confirm.runs <= 1.3 * any.runs ? "met" : `NOT met (costs ${(confirm.runs / any.runs).toFixed(2)}x)`}`,
);
