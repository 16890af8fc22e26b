import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { EXECUTORS } from "../../src/config/options.js";
import { EXECUTOR_DESCRIPTORS, findExecutor, handleView, kindOf } from "../../src/executors/registry.js";

/**
 * Each executor describes itself (src/executors/<kind>/describe.ts) and the rest of the tool asks
 * the registry: no file outside src/executors/ decides anything by comparing an executor's kind
 * to its name. The option table's list of names (src/config/options.ts) is the one exception.
 */
const ALLOWED = [/^executors\//, /^config\/options\.ts$/];

const NAMES = EXECUTORS.join("|");
const Q = "[\"'`]";
/** `=== "ssh"`, `"ssh" !==`, `case "ssh":`, `.includes("ssh")`, `["slurm", "ssh"].includes(` / `.indexOf(`. */
const FORMS: readonly RegExp[] = [
  new RegExp(`[!=]==?\\s*${Q}(${NAMES})${Q}`),
  new RegExp(`${Q}(${NAMES})${Q}\\s*[!=]==?`),
  new RegExp(`\\bcase\\s+${Q}(${NAMES})${Q}\\s*:`),
  new RegExp(`\\.(includes|indexOf|has)\\(\\s*${Q}(${NAMES})${Q}`),
  new RegExp(`\\[[^\\]]*${Q}(${NAMES})${Q}[^\\]]*\\]\\s*\\.(includes|indexOf|some)\\(`),
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx|js|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** `file:line: text` for every comparison of an executor kind by name outside the allowed files. */
function kindComparisons(srcDir: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = relative(srcDir, file).split("\\").join("/");
    if (ALLOWED.some((a) => a.test(rel))) continue;
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        const code = line.trim();
        // Comments may name executors (they explain); code may not decide by the name.
        if (code.startsWith("//") || code.startsWith("*") || code.startsWith("/*")) return;
        if (FORMS.some((form) => form.test(code))) found.push(`${rel}:${i + 1}: ${code}`);
      });
  }
  return found;
}

describe("executors are asked, not named", () => {
  it("no file outside src/executors/ compares an executor's kind by name", () => {
    const found = kindComparisons(join(import.meta.dirname, "../../src"));
    expect(found, "ask src/executors/registry.ts (the executor's descriptor) instead").toEqual([]);
  });

  it("the scan catches each form of comparison, and leaves the allowed files and comments alone", () => {
    const src = mkdtempSync(join(tmpdir(), "ar-names-"));
    mkdirSync(join(src, "search"));
    mkdirSync(join(src, "executors", "ssh"), { recursive: true });
    mkdirSync(join(src, "config"));
    const bad = [
      'if (kind === "slurm") emit();',
      "if (kind !== 'ssh') return;",
      'const remote = "local" != kind;',
      "const same = `ssh` == kind;",
      'case "slurm":',
      'if (names.includes("ssh")) x();',
      'if (["slurm", "ssh"].includes(kind)) x();',
      'const i = ["local"].indexOf(kind);',
    ];
    writeFileSync(join(src, "search", "bad.ts"), `${bad.join("\n")}\n`);
    writeFileSync(join(src, "search", "fine.ts"), ['// when kind === "slurm" the descriptor says so', ' * case "ssh": explained', 'const help = "local, slurm or ssh";', 'if (platform === "cuda") x();'].join("\n"));
    writeFileSync(join(src, "executors", "ssh", "describe.ts"), 'if (kind === "ssh") x();\n');
    writeFileSync(join(src, "config", "options.ts"), 'const isLocal = (k: string) => k === "local";\n');
    expect(kindComparisons(src)).toEqual(bad.map((line, i) => `search/bad.ts:${i + 1}: ${line}`));
  });
});

describe("the registry", () => {
  it("has one descriptor per name of the option table, in its order", () => {
    expect(EXECUTOR_DESCRIPTORS.map((d) => d.kind)).toEqual([...EXECUTORS]);
  });

  it("a descriptor's kind and reattachable say what its executor's instances say", () => {
    for (const d of EXECUTOR_DESCRIPTORS) {
      // Built without side effects (no process, no connection) from a minimal config.
      const instance = d.create({ tag: "t", executor: d.kind } as never, { root: "/tmp/x", env: {} });
      expect(kindOf(instance), d.kind).toBe(d.kind);
      expect(instance.reattachable === true, d.kind).toBe(d.reattachable);
    }
  });

  it("shows a run by its handle as its executor says; a kind it does not know shows its id and never queues", () => {
    expect(handleView({ kind: "slurm", id: "42" })).toEqual({ job: "42", queues: true });
    expect(handleView({ kind: "ssh", id: "r1", host: "gpu1" })).toEqual({ job: "r1", queues: false });
    expect(handleView({ kind: "local", id: "r2" })).toEqual({ job: null, queues: false });
    expect(handleView({ kind: "k8s", id: "ns/job" })).toEqual({ job: "ns/job", queues: false });
    expect(findExecutor(undefined)?.kind).toBe("local");
    expect(findExecutor("k8s")).toBeUndefined();
  });
});
