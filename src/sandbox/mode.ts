/**
 * Which protection a session's runs get: `--sandbox auto` (the default) confines them where this
 * machine can (bubblewrap on Linux, sandbox-exec on macOS), `bwrap` insists on bubblewrap, `off`
 * confines nothing. Without a sandbox the shared data is guarded by its manifest (names, sizes,
 * times compared after each run), and a change to it stops the session.
 */
import { UsageError } from "../errors.js";

export const SANDBOX_MODES = ["auto", "bwrap", "off"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** What protects the user's data from a run: a sandbox, or the manifest check after it. */
export type Protection = "bwrap" | "sandbox-exec" | "manifest";

export interface SandboxAvailability {
  platform: NodeJS.Platform;
  /** bwrap starts a sandbox here (null: not probed, not Linux); `why` says what failed. */
  bwrap: { ok: boolean; why: string } | null;
  /** /usr/bin/sandbox-exec exists (macOS). */
  sandboxExec: boolean;
}

/** Pure. Throws UsageError for `--sandbox bwrap` where bubblewrap cannot run. */
export function resolveProtection(mode: SandboxMode, available: SandboxAvailability): Protection {
  if (mode === "off") return "manifest";
  if (available.platform === "linux" && available.bwrap?.ok) return "bwrap";
  if (mode === "bwrap") {
    const why = available.platform !== "linux" ? `bubblewrap runs on Linux only (this is ${available.platform})` : `bwrap does not run here: ${available.bwrap?.why ?? "not found"}`;
    throw new UsageError(`--sandbox bwrap: ${why}`, "Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or use --sandbox auto (confine where possible) or --sandbox off.");
  }
  if (available.platform === "darwin" && available.sandboxExec) return "sandbox-exec";
  return "manifest";
}

/** One line for the config table, doctor and status. */
export function protectionText(protection: Protection): string {
  switch (protection) {
    case "bwrap":
      return "bubblewrap sandbox (shared data and the session's records read-only or hidden; the run writes only its clone)";
    case "sandbox-exec":
      return "sandbox-exec profile (shared data and the session's records read-only or hidden; the run writes only its clone)";
    default:
      return "none: shared data is checked after each run, and a change stops the session";
  }
}

/**
 * The protection a session's runs get. Only runs on this machine are confined here (`runsHere`):
 * an ssh host or a SLURM node is another machine, whose runs are checked by the manifest. The
 * executor's descriptor says which (src/executors/registry.ts sessionProtection).
 */
export function protectionFor(settings: { sandbox?: SandboxMode }, runsHere: boolean, available: () => SandboxAvailability): Protection {
  if (!runsHere || settings.sandbox === "off") return "manifest";
  return resolveProtection(settings.sandbox ?? "auto", available());
}
