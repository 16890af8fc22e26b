// The fast fake trainer of bench/tree.mjs and bench/tree-waves.mjs: its metric is a fixed function of
// its constants (11 constants; the learning rate's optimum moves with the batch size and the
// depth's with the width, so a change can win on one node and lose on another; WEIGHT_DECAY, BETA2
// and ADAM_EPS have no effect at all). Optimum: BATCH_SIZE 32, LEARNING_RATE 0.004, WIDTH 512,
// DEPTH 5, DROPOUT 0, WARMUP_RATIO 0.05, GRAD_CLIP 0.5, HEAD_DIM 64 (val_loss 1).
export const TRAIN = `// A fake trainer: the metric is a fixed function of these constants (metric.awk).
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

/** The metric of a train.js (what metric.awk prints), or null for constants out of range. */
export function fakeLoss(text) {
  const v = {};
  for (const m of text.matchAll(/^const ([A-Z_0-9]+) = ([^;]+);/gm)) v[m[1]] = Number(m[2]);
  const l2 = (x) => Math.log2(x);
  const lr = v.LEARNING_RATE;
  const batch = v.BATCH_SIZE;
  const width = v.WIDTH;
  if (!(lr > 0 && batch > 0 && width > 0 && v.GRAD_CLIP > 0 && v.HEAD_DIM > 0)) return null;
  let loss = 1 + 0.05 * l2(lr / (0.004 * Math.sqrt(batch / 32))) ** 2 + 0.02 * l2(batch / 32) ** 2;
  loss += 0.03 * l2(width / 512) ** 2 + 0.01 * (v.DEPTH - 2 - l2(width / 64)) ** 2;
  loss += 0.01 * l2(v.HEAD_DIM / 64) ** 2 + 0.1 * v.DROPOUT + 0.05 * Math.abs(v.WARMUP_RATIO - 0.05);
  loss += 0.02 * l2(v.GRAD_CLIP / 0.5) ** 2;
  return loss;
}
