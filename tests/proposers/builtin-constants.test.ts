import { describe, expect, it } from "vitest";
import { applyEdits, constantEdit, detectLanguage, parseConstants } from "../../src/proposers/builtin/constants.js";
import { formatLike, parseLiteral, roundSignificant } from "../../src/proposers/builtin/literals.js";
import { halveMove, makeMove } from "../../src/proposers/builtin/moves.js";
import { guessCategory, isExcludedName, namePriority } from "../../src/proposers/builtin/names.js";

const PY = `"""Toy GPT training script.
LR = 123  # inside the module docstring: not a constant
"""
import os

# Model architecture
ASPECT_RATIO = 64       # model_dim = depth * ASPECT_RATIO
HEAD_DIM = 128          # target head dimension
WINDOW_PATTERN = "SSSL" # a string: skipped
TOTAL_BATCH_SIZE = 2**19 # ~524K tokens per optimizer step
MATRIX_LR = 0.04
EMBEDDING_LR = 1e-3
WEIGHT_DECAY: float = 0.2
ADAM_BETAS = (0.8, 0.95) # Adam beta1, beta2
WARMUP_RATIO = 0.0
DEPTH: int = 8
STEPS = 1_000
SHIFTED = 1 << 10
USE_FLASH = True
SEED = 42
N_EMBD = 64 * 6
MIXED = (0.9, "x")
LR == 3

def train():
    LOCAL_LR = 0.5
    return LOCAL_LR

CONFIG = dict(
LATE = 7,
)
if True:
    INDENTED = 3
`;

describe("parseConstants (Python)", () => {
  const constants = parseConstants(PY, "python");
  const byKey = new Map(constants.map((c) => [c.key, c]));

  it.each([
    ["ASPECT_RATIO", 64, "64", "int", "architecture"],
    ["HEAD_DIM", 128, "128", "int", "architecture"],
    ["TOTAL_BATCH_SIZE", 2 ** 19, "2**19", "pow2", "training"],
    ["MATRIX_LR", 0.04, "0.04", "float", "optimizer"],
    ["EMBEDDING_LR", 0.001, "1e-3", "float", "optimizer"],
    ["WEIGHT_DECAY", 0.2, "0.2", "float", "optimizer"],
    ["ADAM_BETAS[0]", 0.8, "0.8", "float", "optimizer"],
    ["ADAM_BETAS[1]", 0.95, "0.95", "float", "optimizer"],
    ["WARMUP_RATIO", 0, "0.0", "float", "optimizer"],
    ["DEPTH", 8, "8", "int", "architecture"],
    ["STEPS", 1000, "1_000", "int", "training"],
    ["SHIFTED", 1024, "1 << 10", "pow2", "hyperparameters"],
  ] as const)("%s = %s (%s, %s, %s)", (key, value, literal, kind, category) => {
    const c = byKey.get(key);
    expect(c).toBeDefined();
    expect(c?.value).toBe(value);
    expect(c?.literal).toBe(literal);
    expect(c?.kind).toBe(kind);
    expect(c?.category).toBe(category);
    expect(c?.line.slice(c.column, c.column + c.literal.length)).toBe(literal);
  });

  it("keeps the exact source line and tuple indexes", () => {
    expect(byKey.get("TOTAL_BATCH_SIZE")?.line).toBe("TOTAL_BATCH_SIZE = 2**19 # ~524K tokens per optimizer step");
    expect(byKey.get("ADAM_BETAS[1]")?.index).toBe(1);
    expect(byKey.get("ADAM_BETAS[1]")?.line).toBe("ADAM_BETAS = (0.8, 0.95) # Adam beta1, beta2");
    expect(byKey.get("DEPTH")?.index).toBeNull();
  });

  it("ignores strings, booleans, expressions, mixed tuples, docstrings, nested and indented lines", () => {
    for (const key of ["WINDOW_PATTERN", "USE_FLASH", "N_EMBD", "MIXED[0]", "LOCAL_LR", "LATE", "INDENTED", "LR"]) {
      expect(byKey.has(key), key).toBe(false);
    }
  });

  it("parses SEED but marks it as not tunable", () => {
    expect(byKey.get("SEED")?.excluded).toBe(true);
    expect(byKey.get("MATRIX_LR")?.excluded).toBe(false);
  });

  it("handles CRLF line endings, bare tuples and single-element tuples", () => {
    const text = "A_LR = 0.1\r\nBETAS = 0.9, 0.99\r\nONE = (0.5,)\r\nPAREN = (3)\r\n";
    const cs = parseConstants(text, "python");
    expect(cs.map((c) => [c.key, c.value])).toEqual([
      ["A_LR", 0.1],
      ["BETAS[0]", 0.9],
      ["BETAS[1]", 0.99],
      ["ONE[0]", 0.5],
      ["PAREN", 3],
    ]);
    const edit = constantEdit(text, cs[0] as (typeof cs)[number], "0.2");
    expect(edit).toEqual({ search: "A_LR = 0.1\r", replace: "A_LR = 0.2\r" });
  });

  it("follows nanoGPT-style lower_case config files", () => {
    const text = "n_layer = 12\nn_head = 12\nn_embd = 768\ndropout = 0.0\nlearning_rate = 6e-4\nbeta2 = 0.95\neval_interval = 2000\nbatch_size = 12\n";
    const cs = new Map(parseConstants(text, "python").map((c) => [c.key, c]));
    expect(cs.get("n_layer")?.category).toBe("architecture");
    expect(cs.get("n_head")?.category).toBe("architecture");
    expect(cs.get("dropout")?.category).toBe("training");
    expect(cs.get("learning_rate")?.category).toBe("optimizer");
    expect(cs.get("batch_size")?.category).toBe("training");
    expect(cs.get("eval_interval")?.excluded).toBe(true);
  });
});

