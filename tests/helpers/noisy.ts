/**
 * What every noisy trainer here draws its noise from: `unit(n)`, a number in [0, 1) that is a fixed
 * hash of n (mulberry32), and `seed`, the run's AUTORESEARCH_SEED. Trainers put it in their text.
 */
export const SEEDED_UNIT = `function unit(a) {
  a = (a + 0x6d2b79f5) | 0;
  let t = Math.imul(a ^ (a >>> 15), 1 | a);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const seed = Number(process.env.AUTORESEARCH_SEED ?? 0);
`;

/**
 * A trainer with a known true metric (best at LEARNING_RATE = 0.04) plus noise of about ±0.05
 * drawn from AUTORESEARCH_SEED and NUDGE, a constant with no true effect. With seeds 0, 1, 2:
 * NUDGE 0 gives 1.376643 1.419010 1.437350 (the baseline), NUDGE 1 gives 1.357573 1.390630
 * 1.428301: its first run beats the baseline's first run by luck, its mean is within noise.
 */
export const NOISY_TRAIN = `const LEARNING_RATE = 0.01;
const NUDGE = 0;

${SEEDED_UNIT}const truth = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1;
const noise = (unit(seed * 7919 + NUDGE * 104729) - 0.5) * 0.1;
console.log("seed: " + seed);
console.log("val_loss: " + (truth + noise).toFixed(6));
`;

/** A correctness check that refuses one learning rate (and says why on its output). */
export const NOISY_CHECK = `const text = require("node:fs").readFileSync("train.js", "utf8");
if (text.includes("LEARNING_RATE = 0.04")) { console.log("sanity: learning rate 0.04 is banned"); process.exit(3); }
console.log("sanity ok");
`;

/**
 * A trainer on a drifting machine: a run counter kept in DRIFT_FILE (outside the repository; the
 * load's clock) moves the metric by up to ±0.04 over 24 runs, beside about 0.005 of per-run noise
 * drawn from the seed, the code and the run. BOOST = 1 is a real change (0.03 better, 6 × the
 * noise); NUDGE is a no-op that only changes the noise. Every run trains 400 steps in 30 s; with
 * SLOW_FIRST=1 the first run (seed 0) of BOOST = 1 is slowed by the machine: 290 steps, and 0.035
 * worse, so it looks worse than its parent, as a run on a loaded machine does.
 */
export const DRIFT_TRAIN = `const BOOST = 0;
const NUDGE = 0;
const fs = require("node:fs");

${SEEDED_UNIT}const file = process.env.DRIFT_FILE;
const n = file && fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0;
if (file) fs.writeFileSync(file, String(n + 1));
const drift = 0.04 * Math.sin((n * Math.PI) / 12 + Number(process.env.DRIFT_PHASE ?? 0));
const noise = (unit(seed * 7919 + NUDGE * 104729 + BOOST * 15485863 + n * 31) - 0.5) * 0.0173;
const slowed = process.env.SLOW_FIRST === "1" && BOOST === 1 && seed === 0;
console.log("steps: " + (slowed ? 290 : 400));
console.log("training_seconds: 30.0");
console.log("val_loss: " + (1 - 0.03 * BOOST + drift + noise + (slowed ? 0.035 : 0)).toFixed(6));
`;

/**
 * DRIFT_TRAIN's machine drifting half as fast (a period of 48 runs), its load also seen in the steps
 * (src/metric/load-tracker.ts): the load that moves the metric by up to ±0.04 slows training, steps/s = 400/30 × exp(-0.2 × the drift's sine) ×
 * (1 ± 0.5% noise), so the metric follows ln(steps/s) as a time-budgeted script's does. Per-run
 * noise about 0.005 (uniform, sd 0.005). BOOST = 1 is a real change (0.02 better, 4 × the noise),
 * FAST = 1 a real change (0.02 better) that also trains 8% faster, SLOW = 1 a no-op that trains 8% slower,
 * NUDGE a no-op. STEPS=0 prints no steps (the same metrics). JUMP_AT_NUDGE=k: the load drops by 0.6 at once
 * (12.7% more steps/s, 0.024 better) from the first run of code with NUDGE >= k on.
 */
export const LOAD_TRAIN = `const BOOST = 0;
const FAST = 0;
const SLOW = 0;
const NUDGE = 0;
const fs = require("node:fs");

${SEEDED_UNIT}const file = process.env.DRIFT_FILE;
const n = file && fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0;
if (file) fs.writeFileSync(file, String(n + 1));
// JUMP_AT_NUDGE=k: from the first run of code with NUDGE >= k on, the machine is at once less loaded (another job ended).
const jumpFile = file ? file + ".jump" : null;
if (jumpFile && process.env.JUMP_AT_NUDGE && NUDGE >= Number(process.env.JUMP_AT_NUDGE)) fs.writeFileSync(jumpFile, "1");
const jumped = jumpFile && fs.existsSync(jumpFile) ? 1 : 0;
const load = Math.sin((n * Math.PI) / 24 + Number(process.env.DRIFT_PHASE ?? 0)) - 0.6 * jumped;
const h = seed * 7919 + NUDGE * 104729 + BOOST * 15485863 + FAST * 32452843 + n * 31;
const noise = (unit(h) - 0.5) * 0.0173;
const rate = (400 / 30) * (FAST ? 1.08 : 1) * (SLOW ? 0.92 : 1) * Math.exp(-0.2 * load) * (1 + (unit(h + 1) - 0.5) * 0.0173);
if (process.env.STEPS !== "0") {
  console.log("steps: " + Math.round(rate * 30));
  console.log("training_seconds: 30.0");
}
console.log("val_loss: " + (1 - 0.02 * BOOST - 0.02 * FAST + 0.04 * load + noise).toFixed(6));
`;
