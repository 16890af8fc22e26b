#!/usr/bin/env node
// The research tree's speed, one worker's quality and the confirm rule's honesty (issue 23).
//
//   node bench/tree.mjs                      N = 1,2,4,8,16, seeds 1..8, then one worker (5 seeds) and honesty (12 seeds)
//   node bench/tree.mjs --quick              N = 1,4,16, seeds 1..3, fewer one-worker and honesty sessions
//   node bench/tree.mjs --ns 1,16 --seeds 1,2 --parts speed --search tree --verbose
//   --dump DIR: every session's records as JSON (to read its tree); --target V: no yardstick session, V is
//   the target (to study or profile one cell); --honesty-seeds 1,2: the honesty sessions' seeds.
//
// Speed: for each seed, the yardstick is what a 1-worker chain session (today's loop) reached after 16
// experiments with that seed; each cell is a session that stops once its kept best reaches that, or at the
// cap (a number of experiments, printed). Speedup = the same search's 1-worker time for that seed / this
// time; a cell reports the median over the seeds, the min and max, the experiments run and the share of
// wasted re-runs. Beside it, what the machine gave: experiments per second against the ideal N / run time,
// and the tool's CPU (this process plus every process it started: git, sh, awk) per experiment.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { research } from "../dist/loop/research.js";
import { StopControl } from "../dist/search/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { sanitizeEnv } from "../dist/runner/run-env.js";
import { LocalExecutor } from "../dist/executors/index.js";
import { Git } from "../dist/workspace/git.js";
import { benchRepo, sessionRecords } from "./repo.mjs";
import { vmSession } from "./session.mjs";
import { TRAIN as NOISY_TRAIN, trueMetric, VmExecutor } from "./keeps-fixture.mjs";
import { TRAIN } from "./tree-fixture.mjs";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1] : fallback;
};
const list = (name, fallback) => value(name, fallback).split(",").filter(Boolean);
const QUICK = flag("--quick");
const VERBOSE = flag("--verbose");
const RUN_SEC = Number(process.env.BENCH_RUN_SEC ?? 2);
const NS = list("--ns", QUICK ? "1,4,16" : "1,2,4,8,16").map(Number);
// Eight seeds: with three, one seed moves a median by a third of the spread between seeds.
const SEEDS = list("--seeds", QUICK ? "1,2,3" : "1,2,3,4,5,6,7,8").map(Number);
const SEARCHES = list("--search", "chain,tree");
const PARTS = new Set(list("--parts", "speed,one,honesty"));
/** --dump DIR: each speed session's records as DIR/<search>-<n>-<seed>.json, to study its tree. */
const DUMP = value("--dump", null);
/** --target V: no yardstick session, V is the target (to study or profile one cell; no speedups then). */
const FIXED_TARGET = value("--target", null);
const YARDSTICK_EXPERIMENTS = 16;
/** Experiments a speed session may run before it counts as not reaching the yardstick. */
const capOf = (n) => 3 * YARDSTICK_EXPERIMENTS + 4 * n;
const ONE_WORKER = QUICK ? { seeds: [1, 2, 3], experiments: 20 } : { seeds: [1, 2, 3, 4, 5], experiments: 30 };
// Honesty over twelve seeds: with six, each no-effect change kept moves the share by about 1 point,
// and two runs of the same six seeds (4 workers: timing decides which runs share a wave) gave 3.8% and 6.7%.
const HONESTY = QUICK ? { seeds: [1], experiments: 60 } : { seeds: list("--honesty-seeds", "1,2,3,4,5,6,7,8,9,10,11,12").map(Number), experiments: 60 };
const TARGETS = { 4: 2.5, 8: 4, 16: 6 };

// The fake trainer (bench/tree-fixture.mjs): 11 constants, its metric computed by metric.awk below
// (bench/tree-fixture.mjs's fakeLoss is the same function, for bench/tree-waves.mjs).
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

