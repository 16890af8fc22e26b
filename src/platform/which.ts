import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { splitCommand } from "./command.js";

/** Finds a program on PATH (PATHEXT on Windows); null when absent. */
export function which(name: string, env: NodeJS.ProcessEnv = process.env, os: NodeJS.Platform = process.platform): string | null {
  const dirs = (env.PATH ?? env.Path ?? "").split(os === "win32" ? ";" : delimiter).filter(Boolean);
  const exts = os === "win32" ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT;.COM").split(";").map((e) => e.toLowerCase())] : [""];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      try {
        if (statSync(candidate).isFile()) {
          if (os !== "win32") accessSync(candidate, constants.X_OK);
          return candidate;
        }
      } catch {
        // not here
      }
    }
  }
  return null;
}

/** Shell words that are no program to look for (builtins, keywords): a command starting so is not checked. */
const SHELL_WORDS = new Set(["cd", "exec", "source", ".", "export", "set", "if", "for", "while", "until", "case", "{", "(", "!", "eval", "command", "builtin", "ulimit", "umask"]);

/**
 * The program an experiment command starts (its first word after `NAME=value` assignments) and
 * where it was found: on PATH, or, for a path, relative to `root` (where runs start). Null when
 * there is nothing to check (an empty command, or one that starts with a shell word).
 */
export function commandProgram(command: string, root: string, env: NodeJS.ProcessEnv = process.env, os: NodeJS.Platform = process.platform): { program: string; found: string | null } | null {
  const words = splitCommand(command);
  const program = words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word));
  if (program === undefined || SHELL_WORDS.has(program)) return null;
  if (!/[\\/]/.test(program)) return { program, found: which(program, env, os) };
  const path = isAbsolute(program) ? program : join(root, program);
  try {
    if (!statSync(path).isFile()) return { program, found: null };
    if (os !== "win32") accessSync(path, constants.X_OK);
    return { program, found: path };
  } catch {
    return { program, found: null };
  }
}
