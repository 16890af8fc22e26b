import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const BUNDLE = fileURLToPath(new URL("../../dist/cli-bundle/", import.meta.url));

/** The parts of an (unminified) esbuild chunk, by the file each came from (`// dist/x.js` above each). */
function partsOf(text: string): { from: string; text: string }[] {
  const parts: { from: string; text: string }[] = [{ from: "(chunk)", text: "" }];
  for (const line of text.split("\n")) {
    const marker = /^\/\/ (\S+\.[cm]?js)$/.exec(line);
    if (marker) parts.push({ from: marker[1] as string, text: "" });
    else (parts.at(-1) as { text: string }).text += `${line}\n`;
  }
  return parts;
}

/**
 * The CLI runs from its bundle (dist/cli-bundle, built by `npm run build`): a path relative to
 * the module that computes it would point elsewhere there than from dist/ or src/. The package's
 * own files are found in one place, src/package-root.ts; the other `import.meta.url` is the
 * `require` that the bundled CommonJS packages need (scripts/build-cli.mjs).
 */
describe("the CLI's bundle", () => {
  const chunks = readdirSync(BUNDLE).filter((name) => name.endsWith(".js"));

  it("is there, with its two entries", () => {
    expect(chunks).toContain("early-start.js");
    expect(chunks).toContain("main.js");
  });

  it("computes no path from import.meta.url but in src/package-root.ts (and the require of the bundled CommonJS packages)", () => {
    const users = new Set<string>();
    for (const chunk of chunks) {
      const text = readFileSync(join(BUNDLE, chunk), "utf8");
      for (const part of partsOf(text)) {
        if (!part.text.includes("import.meta")) continue;
        const shim = part.from === "(chunk)" && part.text.startsWith('import{createRequire as __createRequire}from"node:module";const require=__createRequire(import.meta.url);');
        users.add(shim ? "(require shim)" : part.from);
      }
    }
    expect([...users].sort()).toEqual(["(require shim)", "dist/package-root.js"]);
  });
});
