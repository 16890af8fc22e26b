// train.js - the ONLY file the research loop edits.
//
// A tiny character-level language model in plain JavaScript (no dependencies): the previous
// CONTEXT characters are embedded, concatenated, passed through DEPTH tanh hidden layers of
// HIDDEN_DIM units and a softmax over the vocabulary. Trained with AdamW on random minibatches
// for AUTORESEARCH_TIME_BUDGET seconds of wall time, then scored by prepare.js's evaluate()
// (val_bpb, lower is better).

import { EVAL_CONTEXT, PAD_ID, VOCAB_SIZE, evaluate, trainTokens } from "./prepare.js";

// ---------------------------------------------------------------------------------------------
// Hyperparameters (edit these)
// ---------------------------------------------------------------------------------------------

const LEARNING_RATE = 0.06;
const BATCH_SIZE = 32;
const CONTEXT = 4;
const EMBED_DIM = 12;
const HIDDEN_DIM = 96;
const DEPTH = 1;
const WEIGHT_DECAY = 0.0;
const WARMUP_STEPS = 0;
const WARMDOWN_RATIO = 0.3;
const FINAL_LR_FRAC = 0.1;
const INIT_SCALE = 1.0;
const GRAD_CLIP = 1.0;
const SEED = 1337;

// ---------------------------------------------------------------------------------------------
// Settings from the environment (set by autoresearch; sensible defaults when run by hand)
// ---------------------------------------------------------------------------------------------

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const TIME_BUDGET = envNumber("AUTORESEARCH_TIME_BUDGET", 5);
const BATCH_SCALE = envNumber("AUTORESEARCH_BATCH_SCALE", 1);
const DEVICE = "cpu"; // plain JavaScript runs on one CPU core whatever AUTORESEARCH_DEVICE says
// The run's seed: autoresearch gives every experiment's first run the same one and repeats
// (confirmation runs, --baseline-runs) other ones, so run-to-run noise can be measured.
const RUN_SEED = Number.parseInt(process.env.AUTORESEARCH_SEED ?? "0", 10) || 0;

const asInt = (x) => Math.max(1, Math.round(x));
const batchSize = asInt(BATCH_SIZE * BATCH_SCALE);
const context = Math.min(asInt(CONTEXT), EVAL_CONTEXT);
const embedDim = asInt(EMBED_DIM);
const hiddenDim = asInt(HIDDEN_DIM);
const depth = Math.max(0, Math.round(DEPTH)); // 0 = no hidden layer (a log-linear model)

console.log(`device: ${DEVICE}`);
console.log(
  `time_budget: ${TIME_BUDGET}s  batch_size: ${batchSize}  context: ${context}  embed: ${embedDim}  hidden: ${hiddenDim}x${depth}`,
);