/** nanoGPT's train.py, abridged: config globals, then counters and state the loop changes. */
const NANO = `out_dir = 'out'
eval_interval = 2000
iter_num = 0
best_val_loss = 1e9
step = 0
i = 0
learning_rate = 6e-4 # max learning rate
min_lr = 6e-5
n_layer = 12
dropout = 0.0
batch_size = 12
max_iters = 5000
num_epochs = 3
model_args = dict(n_layer=n_layer, n_head=12,
                  dropout=dropout, lr=learning_rate)  # keyword arguments are no assignments
if init_from == 'resume':
    iter_num = checkpoint['iter_num']
    best_val_loss = checkpoint['best_val_loss']
for step in range(max_iters):
    lr = get_lr(iter_num) if decay_lr else learning_rate  # iter_num = 3 in a comment is nothing
    iter_num += 1
    i = i + 1
`;

describe("parseConstants: loop counters and state are never tuned", () => {
  const byKey = new Map(parseConstants(NANO, "python").map((c) => [c.key, c]));

  it("marks counters and names the script assigns again, increments or loops over", () => {
    for (const key of ["iter_num", "best_val_loss", "step", "i"]) expect(byKey.get(key)?.excluded, key).toBe(true);
  });

  it("leaves hyperparameters used as keyword arguments, lengths and rates tunable", () => {
    for (const key of ["learning_rate", "min_lr", "n_layer", "dropout", "batch_size", "max_iters", "num_epochs"]) expect(byKey.get(key)?.excluded, key).toBe(false);
  });

  it("catches ++, augmented assignments, for-of targets and later statements in JS", () => {
    const js = "let step = 0;\nlet total = 0;\nconst LR = 0.1;\nlet DECAY = 0.5;\nfor (const x of xs) { step++; total += x; }\nfunction later() {\n  DECAY = 0.9;\n}\n";
    const cs = new Map(parseConstants(js, "js").map((c) => [c.key, c.excluded]));
    expect(Object.fromEntries(cs)).toEqual({ step: true, total: true, LR: false, DECAY: true });
  });

  it("catches a counter assigned in a one-line compound statement's body, and nothing else of that line", () => {
    const py = "LR = 0.1\nepochs_done = 0\nseen = 0\nbad = 0\nwaited = 0\nloss = 3.0\nwhile epochs_done < 100:\n    loss = loss * (1 - LR * 0.05)\n    if loss > 0: epochs_done = epochs_done + 1\n    else: bad = bad + 1\n    while seen < 2: seen = seen + 1\n    waited: int = 1 if LR else 0\n";
    const cs = new Map(parseConstants(py, "python").map((c) => [c.key, c.excluded]));
    expect(Object.fromEntries(cs)).toEqual({ LR: false, epochs_done: true, seen: true, bad: true, waited: true, loss: true });
    // A dict entry, a slice or a keyword default on a statement's line is no assignment.
    const kept = new Map(parseConstants("LR = 0.1\nWD = 0.01\nopts = {'lr': LR, 'wd': WD}\nbest = xs[LR: WD]\ndef f(x: float = LR): pass\n", "python").map((c) => [c.key, c.excluded]));
    expect(kept.get("LR")).toBe(false);
    expect(kept.get("WD")).toBe(false);
    const js = "const LR = 0.1;\nlet epochs = 0;\nlet bad = 0;\nlet n = 0;\nlet m = 0;\nif (loss > 0) epochs = epochs + 1;\nelse bad = bad + 1;\nwhile (n < 3) { n = n + 1; }\nconst f = () => m = m + 1;\n";
    const jcs = new Map(parseConstants(js, "js").map((c) => [c.key, c.excluded]));
    expect(Object.fromEntries(jcs)).toEqual({ LR: false, epochs: true, bad: true, n: true, m: true });
  });

  it("a name re-assigned at top level with another number keeps the last value, still a constant", () => {
    const cs = parseConstants("LR = 0.1\nLR = 0.2\n", "python");
    expect(cs.map((c) => [c.key, c.value, c.excluded])).toEqual([["LR", 0.2, false]]);
  });
});