/**
 * CPU seconds used so far by this process and by the processes it started and has reaped (git, sh, sleep,
 * awk: their children's too). The children's share is read from /proc (Linux); elsewhere it is null.
 */
function cpuNow() {
  const own = process.cpuUsage();
  let children = null;
  try {
    // Fields after the command's ")": state is field 3; cutime and cstime are fields 16 and 17.
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {}
  return { own: (own.user + own.system) / 1e6, children };
}
const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");

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
 * decision), the records, and what the machine gave: the wall time and CPU from the baseline's
 * decision to the last decision.
 */
async function fakeSession({ workers, search, experiments, seed = 1, runSec, target }) {
  const root = benchRepo("ar-tree-", { "train.js": TRAIN, "metric.awk": METRIC_AWK, "run.sh": RUN_SH });
  const stop = new StopControl();
  const bests = [];
  let t0 = null;
  let cpu0 = null;
  let last = null;
  const deps = {
    git: new Git(root),
    executor: new LocalExecutor(),
    proposer: new BuiltinProposer({ seed }),
    emit: (event) => {
      if (event.type !== "experiment") return;
      const now = performance.now();
      if (event.record.id === 0) {
        t0 = now;
        cpu0 = cpuNow();
      }
      last = { ms: now - (t0 ?? now), cpu: cpuNow() };
      const best = event.best.metric;
      if (bests.length === 0 || best < bests[bests.length - 1].metric) bests.push({ ms: now - (t0 ?? now), metric: best, id: event.record.id });
      if (target !== undefined && best <= target + 1e-12 && !stop.stopRequested) stop.request();
    },
    now: () => new Date(),
    stop,
    baseEnv: { ...sanitizeEnv(process.env), BENCH_RUN_SEC: String(runSec) },
    graceMs: 200,
  };
  const config = { ...baseConfig({ workers, search, experiments, seed, tag: "bench" }), readonly: ["metric.awk", "run.sh"], command: "sh run.sh", keepRule: "any", baselineRuns: 1 };
  await research(root, { kind: "new", config, platform: CPU }, deps);
  const records = sessionRecords(root);
  rmSync(root, { recursive: true, force: true });
  const decided = records.length - 1;
  const machine = {
    wallSec: last.ms / 1000,
    experiments: decided,
    ownCpu: last.cpu.own - cpu0.own,
    childCpu: last.cpu.children === null ? null : last.cpu.children - cpu0.children,
  };
  return { bests, records, machine };
}

/**
 * Where an experiment's time goes (medians over the session, from the records' timestamps): waiting for a
 * worker once proposed, commit and clone up to the run's start, the run, and after the run until it was
 * recorded (the clone's inspection and reset, the wait for the decisions' queue, the decision).
 */
function phasesOf(records) {
  const t = (s) => (s ? Date.parse(s) : Number.NaN);
  const runs = records.filter((r) => r.id !== 0 && r.runStartedAt);
  const of = (f) => median(runs.map(f).filter(Number.isFinite));
  return {
    queued: of((r) => (t(r.startedAt) - t(r.queuedAt)) / 1000),
    setup: of((r) => (t(r.runStartedAt) - t(r.startedAt)) / 1000),
    run: of((r) => r.durationSec),
    after: of((r) => (t(r.finishedAt) - t(r.runStartedAt)) / 1000 - r.durationSec),
  };
}

/** When the kept best first reached `target` (ms after the baseline's decision), or null. */
function reachedAt(bests, target) {
  return bests.find((b) => b.metric <= target + 1e-12)?.ms ?? null;
}

const fmtS = (ms) => (ms === null || !Number.isFinite(ms) ? "-" : `${(ms / 1000).toFixed(1)}s`);
const fmtX = (ratio) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : "-");
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const started = performance.now();
console.log(
  `tree: ${cpus().length} cores, load ${load()} at start; fake trainer sleeps ${RUN_SEC}s per run (sh + sleep + awk); builtin proposer; seeds ${SEEDS.join(",")}${QUICK ? "; --quick" : ""}`,
);