// ---------------------------------------------------------------------------------------------
// Random numbers (deterministic given SEED)
// ---------------------------------------------------------------------------------------------

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = mulberry32(Math.round(SEED) + RUN_SEED);
function randn() {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

// ---------------------------------------------------------------------------------------------
// Model: embedding -> DEPTH x (linear + tanh) -> linear -> softmax
// ---------------------------------------------------------------------------------------------

const inputDim = context * embedDim;
const params = []; // { name, data, grad, decay }
function param(name, size, std, decay) {
  const data = new Float32Array(size);
  if (std > 0) for (let i = 0; i < size; i++) data[i] = randn() * std;
  const p = { name, data, grad: new Float32Array(size), m: new Float32Array(size), v: new Float32Array(size), decay };
  params.push(p);
  return p;
}

const emb = param("emb", VOCAB_SIZE * embedDim, INIT_SCALE, true);
const layers = []; // { W, b, inDim, outDim, tanh }
{
  let inDim = inputDim;
  for (let l = 0; l < depth; l++) {
    layers.push({
      W: param(`h${l}.W`, hiddenDim * inDim, INIT_SCALE / Math.sqrt(inDim), true),
      b: param(`h${l}.b`, hiddenDim, 0, false),
      inDim,
      outDim: hiddenDim,
      tanh: true,
    });
    inDim = hiddenDim;
  }
  layers.push({
    W: param("out.W", VOCAB_SIZE * inDim, INIT_SCALE / Math.sqrt(inDim), true),
    b: param("out.b", VOCAB_SIZE, 0, false),
    inDim,
    outDim: VOCAB_SIZE,
    tanh: false,
  });
}
const numParams = params.reduce((n, p) => n + p.data.length, 0);

// Activation buffers: acts[0] is the embedded input, acts[l + 1] the output of layer l.
const acts = [new Float32Array(inputDim), ...layers.map((L) => new Float32Array(L.outDim))];
const deltas = acts.map((a) => new Float32Array(a.length));
const ctxIds = new Int32Array(context);

function forward() {
  const x0 = acts[0];
  for (let c = 0; c < context; c++) {
    const off = ctxIds[c] * embedDim;
    for (let e = 0; e < embedDim; e++) x0[c * embedDim + e] = emb.data[off + e];
  }
  for (let l = 0; l < layers.length; l++) {
    const { W, b, inDim, outDim, tanh } = layers[l];
    const x = acts[l];
    const y = acts[l + 1];
    const w = W.data;
    for (let j = 0; j < outDim; j++) {
      let s = b.data[j];
      const row = j * inDim;
      for (let i = 0; i < inDim; i++) s += w[row + i] * x[i];
      y[j] = tanh ? Math.tanh(s) : s;
    }
  }
  // Softmax in place on the logits.
  const logits = acts[layers.length];
  let max = -Infinity;
  for (let k = 0; k < VOCAB_SIZE; k++) if (logits[k] > max) max = logits[k];
  let sum = 0;
  for (let k = 0; k < VOCAB_SIZE; k++) {
    const e = Math.exp(logits[k] - max);
    logits[k] = e;
    sum += e;
  }
  for (let k = 0; k < VOCAB_SIZE; k++) logits[k] /= sum;
  return logits;
}

/** Accumulates gradients of the cross-entropy for `target` (after forward()). Returns the loss in nats. */
function backward(target, scale) {
  const probs = acts[layers.length];
  const loss = -Math.log(Math.max(probs[target], 1e-30));
  const dOut = deltas[layers.length];
  for (let k = 0; k < VOCAB_SIZE; k++) dOut[k] = probs[k] * scale;
  dOut[target] -= scale;
  for (let l = layers.length - 1; l >= 0; l--) {
    const { W, b, inDim, outDim } = layers[l];
    const x = acts[l];
    const dy = deltas[l + 1];
    const dx = deltas[l];
    dx.fill(0);
    const w = W.data;
    const gw = W.grad;
    const gb = b.grad;
    for (let j = 0; j < outDim; j++) {
      const g = dy[j];
      if (g === 0) continue;
      gb[j] += g;
      const row = j * inDim;
      for (let i = 0; i < inDim; i++) {
        gw[row + i] += g * x[i];
        dx[i] += g * w[row + i];
      }
    }
    // Through the tanh of the previous hidden layer (the input embedding has none).
    if (l > 0) for (let i = 0; i < inDim; i++) dx[i] *= 1 - x[i] * x[i];
  }
  const dx0 = deltas[0];
  for (let c = 0; c < context; c++) {
    const off = ctxIds[c] * embedDim;
    for (let e = 0; e < embedDim; e++) emb.grad[off + e] += dx0[c * embedDim + e];
  }
  return loss;
}

// ---------------------------------------------------------------------------------------------
// Optimiser: AdamW with global-norm gradient clipping
// ---------------------------------------------------------------------------------------------

const ADAM = { beta1: 0.9, beta2: 0.99, eps: 1e-8 };
let adamStep = 0;

function optimizerStep(lr) {
  adamStep++;
  let norm2 = 0;
  for (const p of params) for (let i = 0; i < p.grad.length; i++) norm2 += p.grad[i] * p.grad[i];
  const norm = Math.sqrt(norm2);
  const clip = GRAD_CLIP > 0 && norm > GRAD_CLIP ? GRAD_CLIP / norm : 1;
  const bc1 = 1 - ADAM.beta1 ** adamStep;
  const bc2 = 1 - ADAM.beta2 ** adamStep;
  for (const p of params) {
    const { data, grad, m, v } = p;
    const decay = p.decay ? 1 - lr * WEIGHT_DECAY : 1;
    for (let i = 0; i < data.length; i++) {
      const g = grad[i] * clip;
      m[i] = ADAM.beta1 * m[i] + (1 - ADAM.beta1) * g;
      v[i] = ADAM.beta2 * v[i] + (1 - ADAM.beta2) * g * g;
      data[i] = data[i] * decay - (lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + ADAM.eps);
      grad[i] = 0;
    }
  }
  return norm;
}

/** Learning-rate multiplier: linear warmup over steps, then linear warmdown over the last part of the time budget. */
function lrMultiplier(step, progress) {
  const warm = WARMUP_STEPS > 0 ? Math.min(1, (step + 1) / WARMUP_STEPS) : 1;
  if (WARMDOWN_RATIO <= 0 || progress < 1 - WARMDOWN_RATIO) return warm;
  const cooldown = Math.max(0, (1 - progress) / WARMDOWN_RATIO);
  return warm * (cooldown + (1 - cooldown) * FINAL_LR_FRAC);
}

// ---------------------------------------------------------------------------------------------
// Training loop: runs for TIME_BUDGET seconds of wall time
// ---------------------------------------------------------------------------------------------

function loadContext(pos) {
  for (let c = 0; c < context; c++) {
    const src = pos - context + c;
    ctxIds[c] = src >= 0 ? trainTokens[src] : PAD_ID;
  }
}

const budgetMs = TIME_BUDGET * 1000;
const tTrain = performance.now();
let step = 0;
let smoothLoss = 0;
let lastLog = tTrain;
let failed = false;
for (;;) {
  const elapsed = performance.now() - tTrain;
  if (elapsed >= budgetMs) break;
  const progress = elapsed / budgetMs;
  const lr = LEARNING_RATE * lrMultiplier(step, progress);

  let loss = 0;
  for (let b = 0; b < batchSize; b++) {
    const pos = 1 + Math.floor(rand() * (trainTokens.length - 1));
    loadContext(pos);
    forward();
    loss += backward(trainTokens[pos], 1 / batchSize);
  }
  loss /= batchSize;
  optimizerStep(lr);
  step++;

  if (!Number.isFinite(loss) || loss > 100) {
    failed = true;
    break;
  }
  smoothLoss = step === 1 ? loss : 0.98 * smoothLoss + 0.02 * loss;
  const now = performance.now();
  if (now - lastLog >= 500) {
    lastLog = now;
    const bits = smoothLoss / Math.LN2;
    console.log(
      `step ${String(step).padStart(5, "0")} | loss ${bits.toFixed(4)} bits | lr ${lr.toExponential(2)} | ${(100 * progress).toFixed(1)}%`,
    );
  }
}
const trainingSeconds = (performance.now() - tTrain) / 1000;

if (failed) {
  console.log("FAIL: loss is not finite");
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Evaluation (prepare.js owns the metric)
// ---------------------------------------------------------------------------------------------

const valBpb = evaluate((evalCtx) => {
  for (let c = 0; c < context; c++) ctxIds[c] = evalCtx[EVAL_CONTEXT - context + c];
  return forward();
});
if (!Number.isFinite(valBpb)) {
  console.log("FAIL: val_bpb is not finite");
  process.exit(1);
}

const totalSeconds = performance.now() / 1000; // since the process started
console.log("---");
console.log(`val_bpb:          ${valBpb.toFixed(6)}`);
console.log(`training_seconds: ${trainingSeconds.toFixed(1)}`);
console.log(`total_seconds:    ${totalSeconds.toFixed(1)}`);
console.log(`num_steps:        ${step}`);
console.log(`num_params_M:     ${(numParams / 1e6).toFixed(3)}`);
console.log(`depth:            ${depth}`);
