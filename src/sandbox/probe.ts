/**
 * Whether a sandbox can start on this machine, found by starting one (bwrap is installed but
 * refused where unprivileged user namespaces are off, in some containers): once per process.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { SandboxAvailability } from "./mode.js";

/** The bwrap to run: AUTORESEARCH_BWRAP (tests point it at a missing file to see the fallback), else `bwrap` on PATH. */
export function bwrapPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTORESEARCH_BWRAP || "bwrap";
}

const cache = new Map<string, { ok: boolean; why: string }>();

export function probeBwrap(bwrap = bwrapPath()): { ok: boolean; why: string } {
  const known = cache.get(bwrap);
  if (known) return known;
  // The same mounts a run gets, so a machine that refuses any of them is found here, not mid-run.
  const r = spawnSync(bwrap, ["--ro-bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--die-with-parent", "true"], { encoding: "utf8", timeout: 10_000 });
  const result = r.error
    ? { ok: false, why: (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "bwrap is not installed" : r.error.message }
    : r.status === 0
      ? { ok: true, why: "" }
      : { ok: false, why: (r.stderr || `exit code ${r.status}`).trim().split("\n")[0] as string };
  cache.set(bwrap, result);
  return result;
}

export function sandboxAvailability(platform: NodeJS.Platform = process.platform): SandboxAvailability {
  return {
    platform,
    bwrap: platform === "linux" ? probeBwrap() : null,
    sandboxExec: platform === "darwin" && existsSync("/usr/bin/sandbox-exec"),
  };
}