if (PARTS.has("speed")) {
  // (a) Per seed: the yardstick (a 1-worker chain session after 16 experiments), then every cell.
  const cells = new Map(); // `${search}:${n}` -> [{ seed, ms, records, machine }]
  const cell = (search, n) => cells.get(`${search}:${n}`) ?? cells.set(`${search}:${n}`, []).get(`${search}:${n}`);
  /** Every cell of one seed, each session stopping once its kept best reaches `target`. */
  const runCells = async (seed, target) => {
    for (const n of NS) {
      for (const search of SEARCHES) {
        if (search === "chain" && n === 1 && FIXED_TARGET === null) continue;
        const cap = capOf(n);
        const { bests, records, machine } = await fakeSession({ workers: n, search, experiments: cap, seed, runSec: RUN_SEC, target });
        const ms = reachedAt(bests, target);
        cell(search, n).push({ seed, ms, records, machine });
        if (DUMP) {
          mkdirSync(DUMP, { recursive: true });
          writeFileSync(join(DUMP, `${search}-${n}-${seed}.json`), JSON.stringify({ target, ms, bests, records }, null, 1));
        }
        if (VERBOSE) {
          const phases = phasesOf(records);
          const rate = machine.experiments / machine.wallSec;
          console.log(
            `  ${search} N=${n} seed ${seed}: ${ms === null ? `not reached in ${cap} experiments` : `reached in ${fmtS(ms)}`}, ${machine.experiments} experiments in ${machine.wallSec.toFixed(1)}s (${rate.toFixed(2)}/s, ideal ${(n / RUN_SEC).toFixed(1)}/s), CPU ${machine.ownCpu.toFixed(1)}s + children ${machine.childCpu?.toFixed(1) ?? "?"}s, load ${load()}`,
          );
          console.log(`    median per experiment: ${Object.entries(phases).map(([k, v]) => `${k} ${v.toFixed(3)}s`).join(", ")}`);
        }
      }
    }
  };
  for (const seed of SEEDS) {
    if (FIXED_TARGET !== null) {
      await runCells(seed, Number(FIXED_TARGET));
      continue;
    }
    const yard = await fakeSession({ workers: 1, search: "chain", experiments: YARDSTICK_EXPERIMENTS, seed, runSec: RUN_SEC });
    const target = yard.bests[yard.bests.length - 1].metric;
    if (DUMP) {
      mkdirSync(DUMP, { recursive: true });
      writeFileSync(join(DUMP, `chain-1-${seed}.json`), JSON.stringify({ target, bests: yard.bests, records: yard.records }, null, 1));
    }
    console.log(
      `tree: seed ${seed}: yardstick val_loss ${target.toFixed(6)} (the 1-worker chain's best after ${YARDSTICK_EXPERIMENTS} experiments; baseline ${yard.records[0].metric.toFixed(6)}, optimum 1.000000)`,
    );
    if (SEARCHES.includes("chain") && NS.includes(1)) cell("chain", 1).push({ seed, ms: reachedAt(yard.bests, target), records: yard.records, machine: yard.machine });
    await runCells(seed, target);
  }
  /** Wasted re-runs: runs that are neither a new proposal nor a combination (a chain's stale winners run again). */
  const wastedOf = (runs) => {
    const all = runs.flatMap((r) => r.records.filter((e) => e.id !== 0));
    return { rebased: all.filter((e) => e.rebaseOf !== undefined).length, combinations: all.filter((e) => e.combines?.length).length, runs: all.length };
  };
  console.log(`tree: time until the kept best first reaches the yardstick, per seed; speedup = the same search's 1-worker time / this time (seed by seed), median [min-max] over ${SEEDS.length} seeds; cap = 48 + 4N experiments, a seed not reached counts as 0x`);
  console.log("   N  search  median time  speedup  [min-max]       reached  experiments  wasted  exp/s (ideal)  CPU/exp (tool+children)  target");
  for (const n of NS) {
    for (const search of SEARCHES) {
      const runs = cells.get(`${search}:${n}`) ?? [];
      if (runs.length === 0) continue;
      const ones = cells.get(`${search}:1`) ?? [];
      const speedups = runs.map((r) => {
        const one = ones.find((o) => o.seed === r.seed)?.ms ?? null;
        return r.ms === null || one === null ? 0 : one / r.ms;
      });
      const reached = runs.filter((r) => r.ms !== null);
      const w = wastedOf(runs);
      const experiments = sum(runs.map((r) => r.machine.experiments));
      const wall = sum(runs.map((r) => r.machine.wallSec));
      const own = sum(runs.map((r) => r.machine.ownCpu));
      const child = runs.every((r) => r.machine.childCpu !== null) ? sum(runs.map((r) => r.machine.childCpu)) : null;
      const goal = search === "tree" && TARGETS[n] ? `>= ${TARGETS[n]}x: ${median(speedups) >= TARGETS[n] ? "met" : "NOT met"}` : "";
      const range = `[${fmtX(Math.min(...speedups))}-${fmtX(Math.max(...speedups))}]`;
      console.log(
        `  ${String(n).padStart(2)}  ${search.padEnd(6)}  ${fmtS(median(reached.map((r) => r.ms))).padStart(11)}  ${fmtX(median(speedups)).padStart(7)}  ${range.padEnd(14)}  ${`${reached.length}/${runs.length}`.padStart(7)}  ${String((experiments / runs.length).toFixed(1)).padStart(11)}  ${`${((w.rebased / Math.max(1, w.runs)) * 100).toFixed(0)}%`.padStart(6)}  ${`${(experiments / wall).toFixed(2)} (${(n / RUN_SEC).toFixed(1)})`.padStart(13)}  ${`${(own / experiments).toFixed(3)}s+${child === null ? "?" : (child / experiments).toFixed(3)}s`.padStart(23)}  ${goal}`,
      );
    }
  }
  const four = cells.get("tree:4");
  if (four) {
    const w = wastedOf(four);
    const share = w.rebased / Math.max(1, w.runs);
    const chain = cells.get("chain:4");
    const c = chain ? wastedOf(chain) : null;
    console.log(
      `tree: wasted re-runs at 4 workers (neither a new proposal nor a combination): tree ${(share * 100).toFixed(0)}% (${w.rebased}/${w.runs}; ${w.combinations} combinations) target < 10%: ${share < 0.1 ? "met" : "NOT met"}${c ? `; chain ${((c.rebased / Math.max(1, c.runs)) * 100).toFixed(0)}% (${c.rebased}/${c.runs})` : ""}`,
    );
  }
  console.log(`tree: load ${load()} after the speed sessions`);
}

if (PARTS.has("one")) {
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
}

if (PARTS.has("honesty")) {
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
    const executor = new DelayedVmExecutor();
    const config = { ...baseConfig({ workers: 4, search: "tree", experiments: HONESTY.experiments, seed, tag: `k${seed}` }), keepRule: "confirm" };
    const { root, records } = await vmSession({ prefix: "ar-tree-keeps-", script: NOISY_TRAIN, seed, config, noise: 0.01, platform: CPU, executor });
    const truth = new Map(records.map((r) => [r.commit, trueMetric(root, r.commit)]));
    if (DUMP) {
      mkdirSync(DUMP, { recursive: true });
      writeFileSync(join(DUMP, `honesty-${seed}.json`), JSON.stringify({ records: records.map((r) => ({ ...r, truth: truth.get(r.commit), parentTruth: truth.get(r.parent) })) }, null, 1));
    }
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
}
console.log(`tree: ${((performance.now() - started) / 1000).toFixed(0)}s in all, load ${load()} at the end`);
