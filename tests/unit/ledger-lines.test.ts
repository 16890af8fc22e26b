import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { Ledger } from "../../src/ledger/ledger.js";
import { sessionPaths } from "../../src/ledger/paths.js";
import { readRecordsReadOnly } from "../../src/ledger/read.js";

/** A session directory whose experiments.jsonl holds `text`. */
function session(text: string): { ledger: Ledger; path: string; paths: ReturnType<typeof sessionPaths> } {
  const root = mkdtempSync(join(tmpdir(), "ar-jsonl-"));
  const paths = sessionPaths(root);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.experiments, text);
  return { ledger: new Ledger(paths, join(root, "results.tsv"), "val_loss"), path: paths.experiments, paths };
}

describe("experiments.jsonl reading", () => {
  it("the loop's ledger cuts a torn last line (a crash mid-append) so the next append starts clean", () => {
    const { ledger, path } = session('{"id":0}\n{"id":1}\n{"id":2,"desc');
    expect(ledger.experiments().map((r) => r.id)).toEqual([0, 1]);
    expect(readFileSync(path, "utf8")).toBe('{"id":0}\n{"id":1}\n');
  });

  it("the loop's ledger refuses, and changes nothing, when a damaged line has records after it", () => {
    const text = '{"id":0}\nnot json\n{"id":2}\n';
    const { ledger, path } = session(text);
    expect(() => ledger.experiments()).toThrow(RuntimeFailure);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  it("a reader in another process skips a line still being written and never cuts it", () => {
    const text = '{"id":0}\n{"id":1}\n{"id":2,"desc';
    const { path, paths } = session(text);
    expect(readRecordsReadOnly(paths).map((r) => r.id)).toEqual([0, 1]);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
