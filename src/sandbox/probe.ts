/**
 * Whether a sandbox can start on this machine, found by starting one (bwrap is installed but
 * refused where unprivileged user namespaces are off, in some containers): once per process.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { SandboxAvailability } from "./mode.js";

/** The bwrap to run: AUTORESEARCH_BWRAP (tests point it at a missing file to see the fallback), else `bwrap` on PATH. */
export function bwrapPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTORESEARCH_BWRAP || "bwrap";
}

const cache = new Map<string, { ok: boolean; why: string }>();
/** The same mounts a run gets, so a machine that refuses any of them is found here, not mid-run. */
const PROBE_ARGS = ["--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--die-with-parent", "true"];
const PROBE_TIMEOUT_MS = 10_000;

function verdict(error: Error | null | undefined, status: number | null, stderr: string): { ok: boolean; why: string } {
  if (error) return { ok: false, why: (error as NodeJS.ErrnoException).code === "ENOENT" ? "bwrap is not installed" : error.message };
  return status === 0 ? { ok: true, why: "" } : { ok: false, why: (stderr || `exit code ${status}`).trim().split("\n")[0] as string };
}

export function probeBwrap(bwrap = bwrapPath()): { ok: boolean; why: string } {
  const known = cache.get(bwrap);
  if (known) return known;
  const r = spawnSync(bwrap, PROBE_ARGS, { encoding: "utf8", timeout: PROBE_TIMEOUT_MS });
  const result = verdict(r.error, r.status, r.stderr ?? "");
  cache.set(bwrap, result);
  return result;
}

/**
 * The same probe without blocking (Linux only; elsewhere nothing is probed): `run` starts it
 * beside the platform probe, so the config table's sandbox line (probeBwrap) finds its answer
 * cached instead of starting a sandbox of its own after the Python probe has ended.
 */
export function probeBwrapAsync(platform: NodeJS.Platform = process.platform, bwrap = bwrapPath()): Promise<void> {
  if (platform !== "linux" || cache.has(bwrap)) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(bwrap, PROBE_ARGS, { encoding: "utf8", timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      // A non-zero exit arrives as an error with a numeric code: that is the status, not a failure to start.
      const status = error ? (typeof (error as NodeJS.ErrnoException).code === "number" ? ((error as NodeJS.ErrnoException).code as unknown as number) : null) : 0;
      if (!cache.has(bwrap)) cache.set(bwrap, verdict(status === null ? error : null, status, stderr));
      resolve();
    });
  });
}

export function sandboxAvailability(platform: NodeJS.Platform = process.platform): SandboxAvailability {
  return {
    platform,
    bwrap: platform === "linux" ? probeBwrap() : null,
    sandboxExec: platform === "darwin" && existsSync("/usr/bin/sandbox-exec"),
  };
}
