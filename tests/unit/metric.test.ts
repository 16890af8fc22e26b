import { describe, expect, it } from "vitest";
import {
  delta,
  describeDirection,
  gain,
  guessDirection,
  inferDirection,
  isBetter,
  isQualityMetricName,
  isWorse,
  orient,
  percentChange,
} from "../../src/metric/index.js";

describe("metric comparisons", () => {
  it("better and worse follow the direction, strictly", () => {
    expect(isBetter(0.9, 1, "min")).toBe(true);
    expect(isBetter(1.1, 1, "min")).toBe(false);
    expect(isBetter(1.1, 1, "max")).toBe(true);
    expect(isBetter(1, 1, "min")).toBe(false);
    expect(isBetter(1, 1, "max")).toBe(false);
    expect(isWorse(1.1, 1, "min")).toBe(true);
    expect(isWorse(0.9, 1, "max")).toBe(true);
    expect(isWorse(1, 1, "max")).toBe(false);
  });

  it("a value that is not finite is never better; anything finite beats one", () => {
    expect(isBetter(Number.NaN, 1, "min")).toBe(false);
    expect(isBetter(Number.NEGATIVE_INFINITY, 1, "min")).toBe(false);
    expect(isBetter(1, Number.NaN, "min")).toBe(true);
    expect(isBetter(1, Number.NaN, "max")).toBe(true);
  });

  it("delta is signed raw, gain is positive when better", () => {
    expect(delta(0.97, 1)).toBeCloseTo(-0.03);
    expect(gain(0.97, 1, "min")).toBeCloseTo(0.03);
    expect(gain(0.97, 1, "max")).toBeCloseTo(-0.03);
    expect(gain(1.2, 1, "max")).toBeCloseTo(0.2);
    expect(delta(null, 1)).toBeNull();
    expect(delta(1, null)).toBeNull();
    expect(gain(Number.NaN, 1, "min")).toBeNull();
    // orient turns a gain back into a delta and a delta into a gain.
    expect(orient(orient(0.25, "min"), "min")).toBe(0.25);
    expect(orient(0.25, "min")).toBe(-0.25);
    expect(orient(0.25, "max")).toBe(0.25);
  });

  it("percent change against the reference's size; null for a zero or unknown reference", () => {
    expect(percentChange(0.99, 1)).toBeCloseTo(-1);
    expect(percentChange(-1.1, -1)).toBeCloseTo(-10);
    expect(percentChange(1, 0)).toBeNull();
    expect(percentChange(null, 1)).toBeNull();
  });

  it("describes the direction in words", () => {
    expect(describeDirection("min")).toBe("lower is better");
    expect(describeDirection("max")).toBe("higher is better");
  });
});

describe("direction guess from a metric name (one word table)", () => {
  // Every name the two former word lists (config prompts, report inference) covered.
  it.each([
    ["val_bpb", "min"],
    ["val_loss", "min"],
    ["train/loss", "min"],
    ["nll", "min"],
    ["bpc", "min"],
    ["ppl", "min"],
    ["perplexity", "min"],
    ["eval/wer", "min"],
    ["cer", "min"],
    ["err", "min"],
    ["test_error", "min"],
    ["mse", "min"],
    ["mae", "min"],
    ["rmse", "min"],
    ["fid", "min"],
    ["cost", "min"],
    ["step_time", "min"],
    ["latency_ms", "min"],
    ["accuracy", "max"],
    ["val_acc", "max"],
    ["f1", "max"],
    ["test_f1", "max"],
    ["bleu", "max"],
    ["rouge", "max"],
    ["rougeL", "max"],
    ["auc", "max"],
    ["auroc", "max"],
    ["score", "max"],
    ["map", "max"],
    ["iou", "max"],
    ["miou", "max"],
    ["dice", "max"],
    ["reward", "max"],
    ["episode_return", "max"],
    ["precision", "max"],
    ["recall", "max"],
    ["top1", "max"],
    ["top5", "max"],
    ["ndcg", "max"],
    ["mrr", "max"],
    ["psnr", "max"],
    ["ssim", "max"],
    ["r2", "max"],
    ["win_rate", "max"],
    ["throughput", "max"],
    ["tokens_per_s", "max"],
    ["mfu", "max"],
    // Run-together words are found by their longer stems.
    ["valloss", "min"],
    ["testaccuracy", "max"],
    // A lower-is-better word wins when both kinds appear.
    ["loss_acc", "min"],
    ["mystery", null],
    ["num_params_M", null],
    // Substrings of unrelated words are not hints (the old report list read "bitmap" as "map").
    ["bitmap_count", null],
  ])("%s -> %s", (name, direction) => {
    expect(guessDirection(name)).toBe(direction);
  });

  it("timings and throughputs are metrics, but not research metrics", () => {
    expect(isQualityMetricName("val_bpb")).toBe(true);
    expect(isQualityMetricName("accuracy")).toBe(true);
    expect(isQualityMetricName("training_seconds")).toBe(false);
    expect(isQualityMetricName("mfu_percent")).toBe(false);
    expect(isQualityMetricName("tokens_per_s")).toBe(false);
    expect(isQualityMetricName("peak_vram_mb")).toBe(false);
  });
});

describe("direction inferred from a results file", () => {
  const row = (metric: number, status: "keep" | "discard") => ({ metric, status });

  it("kept rows decide first: their changes point the better way", () => {
    expect(inferDirection([row(1, "keep"), row(0.9, "keep"), row(1.2, "discard")], "score").direction).toBe("min");
    expect(inferDirection([row(0.5, "keep"), row(0.6, "keep"), row(0.1, "discard")], "val_loss").direction).toBe("max");
  });

  it("then the metric's name, then min by default", () => {
    expect(inferDirection([row(0.5, "keep"), row(0.4, "discard")], "val_acc")).toEqual({ direction: "max", source: "inferred" });
    expect(inferDirection([row(0.5, "keep")], "val_bpb")).toEqual({ direction: "min", source: "inferred" });
    expect(inferDirection([row(0.5, "keep")], "zzz")).toEqual({ direction: "min", source: "default" });
  });
});
