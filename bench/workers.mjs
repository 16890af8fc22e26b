// Several workers (issue 13), measured in one run and printed as ratios:
//  (a) throughput scaling: experiments per minute with N workers ÷ (N × the 1-worker rate), with a
//      trainer that sleeps a fixed time (target ≥ 0.95 up to 16);
//  (b) device busy share with 1 worker and a proposer that takes 10% of a run, lookahead on vs off
//      (target ≥ 95% with it on);
//  (c) orchestrator CPU per experiment, 16 workers vs 1 (flat = no polling that grows with N).
// Usage: node bench/workers.mjs [runSec=2]   (after npm run build)
import { rmSync } from "node:fs";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { research } from "../dist/loop/research.js";
import { StopControl } from "../dist/loop/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { sanitizeEnv } from "../dist/runner/run-env.js";
import { LocalExecutor } from "../dist/runner/index.js";
import { Git } from "../dist/workspace/git.js";
import { benchRepo, recordsDir } from "./repo.mjs";

const RUN_SEC = Number(process.argv[2] ?? 2);
const CONSTANTS = Array.from({ length: 40 }, (_, i) => `const C${i} = ${i + 1};`).join("\n");
// The metric never changes: nothing is kept, so every run is one experiment and the rate is the scheduler's.
const TRAIN = `${CONSTANTS}
if (process.env.AUTORESEARCH_EXPERIMENT !== "0") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.BENCH_RUN_MS));
console.log("val_loss: 1.000000");
`;
const CPU = { kind: "cpu", label: "CPU", device: "cpu", os: process.platform, detail: "bench", source: "os", adjustments: { compile: false, compileMode: null, attention: "manual", ampDtype: "fp32", batchScale: 1, castOptimizerStateFp32: false, notes: [] } };

/** A proposer that takes `delayMs` per proposal (an LLM's round trip). */
function slow(inner, delayMs) {
  return { name: inner.name, propose: async (ctx, signal) => (await new Promise((r) => setTimeout(r, delayMs)), inner.propose(ctx, signal)) };
}

async function session({ workers, experiments, runMs, lookahead, proposeMs = 0 }) {
  const root = benchRepo("ar-workers-", { "train.js": TRAIN, "prepare.js": "// read-only\n" });
  const config = {
    train: "train.js",
    readonly: ["prepare.js"],
    budgetSec: Math.max(1, Math.ceil(runMs / 1000)),
    metric: "val_loss",
    direction: "min",
    maxIterations: experiments,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag: "bench",
    results: "results.tsv",
    command: "node train.js",
    timeoutSec: 60,
    proposer: "builtin",
    seed: 1,
    reportEvery: 1000,
    workers,
    devices: Array.from({ length: workers }, (_, i) => String(i)),
    ...(lookahead !== undefined && { lookahead }),
  };
  const builtin = new BuiltinProposer({ seed: 1 });
  const deps = {
    git: new Git(root),
    executor: new LocalExecutor(),
    proposer: proposeMs ? slow(builtin, proposeMs) : builtin,
    emit: () => {},
    now: () => new Date(),
    stop: new StopControl(),
    baseEnv: { ...sanitizeEnv(process.env), BENCH_RUN_MS: String(runMs) },
    graceMs: 200,
  };
  const cpu0 = process.cpuUsage();
  await research(root, { kind: "new", config, platform: CPU }, deps);
  const cpu = process.cpuUsage(cpu0);
  const records = readFileSync(join(recordsDir(root), "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  rmSync(root, { recursive: true, force: true });
  const baseline = records.find((r) => r.id === 0);
  const done = records.filter((r) => r.id !== 0);
  const start = Date.parse(baseline.finishedAt);
  const end = Math.max(...done.map((r) => Date.parse(r.finishedAt)));
  const busy = done.reduce((sum, r) => sum + (Date.parse(r.finishedAt) - Date.parse(r.runStartedAt ?? r.startedAt)), 0);
  return { n: done.length, perMin: (done.length / (end - start)) * 60_000, busyShare: busy / (workers * (end - start)), cpuMsPerExp: (cpu.user + cpu.system) / 1000 / done.length };
}

const runMs = RUN_SEC * 1000;
console.log(`workers: trainer sleeps ${RUN_SEC}s per run; builtin proposer; 3 rounds per N`);
const one = await session({ workers: 1, experiments: 3, runMs });
console.log(`  N=1: ${one.perMin.toFixed(1)} experiments/min (${one.n} experiments)`);
const cpuByN = { 1: one.cpuMsPerExp };
for (const n of [2, 4, 8, 16]) {
  const r = await session({ workers: n, experiments: 3 * n, runMs });
  cpuByN[n] = r.cpuMsPerExp;
  console.log(`  N=${n}: ${r.perMin.toFixed(1)} experiments/min, scaling ${(r.perMin / (n * one.perMin)).toFixed(3)} (target ≥ 0.95)`);
}
// (b) runs of 10× the proposal time (shortened: 3 s runs, 0.3 s proposals; the ratio is what matters).
const busyRun = 3000;
const on = await session({ workers: 1, experiments: 5, runMs: busyRun, proposeMs: busyRun / 10, lookahead: 1 });
const off = await session({ workers: 1, experiments: 5, runMs: busyRun, proposeMs: busyRun / 10, lookahead: 0 });
console.log(`busy share, 1 worker, proposal = 10% of a run: lookahead on ${(on.busyShare * 100).toFixed(1)}% (target ≥ 95%), off ${(off.busyShare * 100).toFixed(1)}%`);
console.log(`orchestrator CPU per experiment: N=1 ${cpuByN[1].toFixed(0)} ms, N=16 ${cpuByN[16].toFixed(0)} ms, ratio ${(cpuByN[16] / cpuByN[1]).toFixed(2)} (flat ≈ 1)`);
