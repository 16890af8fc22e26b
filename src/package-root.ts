/**
 * Where this package's own files are (package.json, dist/, examples/, schema/), in one place.
 * The code runs from three places at different depths: src/ (a test runner running the sources),
 * dist/ (tsc's output, the library) and dist/cli-bundle/ (the CLI, bundled by
 * scripts/build-cli.mjs); so the root is found by going up from this module to the first
 * directory with a package.json, not by a fixed number of `..`.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Whether this is the TypeScript sources run by a test runner, not the built code. */
export const FROM_SOURCES = import.meta.url.endsWith(".ts");

let root: string | null = null;

/** The package's root directory (the one holding its package.json). */
export function packageRoot(): string {
  if (root === null) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, "package.json"))) {
      const up = dirname(dir);
      if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
    root = dir;
  }
  return root;
}

/** A path inside the package: `packagePath("schema", "x.json")`. */
export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
