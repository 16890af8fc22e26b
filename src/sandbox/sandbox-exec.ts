/**
 * The macOS `sandbox-exec` profile with the bwrap rules (src/sandbox/bwrap.ts): every write denied
 * but the run's clone, its scratch folder and the devices; hidden folders unreadable, the clone
 * inside them readable again. Later rules win in the sandbox profile language, so the order is the
 * policy, as with bwrap's mounts. Pure; the profile text is unit-tested.
 */
import type { RunSandbox } from "../types.js";
import { shellQuote } from "../text.js";

/** A string literal of the profile language. */
function literal(path: string): string {
  return `"${path.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function sandboxProfile(sandbox: Pick<RunSandbox, "writable" | "hidden" | "scratch">): string {
  const own = [...sandbox.writable, sandbox.scratch].map((p) => `(subpath ${literal(p)})`).join(" ");
  const lines = [
    "(version 1)",
    "(allow default)",
    ";; nothing outside the run's own folders can be changed",
    '(deny file-write* (subpath "/"))',
    ';; the terminal, /dev/null and GPU devices stay usable',
    '(allow file-write* (subpath "/dev"))',
  ];
  if (sandbox.hidden.length > 0) {
    lines.push(";; the session's records, the lock and other workers' clones are out of sight");
    lines.push(`(deny file-read* file-write* ${sandbox.hidden.map((p) => `(subpath ${literal(p)})`).join(" ")})`);
  }
  lines.push(";; the run's clone and scratch folder: its own");
  lines.push(`(allow file-read* file-write* ${own})`);
  return `${lines.join("\n")}\n`;
}

/** `sandbox-exec -p <profile> /bin/sh -c <command>` as one shell command line. */
export function sandboxExecCommand(sandbox: Pick<RunSandbox, "writable" | "hidden" | "scratch">, command: string): string {
  return ["/usr/bin/sandbox-exec", "-p", sandboxProfile(sandbox), "/bin/sh", "-c", command].map(shellQuote).join(" ");
}
