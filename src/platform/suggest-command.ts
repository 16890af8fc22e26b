/**
 * The experiment commands a repository suggests, for init's command question: the project's own
 * environment first (a `.venv` or `venv` in the repo, `uv run` where uv manages it), then the
 * system Python. For a script that imports torch, the first one whose interpreter imports torch
 * is the suggestion: `python3` is often not the interpreter that has it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pythonForCommand } from "./command.js";
import { type Exec, execWithTimeout } from "./exec.js";
import { which } from "./which.js";

export interface CommandCandidate {
  command: string;
  /** Why it is offered: "the repo's .venv", "uv manages this repo". */
  why: string;
  /** torch.__version__ its Python imports; null: no torch; undefined: not asked. */
  torch?: string | null;
}

export interface SuggestOptions {
  root: string;
  /** The training script, relative to root. */
  train: string;
  /** The command the option table would default to (first when nothing better is found). */
  fallback: string;
  /** Whether the script imports torch: then each candidate's Python is asked for it. */
  torch: boolean;
  os?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  exec?: Exec;
  timeoutMs?: number;
}

/** POSIX single quotes where needed (the file names in a repo rarely need them). */
function quote(word: string, os: NodeJS.Platform): string {
  if (/^[\w@%+=:,./\\-]+$/.test(word)) return word;
  return os === "win32" ? `"${word}"` : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The candidates found in the repo and on PATH, the option table's default among them, no duplicates. */
export function commandCandidates(options: Omit<SuggestOptions, "exec" | "timeoutMs" | "torch">): CommandCandidate[] {
  const os = options.os ?? process.platform;
  const env = options.env ?? process.env;
  const train = quote(options.train, os);
  const found: CommandCandidate[] = [];
  if (/\.py$/.test(options.train)) {
    for (const dir of [".venv", "venv"]) {
      const python = os === "win32" ? join(dir, "Scripts", "python.exe") : join(dir, "bin", "python");
      if (existsSync(join(options.root, python))) found.push({ command: `${python} ${train}`, why: `the repo's ${dir}` });
    }
    if ((existsSync(join(options.root, "uv.lock")) || existsSync(join(options.root, "pyproject.toml"))) && which("uv", env, os)) {
      found.push({ command: `uv run ${train}`, why: "uv manages this repo" });
    }
  }
  found.push({ command: options.fallback, why: "the default" });
  if (/\.py$/.test(options.train)) {
    for (const python of os === "win32" ? ["python", "py"] : ["python3", "python"]) {
      if (which(python, env, os)) found.push({ command: `${python} ${train}`, why: `${python} on PATH` });
    }
  }
  const seen = new Set<string>();
  return found.filter((c) => !seen.has(c.command) && seen.add(c.command));
}

const TORCH_PROBE = "import torch, sys; sys.stdout.write(torch.__version__)";

/**
 * The candidates, each asked for torch when the script imports it (in parallel, each with its
 * own timeout), and the one to suggest: the first that imports torch, else the first found.
 */
export async function suggestCommand(options: SuggestOptions): Promise<{ suggested: CommandCandidate; candidates: CommandCandidate[] }> {
  const os = options.os ?? process.platform;
  const exec = options.exec ?? execWithTimeout;
  const candidates = commandCandidates(options);
  if (options.torch) {
    await Promise.all(
      candidates.map(async (candidate) => {
        const py = pythonForCommand(candidate.command, os);
        if (py === null) return;
        const result = await exec([...py.argv, "-c", TORCH_PROBE], { cwd: options.root, timeoutMs: options.timeoutMs ?? 30_000 });
        candidate.torch = result.code === 0 && !result.timedOut && /^\d+\.\d+/.test(result.stdout.trim()) ? result.stdout.trim() : null;
      }),
    );
  }
  const suggested = candidates.find((c) => typeof c.torch === "string") ?? (candidates[0] as CommandCandidate);
  return { suggested, candidates };
}
