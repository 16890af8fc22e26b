import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Dependency files the spec forbids touching; hashed at setup and checked after every run. */
const DEPENDENCY_FILE = /^(pyproject\.toml|uv\.lock|poetry\.lock|Pipfile(\.lock)?|requirements.*\.txt|setup\.(py|cfg)|environment\.ya?ml|package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.(toml|lock))$/;

export function sha256(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}

export function hashFile(path: string): string | null {
  return existsSync(path) ? sha256(readFileSync(path)) : null;
}

/** The read-only scripts plus every dependency file at the repo's top level. */
export function guardedFiles(root: string, readonly: string[]): string[] {
  const deps = readdirSync(root).filter((name) => DEPENDENCY_FILE.test(name));
  return [...new Set([...readonly, ...deps])];
}

export function hashGuarded(root: string, files: string[]): Record<string, string | null> {
  return Object.fromEntries(files.map((file) => [file, hashFile(join(root, file))]));
}
