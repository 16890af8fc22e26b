import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { hostSlots, resolveSlots, slotEnv } from "../../src/search/slots.js";

const cuda = (gpuCount: number) => ({ kind: "cuda" as const, gpuCount });
const cpu = { kind: "cpu" as const };

describe("worker slots", () => {
  it("auto: one worker per visible GPU; one on CPU", () => {
    expect(resolveSlots({ workers: "auto" }, cuda(4)).slots.map((s) => s.device)).toEqual(["0", "1", "2", "3"]);
    expect(resolveSlots({ workers: "auto" }, cpu).slots).toEqual([{ worker: 0, device: null }]);
  });

  it("--devices: one worker per device unless --workers says fewer; more workers than devices is refused with the fix", () => {
    expect(resolveSlots({ workers: "auto", devices: ["2", "3"] }, cuda(4)).slots).toEqual([
      { worker: 0, device: "2" },
      { worker: 1, device: "3" },
    ]);
    expect(resolveSlots({ workers: 1, devices: ["2", "3"] }, cuda(4)).slots).toEqual([{ worker: 0, device: "2" }]);
    expect(() => resolveSlots({ workers: 3, devices: ["0", "1"] }, cuda(4))).toThrow(UsageError);
    expect(() => resolveSlots({ workers: 3, devices: ["0", "1"] }, cuda(4))).toThrow(/--workers 3 but only 2 device/);
  });

  it("--workers N on GPUs pins each to one; more than the GPUs is refused; on CPU it is allowed with a warning", () => {
    expect(resolveSlots({ workers: 2 }, cuda(4)).slots.map((s) => s.device)).toEqual(["0", "1"]);
    expect(resolveSlots({ workers: 1 }, cuda(4)).slots).toEqual([{ worker: 0, device: null }]);
    expect(() => resolveSlots({ workers: 8 }, cuda(4))).toThrow(/4 GPU\(s\) are visible/);
    const onCpu = resolveSlots({ workers: 3 }, cpu);
    expect(onCpu.slots.map((s) => s.device)).toEqual([null, null, null]);
    expect(onCpu.warnings[0]).toMatch(/compete/);
  });

  it("ssh slots come from --hosts; slurm has N slots without a device", () => {
    expect(hostSlots(["gpu1", "gpu2:0+1"])).toEqual([
      { worker: 0, device: null, host: "gpu1" },
      { worker: 1, device: "0", host: "gpu2" },
      { worker: 2, device: "1", host: "gpu2" },
    ]);
    expect(resolveSlots({ workers: "auto", executor: "ssh", hosts: ["gpu1", "gpu2:0+1"] }, cpu).slots).toHaveLength(3);
    expect(resolveSlots({ workers: 3, executor: "slurm" }, cpu).slots).toEqual([0, 1, 2].map((worker) => ({ worker, device: null })));
    expect(() => resolveSlots({ workers: "auto", executor: "slurm" }, cpu)).toThrow(UsageError);
  });

  it("a slot's run environment: the worker, and its device for CUDA and ROCm", () => {
    expect(slotEnv({ worker: 2, device: "5" })).toEqual({ AUTORESEARCH_WORKER: "2", CUDA_VISIBLE_DEVICES: "5", HIP_VISIBLE_DEVICES: "5" });
    expect(slotEnv({ worker: 0, device: null })).toEqual({ AUTORESEARCH_WORKER: "0" });
  });
});
