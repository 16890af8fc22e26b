#!/usr/bin/env node
import { readFileSync, rmSync, } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { research } from "../dist/loop/research.js";
import { StopControl } from "../dist/search/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { sanitizeEnv } from "../dist/runner/run-env.js";
import { LocalExecutor } from "../dist/executors/index.js";
import { Git } from "../dist/workspace/git.js";
import { benchRepo, recordsDir } from "./repo.mjs";
import { TRAIN as NOISY_TRAIN, trueMetric, VmExecutor } from "./keeps-fixture.mjs";

const QUICK = process.argv.includes("--quick");
const RUN_SEC = Number(process.env.BENCH_RUN_SEC ?? 2);
const NS = QUICK ? [1, 4, 16] : [1, 2, 4, 8, 16];
const YARDSTICK_EXPERIMENTS = 16;
const ONE_WORKER = QUICK ? { seeds: [1, 2, 3], experiments: 20 } : { seeds: [1, 2, 3, 4, 5], experiments: 30 };
const HONESTY = QUICK ? { seeds: [1], experiments: 60 } : { seeds: [1, 2, 3], experiments: 60 };

// 11 constants. The learning rate's optimum moves with the batch size and the depth's with the
// width (interactions: a change can win on one node and lose on another); WEIGHT_DECAY, BETA2 and
// ADAM_EPS have no effect at all. Optimum: BATCH_SIZE 32, LEARNING_RATE 0.004, WIDTH 512, DEPTH 5,
// DROPOUT 0, WARMUP_RATIO 0.05, GRAD_CLIP 0.5, HEAD_DIM 64 (val_loss 1).
const TRAIN = `// A fake trainer: the metric is a fixed function of these constants (metric.awk).
const LEARNING_RATE = 0.001;
const BATCH_SIZE = 128;
const WIDTH = 64;
const DEPTH = 2;
const HEAD_DIM = 32;
const DROPOUT = 0.2;
const WARMUP_RATIO = 0.3;
const GRAD_CLIP = 1.0;
const WEIGHT_DECAY = 0.1;
const BETA2 = 0.95;
const ADAM_EPS = 1e-8;
`;
const METRIC_AWK = `function l2(x) { return log(x) / log(2) }
function sq(x) { return x * x }
function ab(x) { return x < 0 ? -x : x }
/^const [A-Z_0-9]+ = / { value = $4; sub(/;.*/, "", value); v[$2] = value + 0 }
END {
  lr = v["LEARNING_RATE"]; batch = v["BATCH_SIZE"]; width = v["WIDTH"]
  if (lr <= 0 || batch <= 0 || width <= 0 || v["GRAD_CLIP"] <= 0 || v["HEAD_DIM"] <= 0) { print "bad constants"; exit 1 }
  loss = 1 + 0.05 * sq(l2(lr / (0.004 * sqrt(batch / 32)))) + 0.02 * sq(l2(batch / 32))
  loss += 0.03 * sq(l2(width / 512)) + 0.01 * sq(v["DEPTH"] - 2 - l2(width / 64))
  loss += 0.01 * sq(l2(v["HEAD_DIM"] / 64)) + 0.1 * v["DROPOUT"] + 0.05 * ab(v["WARMUP_RATIO"] - 0.05)
  loss += 0.02 * sq(l2(v["GRAD_CLIP"] / 0.5))
  printf "val_loss: %.6f\\n", loss
}
`;
// The baseline does not sleep: setup is not what is measured.
const RUN_SH = `[ "$AUTORESEARCH_EXPERIMENT" = 0 ] || sleep "$BENCH_RUN_SEC"\nawk -f metric.awk train.js\n`;
const CPU = { kind: "cpu", label: "CPU", device: "cpu", os: process.platform, detail: "bench", source: "os", adjustments: { compile: false, compileMode: null, attention: "manual", ampDtype: "fp32", batchScale: 1, castOptimizerStateFp32: false, notes: [] } };

