/**
 * The remote platform probe: the command is run here by a real `sh` (as the ssh wrapper and a
 * SLURM batch script run it on a host), its output parsed and decided by detectPlatform's rules.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { describe, expect, it } from "vitest";
import { parseRemoteProbe, platformFromRemoteProbe, REMOTE_PROBE_MARK, remoteProbeCommand } from "../../src/platform/remote.js";

const sh = (line: string) => execFileSync("sh", ["-c", line], { encoding: "utf8" });
const M = REMOTE_PROBE_MARK;

describe("remote platform probe", () => {
  it.skipIf(!existsSync("/usr/bin/python3"))("runs the run's interpreter and reports this host's facts", async () => {
    const out = sh(remoteProbeCommand("/usr/bin/python3 train.py --steps 3"));
    const probe = parseRemoteProbe(out);
    expect(probe).not.toBeNull();
    expect(probe?.os).toBe("linux");
    expect(probe?.cpuCount).toBe(Number(sh("getconf _NPROCESSORS_ONLN").trim()));
    expect(probe?.cpuModel).toBe((cpus()[0]?.model ?? "").trim());
    expect(probe?.totalMemoryBytes).toBeGreaterThan(0);
    expect(probe?.python?.code).toBe(0);
    expect(probe?.python?.stdout).toContain('"autoresearch_probe": 1');
    const platform = await platformFromRemoteProbe("/usr/bin/python3 train.py", probe as NonNullable<typeof probe>, "/tmp");
    expect(platform.python).toBe("/usr/bin/python3");
    expect(platform.pythonVersion).toBe(sh("/usr/bin/python3 -c 'import platform; print(platform.python_version())'").trim());
  });

  it("a command that runs no Python probes only the host", async () => {
    const probe = parseRemoteProbe(sh(remoteProbeCommand("node train.js")));
    expect(probe?.python).toBeUndefined();
    const platform = await platformFromRemoteProbe("node train.js", probe as NonNullable<typeof probe>, "/tmp");
    expect(platform.torch).toBeNull();
    expect(platform.notes.join("\n")).toMatch(/runs no Python/);
  });

  it("an interpreter missing on the host is a note, and the host's CPU is the platform", async () => {
    const probe = parseRemoteProbe(sh(remoteProbeCommand("/nonexistent/python3 train.py")));
    expect(probe?.python?.code).toBe(127);
    const platform = await platformFromRemoteProbe("/nonexistent/python3 train.py", probe as NonNullable<typeof probe>, "/tmp");
    expect(platform.kind).toBe("cpu");
    expect(platform.notes.join("\n")).toMatch(/Python probe \(\/nonexistent\/python3\) failed \(exit code 127\)/);
  });

  it("recorded output of a CUDA host decides cuda with its GPUs, OS and arch", async () => {
    const json = JSON.stringify({ autoresearch_probe: 1, python: "3.11.9", torch: "2.4.0", cuda: true, device_count: 2, device_name: "NVIDIA H100 80GB HBM3", total_memory: 85_000_000_000, capability: [9, 0], bf16: true, mps: false, mps_built: false, flash_attn: true });
    const out = [
      "unrelated run output",
      `${M} python-begin`,
      "UserWarning: something",
      json,
      `${M} python-end 0`,
      `${M} smi-begin`,
      "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0",
      "NVIDIA H100 80GB HBM3, 81559 MiB, 9.0",
      `${M} smi-end 0`,
      `${M} os Linux aarch64`,
      `${M} cpus 72`,
      `${M} mem 579820093440`,
      `${M} cpu Neoverse-V2`,
      `${M} host gpu-node-7`,
      `${M} done`,
    ].join("\n");
    const probe = parseRemoteProbe(out);
    expect(probe).toMatchObject({ os: "linux", arch: "arm64", cpuCount: 72, cpuModel: "Neoverse-V2", hostname: "gpu-node-7", totalMemoryBytes: 579820093440 });
    const platform = await platformFromRemoteProbe("uv run train.py", probe as NonNullable<typeof probe>, "/tmp");
    expect(platform).toMatchObject({ kind: "cuda", gpuCount: 2, torch: "2.4.0", pythonVersion: "3.11.9", os: "linux", python: "uv run python" });
    expect(platform.detail).toContain("2× NVIDIA H100 80GB HBM3");
  });

  it("output cut before its end is no probe", () => {
    expect(parseRemoteProbe(`${M} python-begin\n{"autoresearch_probe": 1}\n`)).toBeNull();
    expect(parseRemoteProbe("")).toBeNull();
  });
});
