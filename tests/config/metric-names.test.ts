import { describe, expect, it } from "vitest";
import { findMetricNames } from "../../src/config/prompts.js";
import { guessDirection } from "../../src/metric/index.js";

describe("findMetricNames: metrics the scripts print", () => {
  it("Karpathy's train.py summary block: val_bpb first, no timings or counts", () => {
    const text = `
print(f"step {step:05d} ({pct_done:.1f}%) | loss: {debiased_smooth_loss:.6f} | lrm: {lrm:.2f} | dt: {dt*1000:.0f}ms", end="")
print("---")
print(f"val_bpb:          {val_bpb:.6f}")
print(f"training_seconds: {total_training_time:.1f}")
print(f"peak_vram_mb:     {peak_vram_mb:.1f}")
print(f"mfu_percent:      {steady_state_mfu:.2f}")
print(f"num_params_M:     {num_params / 1e6:.1f}")
`;
    expect(findMetricNames([{ path: "train.py", text }]).map((c) => c.name)).toEqual(["val_bpb", "loss"]);
  });

  it("JavaScript template literals, printf and label-then-value prints", () => {
    const files = [
      { path: "train.js", text: `console.log(\`val_loss: \${loss.toFixed(6)}\`);\nconsole.log("accuracy:", acc);\n` },
      { path: "eval.py", text: 'print("test_f1: %.4f" % f1)\nlogger.info(f"perplexity: {ppl}")\n' },
    ];
    const names = findMetricNames(files);
    expect(names.map((c) => c.name)).toEqual(["val_loss", "test_f1", "accuracy", "perplexity"]);
    expect(names[1]).toEqual({ name: "test_f1", file: "eval.py" });
  });

  it("finds nothing in a script that prints no metric", () => {
    expect(findMetricNames([{ path: "train.py", text: 'print("hello")\nx = {"a": 1}\n' }])).toEqual([]);
  });
});

describe("guessDirection", () => {
  it.each([
    ["val_bpb", "min"],
    ["val_loss", "min"],
    ["perplexity", "min"],
    ["eval/wer", "min"],
    ["accuracy", "max"],
    ["val_acc", "max"],
    ["f1", "max"],
    ["top1", "max"],
    ["mystery", null],
  ])("%s -> %s", (name, direction) => {
    expect(guessDirection(name)).toBe(direction);
  });
});