function readRecords(root) {
  return readFileSync(join(recordsDir(root), "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

function baseConfig({ workers, search, experiments, seed, tag }) {
  return {
    train: "train.js",
    budgetSec: 1,
    metric: "val_loss",
    direction: "min",
    maxIterations: experiments,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag,
    results: "results.tsv",
    timeoutSec: 60,
    proposer: "builtin",
    seed,
    reportEvery: 1000,
    search,
    workers,
    // One slot per worker: on a machine without GPUs --workers N needs its devices named.
    devices: Array.from({ length: workers }, (_, i) => String(i)),
  };
}

/**
 * One session on the fast fake trainer. With `target`, it stops (gracefully: runs in flight end)
 * once the kept best reaches it. Returns when each new best was decided (ms after the baseline's
 * decision) and the records.
 */
async function fakeSession({ workers, search, experiments, seed = 1, runSec, target }) {
  const root = benchRepo("ar-tree-", { "train.js": TRAIN, "metric.awk": METRIC_AWK, "run.sh": RUN_SH });
  const stop = new StopControl();
  const bests = [];
  let t0 = null;
  const deps = {
    git: new Git(root),
    executor: new LocalExecutor(),
    proposer: new BuiltinProposer({ seed }),
    emit: (event) => {
      if (event.type !== "experiment") return;
      const now = performance.now();
      if (event.record.id === 0) t0 = now;
      const best = event.best.metric;
      if (bests.length === 0 || best < bests[bests.length - 1].metric) bests.push({ ms: now - (t0 ?? now), metric: best, id: event.record.id });
      if (target !== undefined && best <= target && !stop.stopRequested) stop.request();
    },
    now: () => new Date(),
    stop,
    baseEnv: { ...sanitizeEnv(process.env), BENCH_RUN_SEC: String(runSec) },
    graceMs: 200,
  };
  const config = { ...baseConfig({ workers, search, experiments, seed, tag: "bench" }), readonly: ["metric.awk", "run.sh"], command: "sh run.sh", keepRule: "any", baselineRuns: 1 };
  await research(root, { kind: "new", config, platform: CPU }, deps);
  const records = readRecords(root);
  rmSync(root, { recursive: true, force: true });
  return { bests, records };
}

/** When the kept best first reached `target` (ms after the baseline's decision), or null. */
function reachedAt(bests, target) {
  return bests.find((b) => b.metric <= target + 1e-12)?.ms ?? null;
}

const fmtS = (ms) => (ms === null ? "not reached" : `${(ms / 1000).toFixed(1)}s`);
const fmtX = (ratio) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "-");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const started = performance.now();
console.log(`tree: ${cpus().length} cores; fake trainer sleeps ${RUN_SEC}s per run (sh + sleep + awk); builtin proposer, seed 1${QUICK ? "; --quick" : ""}`);

// (a) The yardstick: a 1-worker chain session (today's loop) after 16 experiments.
const yard = await fakeSession({ workers: 1, search: "chain", experiments: YARDSTICK_EXPERIMENTS, runSec: RUN_SEC });
const target = yard.bests[yard.bests.length - 1].metric;
console.log(`tree: yardstick: val_loss ${target.toFixed(6)}, the 1-worker chain's best after ${YARDSTICK_EXPERIMENTS} experiments (baseline ${yard.records[0].metric.toFixed(6)}, optimum 1.000000)`);
const times = { chain: { 1: reachedAt(yard.bests, target) }, tree: {} };
const wasted = {};
for (const n of NS) {
  for (const search of ["chain", "tree"]) {
    if (search === "chain" && n === 1) continue;
    // Enough experiments for the slowest search to get there; it stops as soon as it does.
    const { bests, records } = await fakeSession({ workers: n, search, experiments: 2 * YARDSTICK_EXPERIMENTS + 2 * n, runSec: RUN_SEC, target });
    times[search][n] = reachedAt(bests, target);
    if (n === 4) {
      const runs = records.filter((r) => r.id !== 0);
      wasted[search] = { rebased: runs.filter((r) => r.rebaseOf !== undefined).length, combinations: runs.filter((r) => r.combines?.length).length, runs: runs.length };
    }
  }
}
console.log("tree: time until the kept best first reaches the yardstick (speedup = the same search's 1-worker time / this time)");
console.log("   N   chain time  chain speedup   tree time  tree speedup  tree target");
const TARGETS = { 4: 2.5, 8: 4, 16: 6 };
for (const n of NS) {
  const speed = (search) => (times[search][n] === null || times[search][1] === null ? Number.NaN : times[search][1] / times[search][n]);
  const goal = TARGETS[n] ? `>= ${TARGETS[n]}x: ${speed("tree") >= TARGETS[n] ? "met" : "NOT met"}` : "";
  console.log(`  ${String(n).padStart(2)}  ${fmtS(times.chain[n]).padStart(11)}  ${fmtX(speed("chain")).padStart(13)}  ${fmtS(times.tree[n]).padStart(10)}  ${fmtX(speed("tree")).padStart(12)}  ${goal}`);
}
if (wasted.tree) {
  const share = (w) => w.rebased / w.runs;
  console.log(
    `tree: wasted re-runs at 4 workers (neither a new proposal nor a combination): tree ${(share(wasted.tree) * 100).toFixed(0)}% (${wasted.tree.rebased}/${wasted.tree.runs}; ${wasted.tree.combinations} combinations) target < 10%: ${share(wasted.tree) < 0.1 ? "met" : "NOT met"}; chain ${(share(wasted.chain) * 100).toFixed(0)}% (${wasted.chain.rebased}/${wasted.chain.runs})`,
  );
}

// (b) One worker: the best after the same number of experiments, per seed.
const finals = { chain: [], tree: [] };
for (const seed of ONE_WORKER.seeds) {
  for (const search of ["chain", "tree"]) {
    const { bests } = await fakeSession({ workers: 1, search, experiments: ONE_WORKER.experiments, seed, runSec: 0 });
    finals[search].push(bests[bests.length - 1].metric);
  }
}
const [chainMedian, treeMedian] = [median(finals.chain), median(finals.tree)];
console.log(
  `tree: one worker, best after ${ONE_WORKER.experiments} experiments, median of seeds ${ONE_WORKER.seeds.join(",")}: tree ${treeMedian.toFixed(6)} [${finals.tree.map((m) => m.toFixed(4)).join(" ")}], chain ${chainMedian.toFixed(6)} [${finals.chain.map((m) => m.toFixed(4)).join(" ")}]; tree not worse: ${treeMedian <= chainMedian + 1e-12 ? "met" : "NOT met"}`,
);

// (c) Honesty under --keep-rule confirm with 4 workers, on the keeps bench's noisy fixture.
/** The fixture run in-process after a short wait drawn from the code, so runs overlap and finish out of order. */
class DelayedVmExecutor extends VmExecutor {
  async run(spec) {
    const code = readFileSync(join(spec.cwd, "train.js"), "utf8");
    let h = Number(spec.env.AUTORESEARCH_SEED ?? 0);
    for (const ch of code) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
    await new Promise((r) => setTimeout(r, 5 + ((h >>> 0) % 40)));
    return super.run(spec);
  }
}


const honesty = { keeps: 0, falseKeeps: 0, noEffect: 0, noEffectKept: 0, measuredOnce: 0, experiments: 0, runs: 0, finalTrue: [] };
for (const seed of HONESTY.seeds) {
  const root = benchRepo("ar-tree-keeps-", { "train.js": NOISY_TRAIN, "prepare.js": "// read-only\n" });
  const executor = new DelayedVmExecutor();
  const config = { ...baseConfig({ workers: 4, search: "tree", experiments: HONESTY.experiments, seed, tag: `k${seed}` }), readonly: ["prepare.js"], command: "node train.js", runSeed: seed * 100, keepRule: "confirm" };
  const deps = { git: new Git(root), executor, proposer: new BuiltinProposer({ seed }), emit: () => {}, now: () => new Date(), stop: new StopControl(), baseEnv: { BENCH_NOISE: "0.01" }, graceMs: 100 };
  await research(root, { kind: "new", config, platform: CPU }, deps);
  const records = readRecords(root);
  const truth = new Map(records.map((r) => [r.commit, trueMetric(root, r.commit)]));
  for (const r of records.slice(1)) {
    if (r.metric === null) continue;
    const own = truth.get(r.commit);
    const parent = truth.get(r.parent);
    // No effect: the same true metric as the code it changed (a noise-only knob, or a change that cancels out).
    const noEffect = Math.abs(own - parent) < 1e-12;
    if (noEffect) honesty.noEffect++;
    if (r.status !== "keep") continue;
    honesty.keeps++;
    if (noEffect) honesty.noEffectKept++;
    if (!(own < parent)) honesty.falseKeeps++;
    if ((r.runs?.length ?? 1) < 2) honesty.measuredOnce++;
  }
  honesty.experiments += records.length - 1;
  honesty.runs += executor.runs;
  const head = records.filter((r) => r.status === "keep" && r.metric !== null).reduce((a, b) => (b.metric < a.metric ? b : a));
  honesty.finalTrue.push(truth.get(head.commit));
  rmSync(root, { recursive: true, force: true });
}
const pct = (a, b) => (b === 0 ? "0.0" : ((a / b) * 100).toFixed(1));
console.log(
  `tree: honesty, --keep-rule confirm, 4 workers, seeds ${HONESTY.seeds.join(",")} x ${HONESTY.experiments} experiments (${honesty.runs} runs): no-effect changes kept ${pct(honesty.noEffectKept, honesty.noEffect)}% (${honesty.noEffectKept}/${honesty.noEffect}) target < 5%: ${honesty.noEffectKept / Math.max(1, honesty.noEffect) < 0.05 ? "met" : "NOT met"}; keeps not truly better than their parent ${pct(honesty.falseKeeps, honesty.keeps)}% (${honesty.falseKeeps}/${honesty.keeps}); keeps measured once ${honesty.measuredOnce} (target 0: ${honesty.measuredOnce === 0 ? "met" : "NOT met"}); head's true metric ${honesty.finalTrue.map((m) => m.toFixed(4)).join(" ")}`,
);
console.log(`tree: ${((performance.now() - started) / 1000).toFixed(0)}s in all`);
