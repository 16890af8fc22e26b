// prepare.js - READ-ONLY data preparation and evaluation for the tinylm example.
//
// This file plays the role of Karpathy's prepare.py: it owns the data, the tokenizer, the
// fixed train/validation split and the metric. The research loop must never edit it; only
// train.js is tuned. Everything here is deterministic: same corpus, same vocabulary, same
// split, same val_bpb for the same predictor, on every machine.
//
// Exports
//   VOCAB, VOCAB_SIZE, PAD_ID        character-level vocabulary (sorted, built from the corpus)
//   encode(text), decode(ids)        tokenizer: one token per character (the corpus is ASCII,
//                                    so one token is exactly one byte)
//   trainTokens, valTokens           Uint8Array token streams of the fixed split
//   EVAL_CONTEXT                     how many previous tokens evaluate() hands the predictor
//   UNIFORM_BPB                      bits per byte of the uniform predictor (log2 VOCAB_SIZE)
//   evaluate(predict)                val_bpb of a predictor on the validation split

import { readFileSync } from "node:fs";

const CORPUS_PATH = new URL("./corpus.txt", import.meta.url);

/** Split: the text is cut into blocks of BLOCK_CHARS characters; every VAL_EVERY-th block is validation. */
const BLOCK_CHARS = 512;
const VAL_EVERY = 8;

/** Number of preceding tokens passed to the predictor by evaluate(). */
export const EVAL_CONTEXT = 32;

function loadCorpus() {
  // Normalise line endings so a checkout with CRLF conversion gives the same data.
  const text = readFileSync(CORPUS_PATH, "utf8").replace(/\r\n?/g, "\n");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && (c < 32 || c > 126)) {
      throw new Error(`corpus.txt must be printable ASCII; found code ${c} at offset ${i}`);
    }
  }
  return text;
}

const TEXT = loadCorpus();

/** Sorted list of the distinct characters of the corpus. */
export const VOCAB = Object.freeze([...new Set(TEXT)].sort());
export const VOCAB_SIZE = VOCAB.length;
const CHAR_TO_ID = new Map(VOCAB.map((ch, i) => [ch, i]));

/** Token used to pad contexts before the start of a stream (the newline character). */
export const PAD_ID = CHAR_TO_ID.get("\n") ?? 0;

/** Bits per byte of the uniform predictor: the bound any model that learns anything beats. */
export const UNIFORM_BPB = Math.log2(VOCAB_SIZE);

export function encode(text) {
  const ids = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const id = CHAR_TO_ID.get(text[i]);
    if (id === undefined) throw new Error(`character ${JSON.stringify(text[i])} is not in the vocabulary`);
    ids[i] = id;
  }
  return ids;
}

export function decode(ids) {
  let out = "";
  for (const id of ids) out += VOCAB[id] ?? "?";
  return out;
}

function split(text) {
  const train = [];
  const val = [];
  for (let start = 0, block = 0; start < text.length; start += BLOCK_CHARS, block++) {
    const piece = text.slice(start, start + BLOCK_CHARS);
    (block % VAL_EVERY === VAL_EVERY - 1 ? val : train).push(piece);
  }
  return { trainText: train.join(""), valText: val.join("") };
}

const { trainText, valText } = split(TEXT);

export const trainTokens = encode(trainText);
export const valTokens = encode(valText);
/** UTF-8 bytes of the validation text (equal to its token count: the corpus is ASCII). */
export const VAL_BYTES = Buffer.byteLength(valText, "utf8");

/**
 * Bits per byte of `predict` on the validation split.
 *
 * `predict(context)` receives an Int32Array of EVAL_CONTEXT token ids: the tokens before the one
 * to predict, oldest first, the immediately preceding token last, left-padded with PAD_ID. It
 * returns an array-like of VOCAB_SIZE non-negative scores for the next token; they are
 * normalised here, so probabilities or unnormalised weights both work. The context buffer is
 * reused between calls; copy it if you need to keep it.
 *
 * Returns NaN if the predictor produces non-finite or negative scores.
 */
export function evaluate(predict) {
  const ctx = new Int32Array(EVAL_CONTEXT).fill(PAD_ID);
  let bits = 0;
  for (let pos = 0; pos < valTokens.length; pos++) {
    const scores = predict(ctx);
    if (!scores || scores.length !== VOCAB_SIZE) {
      throw new Error(`predict must return ${VOCAB_SIZE} scores, got ${scores ? scores.length : scores}`);
    }
    let total = 0;
    for (let k = 0; k < VOCAB_SIZE; k++) {
      const s = scores[k];
      if (!(s >= 0) || !Number.isFinite(s)) return Number.NaN;
      total += s;
    }
    const target = valTokens[pos];
    const p = total > 0 ? scores[target] / total : 0;
    // Floor so one confident mistake costs a lot but never infinity.
    bits -= Math.log2(Math.max(p, 1e-12));
    // Shift the context left and append the token just scored.
    ctx.copyWithin(0, 1);
    ctx[EVAL_CONTEXT - 1] = target;
  }
  return bits / VAL_BYTES;
}
