/**
 * Which Python an experiment command uses, so the probe asks the interpreter the run will
 * really get: `uv run train.py` -> `uv run python`, `python3 x.py` -> `python3`,
 * `.venv/bin/python x.py` -> `.venv/bin/python`, `poetry run python x.py` -> `poetry run python`.
 * Node/Deno/Bun commands run no Python: null.
 */

export interface PythonCommand {
  /** argv that starts the interpreter; the probe script path is appended. */
  argv: string[];
  /** As shown to people: "uv run python". */
  display: string;
  /** True when the command does not name a Python and the platform default was taken. */
  guessed: boolean;
}

/** Splits a command line into words the way a POSIX shell would for simple commands. */
export function splitCommand(command: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < command.length && '"\\$`'.includes(command[i + 1] as string)) current += command[++i];
      else current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else if (c === "\\" && i + 1 < command.length && !/[A-Za-z0-9_.]/.test(command[i + 1] as string)) {
      // POSIX escape (`\ `); a backslash before a name character is a Windows path separator.
      current += command[++i];
      inWord = true;
    } else if (c === ";" || c === "&" || c === "|") {
      // A compound command: only the first simple command matters here.
      break;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

const NO_PYTHON = new Set(["node", "nodejs", "npx", "tsx", "ts-node", "deno", "bun", "bunx", "npm", "pnpm", "yarn", "java", "julia", "cargo", "go"]);
const RUNNERS = new Set(["poetry", "pipenv", "pdm", "hatch", "rye", "pixi"]);
const CONDA = new Set(["conda", "mamba", "micromamba"]);
/** Options of `uv run` / `conda run` that take a value as the next word. */
const VALUE_FLAGS = new Set([
  "--with",
  "--with-editable",
  "--with-requirements",
  "--python",
  "-p",
  "--project",
  "--directory",
  "--env-file",
  "--extra",
  "--group",
  "--package",
  "--index",
  "--index-url",
  "--extra-index-url",
  "-n",
  "--name",
  "--prefix",
  "--cwd",
]);

function basename(word: string): string {
  const parts = word.split(/[\\/]/);
  return (parts[parts.length - 1] ?? word).toLowerCase();
}

function isPythonWord(word: string): boolean {
  return /^(python|pythonw|pypy)(\d+(\.\d+)?)?(\.exe)?$/.test(basename(word));
}

export function defaultPython(os: NodeJS.Platform | string): string {
  return os === "win32" ? "python" : "python3";
}

/** The interpreter a command runs, or null when it runs no Python (node, deno, bun ...). */
export function pythonForCommand(command: string, os: NodeJS.Platform | string = process.platform): PythonCommand | null {
  let words = splitCommand(command);
  // Leading variable assignments and `env`: `CUDA_VISIBLE_DEVICES=0 python train.py`.
  while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string)) words = words.slice(1);
  if (words[0] === "env") {
    words = words.slice(1);
    while (words.length > 0 && (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] as string) || (words[0] as string).startsWith("-"))) words = words.slice(1);
  }
  const make = (argv: string[], guessed = false): PythonCommand => ({ argv, display: argv.join(" "), guessed });
  const first = words[0];
  if (first === undefined) return make([defaultPython(os)], true);
  const name = basename(first).replace(/\.(exe|cmd|bat)$/, "");

  if (isPythonWord(first)) return make([first]);
  if (name === "py" && os === "win32") {
    // Windows launcher: keep a version switch like `py -3.11`.
    const version = words[1]?.match(/^-\d+(\.\d+)?$/) ? [words[1] as string] : [];
    return make([first, ...version]);
  }
  if (NO_PYTHON.has(name)) return null;
  if (name === "uv" && words[1] === "run") return make([first, "run", ...runnerFlags(words.slice(2)), "python"]);
  if (name === "uvx") return make([defaultPython(os)], true);
  if (RUNNERS.has(name) && words[1] === "run") return make([first, "run", "python"]);
  if (CONDA.has(name) && words[1] === "run") return make([first, "run", ...runnerFlags(words.slice(2)), "python"]);
  return make([defaultPython(os)], true);
}

/** The options between `run` and the program: `uv run --with numpy train.py` -> ["--with", "numpy"]. */
function runnerFlags(words: string[]): string[] {
  const flags: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    if (!word.startsWith("-")) break;
    if (word === "--") break;
    flags.push(word);
    if (VALUE_FLAGS.has(word) && i + 1 < words.length) flags.push(words[++i] as string);
  }
  return flags;
}
