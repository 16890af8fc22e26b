import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { readJsonLines } from "../../src/ledger/ledger.js";

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "ar-jsonl-")), "experiments.jsonl");
  writeFileSync(path, text);
  return path;
}

describe("experiments.jsonl reading", () => {
  it("cuts a torn last line (a crash mid-append) so the next append starts clean", () => {
    const path = file('{"id":0}\n{"id":1}\n{"id":2,"desc');
    expect(readJsonLines<{ id: number }>(path).map((r) => r.id)).toEqual([0, 1]);
    expect(readFileSync(path, "utf8")).toBe('{"id":0}\n{"id":1}\n');
  });

  it("refuses, and changes nothing, when a damaged line has records after it", () => {
    const text = '{"id":0}\nnot json\n{"id":2}\n';
    const path = file(text);
    expect(() => readJsonLines(path)).toThrow(RuntimeFailure);
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});
