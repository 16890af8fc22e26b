import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { LineSplitter } from "../../src/runner/line-splitter.js";
import { metricRegExp, parseNumber } from "../../src/runner/metrics.js";
import { OutputScanner, type ScanResult } from "../../src/runner/output-scanner.js";
import type { MetricSpec } from "../../src/types.js";

/** A run's output read as the executor reads it: split into lines as it streams, then scanned. */
function scan(output: string | string[], spec: MetricSpec = { name: "val_bpb" }): ScanResult {
  const scanner = new OutputScanner(spec);
  const splitter = new LineSplitter((line) => scanner.line(line));
  for (const chunk of Array.isArray(output) ? output.map((l) => `${l}\n`) : [output]) splitter.push(chunk);
  splitter.end();
  return scanner.result();
}

describe("parseNumber", () => {
  it.each([
    ["0.9979", 0.9979],
    ["-1.5", -1.5],
    ["+2", 2],
    ["3.", 3],
    [".5", 0.5],
    ["1e-3", 0.001],
    ["-2.5E+2", -250],
    ["nan", Number.NaN],
    ["NaN", Number.NaN],
    ["inf", Number.POSITIVE_INFINITY],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-inf", Number.NEGATIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["abc", null],
    ["", null],
    ["1.2.3", null],
  ])("%s → %s", (text, expected) => {
    expect(parseNumber(text)).toEqual(expected);
  });
});

describe("the metric line (last match wins)", () => {
  const spec = { name: "val_bpb" };
  it.each<[string, string, number | null]>([
    ["simple", "val_bpb: 0.9979", 0.9979],
    ["karpathy summary padding", "---\nval_bpb:          0.997900\ntraining_seconds: 300.1", 0.9979],
    ["last match wins", "val_bpb: 1.5\nstep 2\nval_bpb: 1.2\nother: 3", 1.2],
    ["equals sign and spaces", "  val_bpb = 2.5e-1", 0.25],
    ["space before colon", "val_bpb : 7", 7],
    ["negative", "val_bpb: -3.25", -3.25],
    ["nan", "val_bpb: 1.0\nval_bpb: nan", Number.NaN],
    ["NaN", "val_bpb: NaN", Number.NaN],
    ["inf", "val_bpb: inf", Number.POSITIVE_INFINITY],
    ["-inf", "val_bpb: -inf", Number.NEGATIVE_INFINITY],
    ["Infinity", "val_bpb: Infinity", Number.POSITIVE_INFINITY],
    ["none", "loss: 0.5\nstep 100", null],
    ["longer name is not the metric", "val_bpb_ema: 0.5", null],
    ["not at line start", "step 5 val_bpb: 0.5", null],
    ["garbage value", "val_bpb: fast", null],
    ["CRLF and \\r progress", "step 1\rstep 2\r\nval_bpb: 0.75\r\n", 0.75],
    // Fail closed: a number that is not whole and well formed is not read at all.
    ["decimal comma", "val_bpb: 1,2768", null],
    ["cut exponent", "val_bpb: 1.5e", null],
    ["trailing letters", "val_bpb: 0.98abc", null],
    ["two dots", "val_bpb: 0.9.8", null],
    ["malformed last line hides an earlier value", "val_bpb: 1.5\nval_bpb: 1,2768", null],
    ["a metric line without a number after a good one", "val_bpb: 1.5\nval_bpb: fast", null],
    ["a separator after the number", "val_bpb=0.5, acc=0.9", 0.5],
    ["a bracket after the number", "val_bpb: 0.5)", 0.5],
    ["text after white space", "val_bpb: 0.5 (ema)", 0.5],
    ["a percent sign", "val_bpb: 93.5%", 93.5],
  ])("%s", (_name, text, expected) => {
    expect(scan(text, spec).metric).toEqual(expected);
  });

  it("accepts an array of lines", () => {
    expect(scan(["val_bpb: 1", "val_bpb: 2"], spec).metric).toBe(2);
  });

  it("escapes regex characters in the metric name", () => {
    expect(scan("val/loss(x): 0.5", { name: "val/loss(x)" }).metric).toBe(0.5);
    expect(scan("valXloss: 0.5", { name: "val.loss" }).metric).toBeNull();
  });

  it("uses a custom pattern's capture group instead of the default", () => {
    const custom = { name: "acc", pattern: "accuracy=([0-9.]+)%" };
    expect(scan("epoch 1 accuracy=91.5%\nepoch 2 accuracy=93.25%", custom).metric).toBe(93.25);
    expect(scan("acc: 0.5", custom).metric).toBeNull();
    expect(scan("score nan!", { name: "s", pattern: "score (\\S+)!" }).metric).toEqual(Number.NaN);
    // A custom capture that stops inside a longer number is not read either.
    expect(scan("acc=1,2768", { name: "acc", pattern: "acc=(\\d+)" }).metric).toBeNull();
    expect(scan("acc=0.98abc", { name: "acc", pattern: "acc=([\\d.]+)" }).metric).toBeNull();
  });

  it("rejects an invalid custom pattern with a UsageError", () => {
    expect(() => metricRegExp({ name: "x", pattern: "(unclosed" })).toThrow(UsageError);
  });
});

