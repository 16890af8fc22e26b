import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/, bottom-up: a module may import from its own layer and the layers below it,
 * never from one above. This list is the one place the order is written.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["types.ts", "errors.ts", "text.ts", "safe-fs.ts"],
  ["metric"],
  ["platform"],
  ["runner"],
  ["sandbox"],
  ["workspace"],
  ["config"],
  ["executors"],
  ["ledger"],
  ["proposers"],
  ["report"],
  ["search"],
  ["loop"],
  ["dashboard"],
  ["cli"],
  // The library entry point re-exports every layer.
  ["index.ts"],
];

interface Violation {
  file: string;
  imports: string;
  reason: string;
}

/** The layer of a path relative to src/: its top-level folder, or the file itself at the top. */
function layerOf(path: string): number {
  const top = path.split("/")[0] as string;
  return LAYERS.findIndex((layer) => layer.includes(top));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports (type-only ones too). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;}])(?:import|export)\s[^;]*?\sfrom\s*["'](\.[^"']+)["']/g)) found.push(m[1] as string);
  for (const m of text.matchAll(/import\s*\(\s*["'](\.[^"']+)["']\s*\)/g)) found.push(m[1] as string);
  for (const m of text.matchAll(/^import\s*["'](\.[^"']+)["']/gm)) found.push(m[1] as string);
  return found;
}

function layerViolations(srcDir: string): Violation[] {
  const out: Violation[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = relative(srcDir, file).split("\\").join("/");
    const own = layerOf(rel);
    if (own < 0) {
      out.push({ file: rel, imports: "", reason: "is in no layer: add its folder to LAYERS in tests/unit/layers.test.ts" });
      continue;
    }
    for (const spec of importsOf(readFileSync(file, "utf8"))) {
      const target = relative(srcDir, resolve(dirname(file), spec)).split("\\").join("/").replace(/\.js$/, ".ts");
      const theirs = layerOf(target);
      if (target.startsWith("..")) out.push({ file: rel, imports: spec, reason: "imports from outside src/" });
      else if (theirs > own) out.push({ file: rel, imports: spec, reason: `layer ${LAYERS[own]?.join("|")} imports from the higher layer ${LAYERS[theirs]?.join("|")}` });
    }
  }
  return out;
}

describe("layering of src/", () => {
  it("no module imports from a layer above its own", () => {
    const violations = layerViolations(join(import.meta.dirname, "../../src"));
    expect(violations.map((v) => `${v.file} -> ${v.imports}: ${v.reason}`)).toEqual([]);
  });

  it("the check finds upward imports of every form, and files outside every layer", () => {
    const src = mkdtempSync(join(tmpdir(), "ar-layers-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), text);
    };
    write("types.ts", "export type X = 1;\n");
    write("loop/state.ts", 'import type { X } from "../types.js";\nexport const s = 1;\n');
    write("report/ok.ts", 'import { a } from "./same.js";\nimport type { X } from "../types.js";\n');
    write("report/static.ts", 'import {\n  s,\n} from "../loop/state.js";\n');
    write("report/type-only.ts", 'import type { LoopDeps } from "../loop/state.js";\n');
    write("report/reexport.ts", 'export { s } from "../loop/state.js";\n');
    write("report/dynamic.ts", 'const m = await import("../loop/state.js");\n');
    write("newlayer/thing.ts", "export const t = 1;\n");
    const found = layerViolations(src).map((v) => `${v.file} -> ${v.imports}`);
    expect(found.sort()).toEqual(
      ["newlayer/thing.ts -> ", "report/dynamic.ts -> ../loop/state.js", "report/reexport.ts -> ../loop/state.js", "report/static.ts -> ../loop/state.js", "report/type-only.ts -> ../loop/state.js"].sort(),
    );
  });
});