const JS = `import { train } from "./lib.js";

const LEARNING_RATE = 0.04;
export const BATCH_SIZE = 1_024; // per step
let warmupSteps: number = 100;
var DROPOUT = 0.1
const BETAS = [0.9, 0.999] as const;
const TOKENS = 2 ** 16;
const NAME = "gpt";
const A = 1, B = 2;

function f() {
const INNER = 5;
  const ALSO_INNER = 6;
}
/*
const IN_COMMENT = 7;
*/
const T = \`
const IN_TEMPLATE = 8;
\`;
`;

describe("parseConstants (JS/TS)", () => {
  const cs = parseConstants(JS, "js");
  const byKey = new Map(cs.map((c) => [c.key, c]));

  it("finds const/let/var/export declarations with separators, types and arrays", () => {
    expect(cs.map((c) => [c.key, c.value, c.literal])).toEqual([
      ["LEARNING_RATE", 0.04, "0.04"],
      ["BATCH_SIZE", 1024, "1_024"],
      ["warmupSteps", 100, "100"],
      ["DROPOUT", 0.1, "0.1"],
      ["BETAS[0]", 0.9, "0.9"],
      ["BETAS[1]", 0.999, "0.999"],
      ["TOKENS", 65536, "2 ** 16"],
    ]);
    expect(byKey.get("warmupSteps")?.category).toBe("optimizer");
    expect(byKey.get("TOKENS")?.kind).toBe("pow2");
  });

  it("detects the language from the path or the text", () => {
    expect(detectLanguage("train.py", "")).toBe("python");
    expect(detectLanguage("train.ts", "")).toBe("js");
    expect(detectLanguage("train.mjs", "")).toBe("js");
    expect(detectLanguage(undefined, "const A = 1;\n")).toBe("js");
    expect(detectLanguage(undefined, "A = 1\n")).toBe("python");
  });

  it("edits keep the statement's syntax", () => {
    const c = byKey.get("BATCH_SIZE");
    if (!c) throw new Error("missing");
    const edit = constantEdit(JS, c, "2_048");
    expect(edit).toEqual({ search: "export const BATCH_SIZE = 1_024; // per step", replace: "export const BATCH_SIZE = 2_048; // per step" });
  });
});

describe("literals", () => {
  it.each([
    ["0.04", 0.04, "float"],
    ["1e-3", 0.001, "float"],
    ["3E+2", 300, "float"],
    [".5", 0.5, "float"],
    ["1.", 1, "float"],
    ["512", 512, "int"],
    ["1_000_000", 1e6, "int"],
    ["-2", -2, "int"],
    ["2**19", 524288, "pow2"],
    ["2 ** 3", 8, "pow2"],
    ["1<<4", 16, "pow2"],
  ] as const)("parses %s", (text, value, kind) => {
    expect(parseLiteral(text)).toEqual({ value, kind });
  });

  it.each(["abc", "1e", "0x10", "3**2", "1__0", "True", ""])("rejects %s", (text) => {
    expect(parseLiteral(text)).toBeNull();
  });

  it.each([
    ["2**19", "pow2", 2 ** 20, "2**20"],
    ["2 ** 19", "pow2", 2 ** 18, "2 ** 18"],
    ["1 << 10", "pow2", 2048, "1 << 11"],
    ["1e-3", "float", 0.002, "2e-3"],
    ["1.0e-3", "float", 0.002, "2.0e-3"],
    ["3E-4", "float", 0.00015, "1.5E-4"],
    ["1e+3", "float", 2000, "2e+3"],
    ["0.04", "float", 0.08, "0.08"],
    ["1.0", "float", 2, "2.0"],
    ["0.5", "float", 0.0125, "0.0125"],
    ["512", "int", 1024, "1024"],
    ["1_000", "int", 2000, "2_000"],
    ["1_000", "int", 500, "500"],
  ] as const)("formats %s (%s) -> %s as %s", (old, kind, value, expected) => {
    expect(formatLike(old, kind, value)).toBe(expected);
  });

  it("rounds binary noise away", () => {
    expect(roundSignificant(0.1 * 0.125)).toBe(0.0125);
    expect(roundSignificant(0.0124999999)).toBe(0.0125);
    expect(roundSignificant(0.04 / 1.5)).toBe(0.0267);
  });
});

