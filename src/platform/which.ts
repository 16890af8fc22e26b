import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

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