describe("peak memory", () => {
  it.each<[string, number | null]>([
    ["peak_vram_mb:    45060.2", 45060.2 / 1024],
    ["peak_vram_mb: 1024\npeak_vram_mb: 2048", 2],
    ["peak_vram_gb: 12.5", 12.5],
    ["peak_vram_mb: nan", null],
    ["memory: 3", null],
  ])("%s", (text, expected) => {
    const v = scan(text).memGb;
    if (expected === null) expect(v).toBeNull();
    else expect(v).toBeCloseTo(expected, 6);
  });

  it("45060.2 MB reads as 44.0 GB", () => {
    expect((scan("peak_vram_mb: 45060.2").memGb ?? 0).toFixed(1)).toBe("44.0");
  });
});

describe("parameter count", () => {
  it.each<[string, number | null]>([
    ["num_params_M:     50.3", 50_300_000],
    ["num_params: 12345", 12345],
    ["num_params: 12,345,678", 12_345_678],
    ["num_params_B: 1.5", 1_500_000_000],
    ["num_params_K: 7", 7000],
    ["num_params: 1.2M", 1_200_000],
    ["num_params: 5\nnum_params_M: 2", 2_000_000],
    ["params: 5", null],
    ["", null],
  ])("%s", (text, expected) => {
    expect(scan(text).params).toBe(expected);
  });
});

describe("steps and training seconds (the summary block)", () => {
  it.each<[string, number | undefined]>([
    ["num_steps:        953", 953],
    ["total_steps = 12000", 12000],
    ["steps: 40", 40],
    ["num_steps: 10\nnum_steps: 20", 20],
    ["step 100 loss 2.1", undefined],
    ["num_steps: 9.5", undefined],
    ["warmup_steps: 10", undefined],
  ])("steps %s", (text, expected) => {
    expect(scan(text).steps).toBe(expected);
  });
  it.each<[string, number | undefined]>([
    ["training_seconds: 300.1", 300.1],
    ["training_time_s = 2.5", 2.5],
    ["train_seconds: 3", 3],
    ["total_seconds:    325.9", undefined],
    ["training_seconds: nan", undefined],
    ["training_seconds: -1", undefined],
  ])("training seconds %s", (text, expected) => {
    expect(scan(text).trainingSec).toBe(expected);
  });
});

describe("out-of-memory messages", () => {
  it.each([
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB",
    "torch.cuda.OutOfMemoryError: CUDA error: out of memory",
    "RuntimeError: CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`",
    "RuntimeError: MPS backend out of memory (MPS allocated: 17.00 GB)",
    "MemoryError",
    "  File \"x.py\", line 3\nMemoryError: Unable to allocate 8.00 GiB",
    "terminate called after throwing an instance of 'std::bad_alloc'",
    "OSError: [Errno 12] Cannot allocate memory",
    "RuntimeError: [enforce fail at alloc_cpu.cpp:83] DefaultCPUAllocator: can't allocate memory",
    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
  ])("%s", (text) => {
    expect(scan(text).oom).toBe(true);
    expect(scan(text.split("\n")).oom).toBe(true);
  });

  it.each(["val_bpb: 0.99", "memory usage: 12 GB", "Traceback (most recent call last):\nValueError: bad shape", ""])(
    "not OOM: %s",
    (text) => {
      expect(scan(text).oom).toBe(false);
    },
  );
});
