import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import vm from "node:vm";

// The keeps bench's noisy trainer (bench/keeps.mjs; bench/tree.mjs measures the tree's honesty on it):
// its true metric is a known function of its constants, printed with Gaussian noise of sd BENCH_NOISE
// drawn from AUTORESEARCH_SEED and the code.
// Optimum: LEARNING_RATE 0.04, WIDTH 256, DEPTH 6, DROPOUT 0, WARMUP 0.1; WEIGHT_DECAY, BETA2 and
// EPS have no effect at all (every "improvement" there is noise).
export const TRAIN = `const LEARNING_RATE = 0.005;
const WIDTH = 64;
const DEPTH = 2;
const DROPOUT = 0.2;
const WARMUP_RATIO = 0.4;
const WEIGHT_DECAY = 0.1;
const BETA2 = 0.95;
const ADAM_EPS = 1e-8;

const truth =
  1 +
  0.04 * Math.log2(LEARNING_RATE / 0.04) ** 2 +
  0.02 * Math.log2(WIDTH / 256) ** 2 +
  0.01 * (DEPTH - 6) ** 2 / 4 +
  0.1 * DROPOUT +
  0.05 * Math.abs(WARMUP_RATIO - 0.1);
function unit(a) {
  a = (a + 0x6d2b79f5) | 0;
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
let h = Number(process.env.AUTORESEARCH_SEED) * 7919;
for (const v of [LEARNING_RATE, WIDTH, DEPTH, DROPOUT, WARMUP_RATIO, WEIGHT_DECAY, BETA2, ADAM_EPS]) h = Math.imul(h ^ Math.round(v * 1e9), 16777619);
const gauss = Math.sqrt(-2 * Math.log(Math.max(unit(h), 1e-12))) * Math.cos(2 * Math.PI * unit(h + 1));
console.log("true_loss: " + truth.toFixed(6));
console.log("val_loss: " + (truth + Number(process.env.BENCH_NOISE) * gauss).toFixed(6));
`;

/** Runs a script in-process: its console lines, its metric, a log file; the Executor contract. */
export class VmExecutor {
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
    // Steps and training seconds, when the script prints them (the drift fixture of bench/keeps.mjs does).
    const steps = lines.map((l) => /^num_steps: (\d+)$/.exec(l)).filter(Boolean).at(-1);
    const trainingSec = lines.map((l) => /^training_seconds: (.*)$/.exec(l)).filter(Boolean).at(-1);
    return {
      ...(steps && { steps: Number(steps[1]) }),
      ...(trainingSec && { trainingSec: Number(trainingSec[1]) }),
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

/** A fixture's true metric at a commit (its script run without noise; `env` zeroes what else it reads). */
export function trueMetric(root, commit, env = {}) {
  const code = execFileSync("git", ["show", `${commit}:train.js`], { cwd: root, encoding: "utf8" });
  const lines = [];
  vm.runInNewContext(code, { console: { log: (s) => lines.push(String(s)) }, process: { env: { AUTORESEARCH_SEED: "0", BENCH_NOISE: "0", ...env } }, Math, Number });
  return Number(/^true_loss: (.*)$/.exec(lines[0])[1]);
}
