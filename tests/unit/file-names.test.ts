import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_FILE, DEFAULT_RESULTS_FILE, PROGRESS_FILE, REPORT_FILES, TOOL_FILES } from "../../src/file-names.js";

/**
 * The names of the files the tool writes are spelled once, in src/file-names.ts: a second
 * spelling drifts (the results-file check, the git exclusions and the setting-aside of an earlier
 * session's files once each had their own list). Prose in help texts may name a file; a string
 * literal that is exactly a file name is a definition, and belongs in the one module.
 */
const NAMES = [...new Set([...TOOL_FILES, DEFAULT_RESULTS_FILE])];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The text with comments blanked out (line numbers kept), so a comment may name a file. */
function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .split("\n")
    .map((line) => line.replace(/(^|\s)\/\/.*$/, "$1"))
    .join("\n");
}

/** `file:line: name` for every string literal that is exactly one of the names, outside src/file-names.ts. */
function spelledOutside(srcDir: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = relative(srcDir, file).split("\\").join("/");
    if (rel === "file-names.ts") continue;
    withoutComments(readFileSync(file, "utf8"))
      .split("\n")
      .forEach((line, i) => {
        for (const name of NAMES) {
          for (const quote of ['"', "'", "`"]) if (line.includes(`${quote}${name}${quote}`)) found.push(`${rel}:${i + 1}: ${name}`);
        }
      });
  }
  return found;
}

describe("file names", () => {
  it("each name the tool writes is spelled only in src/file-names.ts", () => {
    expect(spelledOutside(join(import.meta.dirname, "../../src"))).toEqual([]);
  });

  it("the check finds a name in any quotes, and lets comments and prose name files", () => {
    const src = mkdtempSync(join(tmpdir(), "ar-names-"));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(src, path)), { recursive: true });
      writeFileSync(join(src, path), text);
    };
    write("file-names.ts", `export const CONFIG_FILE = "${CONFIG_FILE}";\n`);
    write("a/double.ts", `export const f = "${REPORT_FILES[0]}";\n`);
    write("a/single.ts", `const x = 1;\nconst files = ['${DEFAULT_RESULTS_FILE}'];\n`);
    write("b/template.ts", `const p = join(dir, \`${PROGRESS_FILE}\`);\n`);
    write("b/comment.ts", `// writes ${CONFIG_FILE}\n/** "${CONFIG_FILE}" in a doc comment */\nconst url = "https://x"; // "${CONFIG_FILE}"\n`);
    write("b/prose.ts", `const help = "write ${REPORT_FILES[0]} and the chart";\n`);
    expect(spelledOutside(src).sort()).toEqual([`a/double.ts:1: ${REPORT_FILES[0]}`, `a/single.ts:2: ${DEFAULT_RESULTS_FILE}`, `b/template.ts:1: ${PROGRESS_FILE}`].sort());
  });

  it("a results file may be none of the files the tool writes itself", () => {
    expect(TOOL_FILES).toEqual(expect.arrayContaining([...REPORT_FILES, CONFIG_FILE, PROGRESS_FILE]));
    expect(TOOL_FILES).not.toContain(DEFAULT_RESULTS_FILE);
  });
});