describe("moves", () => {
  const cs = new Map(parseConstants(PY, "python").map((c) => [c.key, c]));
  const get = (key: string) => {
    const c = cs.get(key);
    if (!c) throw new Error(key);
    return c;
  };
  const lit = (key: string, dir: "up" | "down", level: 0 | 1 | 2 | 3) => makeMove(get(key), dir, level)?.literal ?? null;

  it("scales floats multiplicatively, coarse to fine", () => {
    expect([lit("MATRIX_LR", "up", 1), lit("MATRIX_LR", "down", 1)]).toEqual(["0.08", "0.02"]);
    expect([lit("MATRIX_LR", "up", 2), lit("MATRIX_LR", "down", 2)]).toEqual(["0.06", "0.0267"]);
    expect([lit("MATRIX_LR", "up", 3), lit("MATRIX_LR", "down", 3)]).toEqual(["0.05", "0.032"]);
    expect([lit("MATRIX_LR", "up", 0), lit("MATRIX_LR", "down", 0)]).toEqual(["0.16", "0.01"]);
    expect([lit("EMBEDDING_LR", "up", 1), lit("EMBEDDING_LR", "down", 2)]).toEqual(["2e-3", "6.67e-4"]);
  });

  it("moves betas by their distance to 1", () => {
    expect([lit("ADAM_BETAS[1]", "up", 1), lit("ADAM_BETAS[1]", "down", 1)]).toEqual(["0.975", "0.9"]);
    expect([lit("ADAM_BETAS[0]", "up", 1), lit("ADAM_BETAS[0]", "down", 1)]).toEqual(["0.9", "0.6"]);
    expect(makeMove(get("ADAM_BETAS[1]"), "up", 1)?.tag).toBe("1-b x0.5");
  });

  it("gives zero floats small positive values", () => {
    expect([lit("WARMUP_RATIO", "up", 1), lit("WARMUP_RATIO", "down", 1)]).toEqual(["0.1", "0.01"]);
  });

  it("steps small ints by one, large ints by factors, powers of two by exponents", () => {
    expect([lit("DEPTH", "up", 1), lit("DEPTH", "down", 1), lit("DEPTH", "up", 0)]).toEqual(["9", "7", "10"]);
    expect(lit("DEPTH", "up", 2)).toBeNull();
    expect([lit("HEAD_DIM", "up", 1), lit("HEAD_DIM", "down", 1), lit("HEAD_DIM", "up", 2), lit("HEAD_DIM", "down", 2)]).toEqual(["256", "64", "192", "96"]);
    expect([lit("STEPS", "up", 2), lit("STEPS", "down", 2)]).toEqual(["1_500", "670"]);
    expect([lit("TOTAL_BATCH_SIZE", "up", 1), lit("TOTAL_BATCH_SIZE", "down", 1), lit("TOTAL_BATCH_SIZE", "up", 0)]).toEqual(["2**20", "2**18", "2**21"]);
    expect(lit("TOTAL_BATCH_SIZE", "up", 2)).toBeNull();
    expect(lit("SHIFTED", "up", 1)).toBe("1 << 11");
  });

  it("keeps fractions below 1 and positive ints positive", () => {
    const [dropout] = parseConstants("DROPOUT = 0.6\nN_HEAD = 1\n", "python");
    if (!dropout) throw new Error("parse");
    expect(makeMove(dropout, "up", 1)).toBeNull();
    expect(makeMove(dropout, "up", 3)?.literal).toBe("0.75");
    const head = parseConstants("N_HEAD = 1\n", "python")[0];
    if (!head) throw new Error("parse");
    expect(makeMove(head, "down", 1)).toBeNull();
  });

  it("halves for an OOM retry in the literal's own style", () => {
    const [a, b, c] = parseConstants("DEVICE_BATCH_SIZE = 2**7\nBATCH_SIZE = 64\nMICRO = 1\n", "python");
    expect(halveMove(a as NonNullable<typeof a>)?.literal).toBe("2**6");
    expect(halveMove(b as NonNullable<typeof b>)?.literal).toBe("32");
    expect(halveMove(c as NonNullable<typeof c>)).toBeNull();
  });
});

