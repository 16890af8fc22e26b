import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The layers of src/, bottom-up: a module may import from its own layer and the layers below it,
 * never from one above. This list is the one place the order is written.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["types.ts", "errors.ts", "text.ts", "safe-fs.ts", "file-names.ts", "package-root.ts"],
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

/** The graph of relative imports (type-only ones too) between the files of src/, by path relative to src/. */
function importGraph(srcDir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(srcDir)) {
    const rel = relative(srcDir, file).split("\\").join("/");
    const targets = importsOf(readFileSync(file, "utf8")).map((spec) => relative(srcDir, resolve(dirname(file), spec)).split("\\").join("/").replace(/\.js$/, ".ts"));
    graph.set(rel, [...new Set(targets)].sort());
  }
  return graph;
}

/**
 * Every import circle, one per strongly connected group of files (Tarjan), each written as one
 * path around it from its first file in sort order, so the failure names the edge to cut.
 */
function importCircles(srcDir: string): string[] {
  const graph = importGraph(srcDir);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      const selfLoop = (graph.get(v) ?? []).includes(v);
      if (group.length > 1 || selfLoop) groups.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return groups.map((group) => {
    // One circle through the group's first file: a shortest way back to it inside the group.
    const members = new Set(group);
    const start = group[0] as string;
    const previous = new Map<string, string>();
    const queue = [start];
    let end: string | null = null;
    while (queue.length > 0 && end === null) {
      const v = queue.shift() as string;
      for (const w of graph.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          end = v;
          break;
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = end; v !== null && v !== start; v = previous.get(v) ?? null) path.splice(1, 0, v);
    return `${[...path, start].join(" -> ")}${group.length > path.length ? ` (${group.length} files in the circle: ${group.join(", ")})` : ""}`;
  });
}

describe("layering of src/", () => {
  it("no module imports from a layer above its own", () => {
    const violations = layerViolations(join(import.meta.dirname, "../../src"));
    expect(violations.map((v) => `${v.file} -> ${v.imports}: ${v.reason}`)).toEqual([]);
  });

  it("no import circle, type-only imports included", () => {
    expect(importCircles(join(import.meta.dirname, "../../src"))).toEqual([]);
  });

  it("the circle check finds a type-only circle and a longer one, and passes a tree without", () => {
    const src = mkdtempSync(join(tmpdir(), "ar-circles-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), text);
    };
    write("ledger/ledger.ts", 'import { read } from "./read.js";\nexport interface Info { a: 1 }\n');
    write("ledger/read.ts", 'import type { Info } from "./ledger.js";\nexport const read = 1;\n');
    write("search/a.ts", 'import { b } from "./b.js";\n');
    write("search/b.ts", 'export { c as b } from "./c.js";\n');
    write("search/c.ts", 'const m = await import("./a.js");\n');
    write("search/d.ts", 'import { b } from "./b.js";\nimport type { Info } from "../ledger/ledger.js";\n');
    expect(importCircles(src)).toEqual(["ledger/ledger.ts -> ledger/read.ts -> ledger/ledger.ts", "search/a.ts -> search/b.ts -> search/c.ts -> search/a.ts"]);
    const clean = mkdtempSync(join(tmpdir(), "ar-circles-"));
    mkdirSync(join(clean, "ledger"));
    writeFileSync(join(clean, "ledger/ledger.ts"), 'import type { Info } from "./info.js";\n');
    writeFileSync(join(clean, "ledger/info.ts"), "export interface Info { a: 1 }\n");
    expect(importCircles(clean)).toEqual([]);
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

  it("README's layer list names the layers in this order", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const listed = [...readme.matchAll(/^- `src\/([a-z-]+)`/gm)].map((m) => m[1] as string);
    const folders = LAYERS.flat().filter((name) => !name.endsWith(".ts"));
    expect(listed).toEqual(folders);
  });
});
