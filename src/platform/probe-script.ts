/**
 * The Python probe's script, and starting it: what `run` needs before any other module loads
 * (see cli/early-start.ts), so nothing here imports more than Node's own modules. Reading its
 * answer (zod) is probe.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PythonCommand } from "./command.js";
import type { Exec, ExecResult } from "./exec.js";

export const DEFAULT_PROBE_TIMEOUT_MS = 20_000;

export const PROBE_MARKER = "autoresearch_probe";

export const PROBE_SCRIPT = `# autoresearch platform probe: prints one JSON line, changes nothing.
import json, platform, sys
r = {"${PROBE_MARKER}": 1, "python": platform.python_version(), "executable": sys.executable,
     "system": platform.system(), "machine": platform.machine(), "flash_attn": False}
try:
    import importlib.util as iu
    r["flash_attn"] = any(iu.find_spec(m) is not None for m in ("flash_attn", "flash_attn_interface"))
except Exception:
    pass
try:
    import torch
except Exception as e:
    r["torch"] = None
    r["torch_error"] = (type(e).__name__ + ": " + str(e))[:200]
else:
    r["torch"] = str(torch.__version__)
    r["cuda_version"] = getattr(torch.version, "cuda", None)
    r["hip"] = getattr(torch.version, "hip", None)
    r["cuda"] = bool(torch.cuda.is_available())
    if r["cuda"]:
        p = torch.cuda.get_device_properties(0)
        r["device_count"] = torch.cuda.device_count()
        r["device_name"] = p.name
        r["total_memory"] = int(p.total_memory)
        r["capability"] = [int(p.major), int(p.minor)]
        try:
            r["bf16"] = bool(torch.cuda.is_bf16_supported())
        except Exception:
            r["bf16"] = p.major >= 8
    mps = getattr(torch.backends, "mps", None)
    r["mps_built"] = bool(mps is not None and mps.is_built())
    r["mps"] = bool(mps is not None and mps.is_available())
    if r["mps"] and not r["cuda"]:
        try:
            torch.ones(1, device="mps", dtype=torch.bfloat16)
            r["bf16"] = True
        except Exception:
            r["bf16"] = False
        try:
            import subprocess
            q = lambda k: subprocess.run(["sysctl", "-n", k], capture_output=True, text=True, timeout=5).stdout.strip()
            r["device_name"] = q("machdep.cpu.brand_string") or None
            r["total_memory"] = int(q("hw.memsize") or 0) or None
        except Exception:
            pass
print(json.dumps(r))
`;

export interface ProbeRunOptions {
  /** Where the interpreter starts (the repository's top: `uv run` and pyenv read it). */
  root: string;
  exec: Exec;
  timeoutMs: number;
  /** Ends the probe (its whole process group) early: its answer is no longer wanted. */
  signal?: AbortSignal;
}

/** Runs PROBE_SCRIPT with `py` from a temporary file (removed after); never rejects. */
export async function runPythonProbe(py: PythonCommand, options: ProbeRunOptions): Promise<ExecResult> {
  let dir: string | null = null;
  try {
    dir = mkdtempSync(join(tmpdir(), "autoresearch-probe-"));
    const script = join(dir, "probe.py");
    writeFileSync(script, PROBE_SCRIPT);
    return await options.exec([...py.argv, script], { cwd: options.root, timeoutMs: options.timeoutMs, ...(options.signal && { signal: options.signal }) });
  } catch (error) {
    return { code: null, signal: null, stdout: "", stderr: "", timedOut: false, error: (error as NodeJS.ErrnoException).code ?? (error as Error).message };
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
  }
}
