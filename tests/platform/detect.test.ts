import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectPlatform, type Exec, type ExecResult, platformEnv } from "../../src/platform/index.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/probes/${name}`, import.meta.url), "utf8");
const ok = (stdout: string): ExecResult => ({ code: 0, signal: null, stdout, stderr: "", timedOut: false });
const enoent: ExecResult = { code: null, signal: null, stdout: "", stderr: "", timedOut: false, error: "ENOENT" };

/** Replays recorded outputs: the probe's for the Python, nvidia-smi's (or "not found") for nvidia-smi. */
function replay(probe: ExecResult | null, smi: ExecResult = enoent): Exec & { calls: string[][] } {
  const calls: string[][] = [];
  const run: Exec = async (argv) => {
    calls.push(argv);
    if (/nvidia-smi/.test(argv[0] as string)) return smi;
    return probe ?? enoent;
  };
  return Object.assign(run, { calls });
}

const base = { root: tmpdir(), cpuModel: "Intel(R) Xeon(R) Platinum 8480+", cpuCount: 16, totalMemoryBytes: 64 * 1024 ** 3 };

describe("detectPlatform with recorded probe outputs", () => {
  it("CUDA H100 on Linux: torch, compile reduce-overhead, SDPA (no flash-attn), bf16", async () => {
    const exec = replay(ok(fixture("cuda-h100-linux.txt")));
    const p = await detectPlatform({ ...base, command: "uv run train.py", exec, os: "linux", arch: "x64" });
    expect(exec.calls[0]?.slice(0, 3)).toEqual(["uv", "run", "python"]);
    expect(p).toMatchObject({ kind: "cuda", label: "CUDA", device: "cuda", os: "linux", source: "torch", detail: "NVIDIA H100 80GB HBM3, 79.2 GiB, sm_90" });
    expect(p.adjustments).toMatchObject({ compile: true, compileMode: "reduce-overhead", attention: "sdpa", ampDtype: "bf16", batchScale: 1, castOptimizerStateFp32: false });
    expect(p.torch).toBe("2.11.0+cu130");
    expect(p.python).toBe("uv run python");
  });

  it("CUDA on Windows: probes `python`, same rules as Linux", async () => {
    const exec = replay(ok(fixture("cuda-windows.txt")));
    const p = await detectPlatform({ ...base, command: "python train.py", exec, os: "win32", arch: "x64" });
    expect(exec.calls[0]?.[0]).toBe("python");
    expect(p).toMatchObject({ kind: "cuda", label: "CUDA", os: "win32", detail: "NVIDIA GeForce RTX 4090, 24.0 GiB, sm_89" });
    expect(p.adjustments.ampDtype).toBe("bf16");
  });

  it("MPS on an M2 Mac: compile off, SDPA, bf16, batch x0.5, optimizer states fp32", async () => {
    const p = await detectPlatform({ ...base, command: "uv run train.py", exec: replay(ok(fixture("mps-m2-macos.txt"))), os: "darwin", arch: "arm64" });
    expect(p).toMatchObject({ kind: "mps", label: "MPS (Apple Silicon)", device: "mps", detail: "Apple M2 Pro, 32.0 GiB unified memory", source: "torch" });
    expect(p.adjustments).toMatchObject({ compile: false, compileMode: null, attention: "sdpa", ampDtype: "bf16", batchScale: 0.5, castOptimizerStateFp32: true });
  });

  it("MPS on an M1: no bf16, fp32", async () => {
    const p = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("mps-m1-macos.txt"))), os: "darwin", arch: "arm64" });
    expect(p.kind).toBe("mps");
    expect(p.adjustments.ampDtype).toBe("fp32");
  });

  it("CPU-only torch: CPU from torch, even when nvidia-smi sees a GPU (noted)", async () => {
    const p = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("cpu-torch-linux.txt")), ok(fixture("nvidia-smi-h100.txt"))), os: "linux", arch: "x64" });
    expect(p).toMatchObject({ kind: "cpu", label: "CPU", source: "torch", detail: "Intel(R) Xeon(R) Platinum 8480+, 16 cores" });
    expect(p.notes.join("\n")).toMatch(/nvidia-smi sees NVIDIA H100 80GB HBM3.*cannot use CUDA/);
    expect(p.adjustments).toMatchObject({ compile: false, attention: "sdpa", ampDtype: "fp32", batchScale: 0.25 });
  });

  it("old torch on V100s: no torch.compile (torch < 2.0), fp16", async () => {
    const p = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("cuda-v100-torch1.txt"))), os: "linux" });
    expect(p.detail).toBe("8× Tesla V100-SXM2-32GB, 31.7 GiB, sm_70");
    expect(p.adjustments).toMatchObject({ compile: false, compileMode: null, attention: "manual", ampDtype: "fp16" });
  });

  it("Debian 12's python3-torch on CPU: the version torch reports, manual attention (no SDPA before 2.0)", async () => {
    const exec = replay(ok(fixture("cpu-debian12-torch113.txt")));
    const p = await detectPlatform({ ...base, command: "/usr/bin/python3 train.py", exec, os: "linux", arch: "x64" });
    expect(exec.calls[0]?.[0]).toBe("/usr/bin/python3");
    expect(p).toMatchObject({ kind: "cpu", device: "cpu", source: "torch", torch: "1.13.0a0", python: "/usr/bin/python3", pythonVersion: "3.11.2" });
    expect(p.adjustments).toMatchObject({ compile: false, attention: "manual", ampDtype: "fp32", batchScale: 0.25 });
    expect(platformEnv(p).AUTORESEARCH_ATTENTION).toBe("manual");
  });

  it("no torch: falls back to nvidia-smi", async () => {
    const p = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("no-torch-linux.txt")), ok(fixture("nvidia-smi-h200.txt"))), os: "linux" });
    expect(p).toMatchObject({ kind: "cuda", source: "nvidia-smi", detail: "NVIDIA H200, 140.4 GiB, sm_90", torch: null });
    expect(p.notes[0]).toMatch(/torch is not installed in python3/);
    expect(p.adjustments.compile).toBe(true);
  });

  it("no torch on Windows, nvidia-smi without compute_cap (old driver): retried without it", async () => {
    const calls: string[][] = [];
    const exec: Exec = async (argv) => {
      calls.push(argv);
      if (argv[0] !== "nvidia-smi") return ok(fixture("no-torch-windows.txt"));
      if (argv[1]?.includes("compute_cap")) return { code: 2, signal: null, stdout: 'Field "compute_cap" is not a valid field to query.\r\n', stderr: "", timedOut: false };
      return ok("NVIDIA GeForce GTX 1080 Ti, 11264 MiB\r\n");
    };
    const p = await detectPlatform({ ...base, command: "python train.py", exec, os: "win32" });
    expect(p).toMatchObject({ kind: "cuda", source: "nvidia-smi", detail: "NVIDIA GeForce GTX 1080 Ti, 11.0 GiB", os: "win32" });
    expect(calls.filter((c) => c[0] === "nvidia-smi")).toHaveLength(2);
  });

  it("no torch, no nvidia-smi: the OS and CPU; Apple Silicon notes that MPS is possible", async () => {
    const linux = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("no-torch-linux.txt"))), os: "linux" });
    expect(linux).toMatchObject({ kind: "cpu", label: "CPU", source: "os", detail: "Intel(R) Xeon(R) Platinum 8480+, 16 cores, 64.0 GiB RAM" });
    expect(linux.notes).toContain("nvidia-smi was not found");
    const mac = await detectPlatform({ ...base, cpuModel: "Apple M3 Max", command: "python3 train.py", exec: replay(ok(fixture("no-torch-linux.txt"))), os: "darwin", arch: "arm64" });
    expect(mac.kind).toBe("cpu");
    expect(mac.notes.join("\n")).toMatch(/MPS is possible, but torch is missing in python3/);
  });

  it("a node command probes no Python", async () => {
    const exec = replay(ok(fixture("cuda-h100-linux.txt")));
    const p = await detectPlatform({ ...base, command: "node train.js", exec, os: "linux" });
    expect(exec.calls.every((c) => c[0] === "nvidia-smi")).toBe(true);
    expect(p).toMatchObject({ kind: "cpu", source: "os", python: null });
  });

  it("a crashing, missing or garbling probe falls back with the reason", async () => {
    const crash = await detectPlatform({ ...base, command: "python3 train.py", exec: replay({ code: 1, signal: null, stdout: "", stderr: "Traceback ...\nImportError: libcudart.so.12: cannot open shared object file\n", timedOut: false }), os: "linux" });
    expect(crash).toMatchObject({ kind: "cpu", source: "os" });
    expect(crash.notes[0]).toBe("the Python probe (python3) failed (exit code 1): ImportError: libcudart.so.12: cannot open shared object file");
    const missing = await detectPlatform({ ...base, command: "uv run train.py", exec: replay(null), os: "linux" });
    expect(missing.notes[0]).toBe("uv was not found (the probe runs uv run python)");
    const garbage = await detectPlatform({ ...base, command: "python3 train.py", exec: replay(ok(fixture("garbage.txt"))), os: "linux" });
    expect(garbage.notes[0]).toBe("the Python probe (python3): probe output is not valid JSON");
    const timedOut = await detectPlatform({ ...base, command: "python3 train.py", timeoutMs: 5000, exec: replay({ code: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true }), os: "linux" });
    expect(timedOut.notes[0]).toBe("the Python probe (python3) timed out after 5s and was killed");
    expect(timedOut.kind).toBe("cpu");
  });

  it("platformEnv gives the run the DESIGN.md variables", async () => {
    const p = await detectPlatform({ ...base, command: "uv run train.py", exec: replay(ok(fixture("mps-m2-macos.txt"))), os: "darwin", arch: "arm64" });
    expect(platformEnv(p)).toEqual({
      AUTORESEARCH_DEVICE: "mps",
      AUTORESEARCH_PLATFORM: "MPS (Apple Silicon)",
      AUTORESEARCH_COMPILE: "0",
      AUTORESEARCH_COMPILE_MODE: "none",
      AUTORESEARCH_ATTENTION: "sdpa",
      AUTORESEARCH_AMP_DTYPE: "bf16",
      AUTORESEARCH_BATCH_SCALE: "0.5",
      AUTORESEARCH_CAST_OPTIMIZER_FP32: "1",
    });
  });
});

