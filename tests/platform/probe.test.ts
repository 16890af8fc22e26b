import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseNvidiaSmi, parseProbeOutput } from "../../src/platform/probe.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/probes/${name}`, import.meta.url), "utf8");

function data(name: string) {
  const outcome = parseProbeOutput(fixture(name));
  if (!outcome.ok) throw new Error(`${name}: ${outcome.reason}`);
  return outcome.data;
}

describe("parseProbeOutput with recorded probe outputs", () => {
  it("CUDA, H100 on Linux (recorded)", () => {
    expect(data("cuda-h100-linux.txt")).toMatchObject({
      torch: "2.11.0+cu130",
      cuda: true,
      deviceName: "NVIDIA H100 80GB HBM3",
      totalMemoryBytes: 85017493504,
      capability: [9, 0],
      bf16: true,
      mps: false,
      flashAttn: false,
      system: "Linux",
    });
  });

  it("CUDA through `uv run python`, with uv's warnings in the output (recorded, H200)", () => {
    expect(data("cuda-h200-uv.txt")).toMatchObject({ torch: "2.11.0+cu130", cuda: true, deviceName: "NVIDIA H200", capability: [9, 0] });
  });

  it("CUDA on Windows (CRLF line ends)", () => {
    expect(data("cuda-windows.txt")).toMatchObject({ system: "Windows", cuda: true, deviceName: "NVIDIA GeForce RTX 4090", capability: [8, 9], bf16: true });
  });

  it("MPS on an M2 Mac", () => {
    expect(data("mps-m2-macos.txt")).toMatchObject({ system: "Darwin", machine: "arm64", cuda: false, mps: true, bf16: true, deviceName: "Apple M2 Pro" });
  });

  it("CPU-only torch, a warning line before the JSON", () => {
    expect(data("cpu-torch-linux.txt")).toMatchObject({ torch: "2.5.1+cpu", cuda: false, mps: false, deviceCount: 0 });
  });

  it("no torch (recorded)", () => {
    const d = data("no-torch-linux.txt");
    expect(d.torch).toBeNull();
    expect(d.torchError).toContain("No module named 'torch'");
    expect(d.python).toBe("3.11.7");
    expect(data("no-torch-windows.txt").torch).toBeNull();
  });

  it("garbage and empty output are reasons, not exceptions", () => {
    const garbage = parseProbeOutput(fixture("garbage.txt"));
    expect(garbage).toEqual({ ok: false, reason: "probe output is not valid JSON" });
    expect(parseProbeOutput("")).toEqual({ ok: false, reason: "the probe printed nothing" });
    const other = parseProbeOutput("Python 3.12.1\n");
    expect(other.ok).toBe(false);
    expect(!other.ok && other.reason).toContain("Python 3.12.1");
    const wrongType = parseProbeOutput('{"autoresearch_probe": 1, "cuda": "yes"}');
    expect(!wrongType.ok && wrongType.reason).toContain('"cuda"');
  });
});

describe("parseNvidiaSmi", () => {
  it("reads name, memory and compute capability (recorded H100 and H200)", () => {
    expect(parseNvidiaSmi(fixture("nvidia-smi-h100.txt"))).toEqual([{ name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559, computeCap: "9.0" }]);
    expect(parseNvidiaSmi(fixture("nvidia-smi-h100-nocap.txt"))).toEqual([{ name: "NVIDIA H100 80GB HBM3", memoryMiB: 81559, computeCap: null }]);
    expect(parseNvidiaSmi(fixture("nvidia-smi-h200.txt"))).toEqual([{ name: "NVIDIA H200", memoryMiB: 143771, computeCap: "9.0" }]);
    expect(parseNvidiaSmi(fixture("nvidia-smi-windows.txt"))).toEqual([{ name: "NVIDIA GeForce RTX 4090", memoryMiB: 24564, computeCap: "8.9" }]);
  });

  it("lists every GPU and ignores failures", () => {
    expect(parseNvidiaSmi("NVIDIA A100-SXM4-40GB, 40960 MiB\nNVIDIA A100-SXM4-40GB, 40960 MiB\n")).toHaveLength(2);
    expect(parseNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")).toEqual([]);
    expect(parseNvidiaSmi("No devices were found\n")).toEqual([]);
  });
});
