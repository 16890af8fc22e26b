import { describe, expect, it } from "vitest";
import { adjustmentsFor, describeAdjustments, torchMajorMinor, usesTorch } from "../../src/platform/adjustments.js";

describe("adjustmentsFor: the platform settings and the compatibility matrix", () => {
  it.each([
    // kind, facts, compile, mode, attention, amp, batchScale, cast
    ["cuda", { torchVersion: "2.5.1+cu124", bf16: true, flashAttn: false }, true, "reduce-overhead", "sdpa", "bf16", 1, false],
    ["cuda", { torchVersion: "2.5.1", bf16: true, flashAttn: true }, true, "reduce-overhead", "flash", "bf16", 1, false],
    // PyTorch < 2.0 has no SDPA: attention is written by hand.
    ["cuda", { torchVersion: "1.13.1", bf16: false }, false, null, "manual", "fp16", 1, false],
    ["cuda", { torchVersion: null }, true, "reduce-overhead", "sdpa", "bf16", 1, false],
    ["mps", { torchVersion: "2.5.1", bf16: true }, false, null, "sdpa", "bf16", 0.5, true],
    ["mps", { torchVersion: "2.2.2", bf16: false }, false, null, "sdpa", "fp32", 0.5, true],
    ["cpu", { torchVersion: "2.5.1+cpu" }, false, null, "sdpa", "fp32", 0.25, false],
    ["cpu", {}, false, null, "sdpa", "fp32", 0.25, false],
    ["cpu", { torchVersion: "1.13.0a0" }, false, null, "manual", "fp32", 0.25, false],
    ["mps", { torchVersion: "1.13.1", bf16: false }, false, null, "manual", "fp32", 0.5, true],
  ] as const)("%s %j", (kind, facts, compile, compileMode, attention, ampDtype, batchScale, cast) => {
    expect(adjustmentsFor(kind, facts)).toMatchObject({ compile, compileMode, attention, ampDtype, batchScale, castOptimizerStateFp32: cast });
  });

  it("notes say what the spec says", () => {
    expect(adjustmentsFor("cuda", { torchVersion: null }).notes[0]).toBe('Enable torch.compile (mode "reduce-overhead") if PyTorch >= 2.0');
    const mps = adjustmentsFor("mps", { bf16: true }).notes.join("\n");
    expect(mps).toMatch(/Disable torch.compile/);
    expect(mps).toMatch(/SDPA plus a manual sliding-window causal mask/);
    expect(mps).toMatch(/2-4x/);
    expect(mps).toMatch(/Cast optimizer states to float32/);
    const cpu = adjustmentsFor("cpu").notes.join("\n");
    expect(cpu).toMatch(/optional/);
    expect(cpu).toMatch(/gradient accumulation/);
    expect(cpu).toMatch(/4-8x/);
    expect(cpu).toMatch(/prefer short time budgets/);
    // Debian 12's python3-torch: no advice to call a function that torch does not have.
    const old = adjustmentsFor("cpu", { torchVersion: "1.13.0a0" }).notes.join("\n");
    expect(old).toMatch(/PyTorch 1\.13\.0a0 has no F\.scaled_dot_product_attention/);
    expect(old).not.toMatch(/Use SDPA/);
  });

  it("describes them in one line for the table", () => {
    expect(describeAdjustments(adjustmentsFor("cpu"))).toBe("torch.compile off; SDPA; fp32; batch ×0.25");
    expect(describeAdjustments(adjustmentsFor("cuda", { torchVersion: "2.4.0", flashAttn: true }))).toBe("torch.compile on (reduce-overhead); FlashAttention; bf16; batch ×1");
    expect(describeAdjustments(adjustmentsFor("mps", { bf16: true }))).toBe("torch.compile off; SDPA; bf16; batch ×0.5; optimizer states fp32");
    expect(describeAdjustments(adjustmentsFor("cpu", { torchVersion: "1.13.1" }))).toBe("torch.compile off; manual attention (no SDPA); fp32; batch ×0.25");
  });

  it("reads torch versions", () => {
    expect(torchMajorMinor("2.11.0+cu130")).toEqual([2, 11]);
    expect(torchMajorMinor("1.13.1")).toEqual([1, 13]);
    expect(torchMajorMinor("nightly")).toBeNull();
  });
});

describe("usesTorch: whether the torch adjustments mean anything for a script", () => {
  it.each([
    ["import torch\n", true],
    ["import os\nimport torch.nn as nn\n", true],
    ["from torch import nn\n", true],
    ["    from torch.utils.data import DataLoader\n", true],
    ["import numpy as np, torch\n", true],
    ["import numpy as np\n# we could import torch later\n", false],
    ["import torchvision_like_name_only\n", false],
    ["const torch = require('x');\nconsole.log('val_loss: 1')\n", false],
    ["print('import torch')\n", false],
  ])("%j -> %s", (text, expected) => {
    expect(usesTorch(text)).toBe(expected);
  });
});
