/**
 * What `autoresearch run` can start before the CLI's modules load: the Python probe of its
 * experiment command. Loading the modules takes this process's one thread for about a fifth of
 * a second, and the probe waits about as long on the experiment's Python (longer with torch), so
 * started here (by bin/autoresearch.js, first) the two overlap instead of following each other.
 *
 * This reads the arguments before commander does, for one purpose: guessing the command. The
 * guess is used only when the settled config's command and repository top are the same text and
 * directory (`takeEarlyProbe`); otherwise it is ended and the probe runs as before. Nothing here
 * imports more than Node's modules and the probe's own (no zod, no commander).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE } from "../file-names.js";
import { pythonForCommand } from "../platform/command.js";
import { execWithTimeout, type ExecResult } from "../platform/exec.js";
import { DEFAULT_PROBE_TIMEOUT_MS, runPythonProbe } from "../platform/probe-script.js";

interface EarlyProbe {
  command: string;
  root: string;
  result: Promise<ExecResult>;
  abort: AbortController;
  /** Given to `run`'s platform detection (takeEarlyProbe). */
  taken: boolean;
}

let early: EarlyProbe | null = null;

/** The experiment command `run` would be given: `--command X` / `--command=X`, else the repository's config file's (when started at its top). */
export function guessRunCommand(args: readonly string[], cwd: string): string | null {
  if (args[0] !== "run" || args.some((a) => a === "-h" || a === "--help")) return null;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") break;
    if (arg === "--command") return args[i + 1] ?? null;
    if (arg.startsWith("--command=")) return arg.slice("--command=".length);
  }
  // --config names another file whose command would win over the repository's: no guess.
  if (args.some((a) => a === "--config" || a.startsWith("--config="))) return null;
  try {
    const command = (JSON.parse(readFileSync(join(cwd, CONFIG_FILE), "utf8")) as { command?: unknown }).command;
    return typeof command === "string" ? command : null;
  } catch {
    return null;
  }
}

/** Starts the probe for the command `run` is about to use (see the top of this file); a no-op for any other command. */
export function startEarly(argv: readonly string[], cwd: string): void {
  const command = guessRunCommand(argv.slice(2), cwd);
  if (command === null) return;
  const py = pythonForCommand(command, process.platform);
  if (py === null) return;
  const abort = new AbortController();
  early = { command, root: cwd, abort, taken: false, result: runPythonProbe(py, { root: cwd, exec: execWithTimeout, timeoutMs: DEFAULT_PROBE_TIMEOUT_MS, signal: abort.signal }) };
}

/**
 * The probe started early, when it was for this command at this repository top; else undefined,
 * and a probe started for another command is ended. Taken once.
 */
export function takeEarlyProbe(command: string, root: string): Promise<ExecResult> | undefined {
  if (early === null || early.taken) return undefined;
  if (early.command !== command || early.root !== root) {
    endEarly();
    return undefined;
  }
  early.taken = true;
  return early.result;
}

/** Ends the early probe if it still runs (`run` stopped before its answer was used): this process exits without waiting for it. */
export function endEarly(): void {
  early?.abort.abort();
  early = null;
}