describe.skipIf(process.platform === "win32")("detectPlatform for real", () => {
  it("runs the real probe here and reports what this machine is", async () => {
    const root = mkdtempSync(join(tmpdir(), "ar-detect-"));
    const p = await detectPlatform({ command: "python3 train.py", root });
    expect(["cpu", "cuda", "mps"]).toContain(p.kind);
    expect(p.os).toBe(process.platform);
    // This project's CI machines have no GPU and no torch: detection falls back to the OS.
    if (!process.env.AUTORESEARCH_TEST_GPU) {
      expect(p.label).toBe("CPU");
      expect(p.adjustments).toMatchObject({ compile: false, ampDtype: "fp32", batchScale: 0.25 });
    }
  });

  it("a probe that hangs is killed at the timeout, with its children, and detection falls back", async () => {
    const root = mkdtempSync(join(tmpdir(), "ar-hang-"));
    mkdirSync(join(root, "bin"));
    const pidFile = join(root, "sleeper.pid");
    // A "python" that never answers and starts a child that would outlive it.
    writeFileSync(join(root, "bin", "python"), `#!/bin/sh\nsleep 60 &\necho $! > "${pidFile}"\nwait\n`);
    chmodSync(join(root, "bin", "python"), 0o755);
    const started = Date.now();
    const p = await detectPlatform({ command: "./bin/python train.py", root, timeoutMs: 1500 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1500 + 2500);
    expect(p.kind).not.toBe("mps");
    expect(p.notes[0]).toBe("the Python probe (./bin/python) timed out after 1.5s and was killed");
    const sleeper = Number(readFileSync(pidFile, "utf8"));
    const alive = () => {
      try {
        process.kill(sleeper, 0);
      } catch {
        return false;
      }
      // A killed child not yet reaped is a zombie: dead.
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${sleeper}/stat`, "utf8"));
      } catch {
        return process.platform !== "linux";
      }
    };
    for (let i = 0; i < 40 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });
});