describe("edits", () => {
  it("replace the whole line and apply exactly once", () => {
    const text = "LR = 0.01\nMATRIX_LR = 0.01\nDEPTH = 4\n";
    const cs = parseConstants(text, "python");
    for (const c of cs) {
      const move = makeMove(c, "up", 1);
      if (!move) throw new Error(c.key);
      const edit = constantEdit(text, c, move.literal);
      expect(edit, c.key).not.toBeNull();
      if (!edit) continue;
      // The search text occurs exactly once (the loop's rule)...
      expect(text.split(edit.search).length - 1, c.key).toBe(1);
      // ...and applying it changes only that constant.
      const after = applyEdits(text, [edit]);
      const values = new Map(parseConstants(after ?? "", "python").map((x) => [x.key, x.value]));
      for (const other of cs) expect(values.get(other.key)).toBe(other.key === c.key ? move.value : other.value);
    }
  });

  it("widens the search with a neighbouring line when the line itself repeats", () => {
    const text = "A = 1\nLR = 0.01\nB = 2\n\nLR = 0.01\n";
    const cs = parseConstants(text, "python");
    const lr = cs.find((c) => c.key === "LR");
    if (!lr) throw new Error("LR");
    expect(lr.lineIndex).toBe(4);
    const edit = constantEdit(text, lr, "0.02");
    expect(edit).toEqual({ search: "B = 2\n\nLR = 0.01\n", replace: "B = 2\n\nLR = 0.02\n" });
    expect(applyEdits(text, edit ? [edit] : [])).toBe("A = 1\nLR = 0.01\nB = 2\n\nLR = 0.02\n");
  });

  it("gives up when no small window is unique", () => {
    const block = "X = 1\nX = 1\nX = 1\n";
    const text = `${block}${block}`;
    const [x] = parseConstants(text, "python");
    expect(x && constantEdit(text, x, "2")).toBeNull();
  });
});

describe("names", () => {
  it.each([
    ["LEARNING_RATE", "optimizer"],
    ["EMBEDDING_LR", "optimizer"],
    ["WARMUP_STEPS", "optimizer"],
    ["WARMDOWN_RATIO", "optimizer"],
    ["GRAD_CLIP", "optimizer"],
    ["ADAM_EPS", "optimizer"],
    ["MOMENTUM", "optimizer"],
    ["N_LAYER", "architecture"],
    ["MLP_RATIO", "architecture"],
    ["SEQ_LEN", "architecture"],
    ["CONTEXT_LENGTH", "architecture"],
    ["WINDOW_SIZE", "architecture"],
    ["DEVICE_BATCH_SIZE", "training"],
    ["GRAD_ACCUM", "training"],
    ["DROPOUT", "training"],
    ["MAX_STEPS", "training"],
    ["LOGIT_SOFTCAP", "hyperparameters"],
    ["batchSize", "training"],
    ["learningRate", "optimizer"],
  ] as const)("%s is %s", (name, category) => {
    expect(guessCategory(name)).toBe(category);
  });

  it("ranks learning rates, then batch, then sizes above the rest", () => {
    expect(namePriority("MATRIX_LR")).toBeGreaterThan(namePriority("BATCH_SIZE"));
    expect(namePriority("BATCH_SIZE")).toBeGreaterThan(namePriority("DEPTH"));
    expect(namePriority("DEPTH")).toBeGreaterThan(namePriority("LOGIT_SOFTCAP"));
    expect(namePriority("LOGIT_SOFTCAP")).toBeGreaterThan(namePriority("ADAM_EPS"));
  });

  it("ranks schedule end points (min_lr, final_lr, lr_end) below the learning rate itself", () => {
    for (const name of ["min_lr", "MIN_LR", "final_lr", "lr_end", "warmup_end_lr", "minLr"]) {
      expect(namePriority(name), name).toBeLessThan(namePriority("learning_rate"));
      expect(namePriority(name), name).toBeLessThan(namePriority("batch_size"));
    }
  });

  it("skips loop counters by name, keeps lengths", () => {
    for (const name of ["iter_num", "step", "epoch", "i", "global_step", "cur_epoch", "iteration"]) expect(isExcludedName(name), name).toBe(true);
    for (const name of ["max_iters", "num_epochs", "STEPS", "warmup_steps", "n_layer"]) expect(isExcludedName(name), name).toBe(false);
  });

  it("skips non-hyperparameters", () => {
    for (const name of ["SEED", "seed", "EVAL_TOKENS", "LOG_EVERY", "TIME_BUDGET", "VOCAB_SIZE", "NUM_WORKERS"]) expect(isExcludedName(name), name).toBe(true);
    for (const name of ["LR", "DEVICE_BATCH_SIZE", "DEPTH"]) expect(isExcludedName(name), name).toBe(false);
  });
});
