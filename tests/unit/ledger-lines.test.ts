import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { Ledger } from "../../src/ledger/ledger.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { readRecordsReadOnly } from "../../src/ledger/read.js";

/** A session directory whose experiments.jsonl holds `text`. */
function session(text: string): { ledger: Ledger; path: string; paths: ReturnType<typeof legacyPaths> } {
  const root = mkdtempSync(join(tmpdir(), "ar-jsonl-"));
  const paths = legacyPaths(root);
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

describe("experiments.jsonl tampering", () => {
  it("an edit in place that keeps the size and sets the mtime back is found by content and undone", () => {
    const { ledger, path } = session("");
    ledger.load();
    const record = { id: 0, commit: "a".repeat(40), description: "x", memGb: null, status: "discard", reason: "regression", metric: 1.5 } as unknown as Parameters<Ledger["record"]>[0];
    ledger.record(record);
    const original = readFileSync(path, "utf8");
    const before = statSync(path, { bigint: true });
    // Remember the exact timestamps (to the nanosecond) on a reference file, as `touch -r` would.
    execFileSync("touch", ["-r", path, `${path}.ref`]);
    // Same length: "discard" -> "keep   " would break JSON; swap the reason's letters instead.
    const forged = original.replace('"status":"discard","reason":"regression"', '"status":"keep","reason":"regression___"');
    expect(forged.length).toBe(original.length);
    writeFileSync(path, forged);
    execFileSync("touch", ["-r", `${path}.ref`, path]);
    const after = statSync(path, { bigint: true });
    expect([after.size, after.mtimeNs, after.ino]).toEqual([before.size, before.mtimeNs, before.ino]);
    expect(ledger.restoreTampered()).toEqual([expect.stringMatching(/^modified .*experiments\.jsonl$/)]);
    expect(readFileSync(path, "utf8")).toBe(original);
    expect(ledger.restoreTampered()).toEqual([]);
  });
});
