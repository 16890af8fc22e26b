import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { calibrate, describeCalibration } from "../../src/ledger/calibration.js";
import { addUserNote, appendMemory, memoryMarkdown, memoryView, proposalMemory, readMemory } from "../../src/ledger/memory.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import type { MemoryEntry } from "../../src/types.js";

const AT = "2025-01-01T00:00:00.000Z";

function session(): ReturnType<typeof legacyPaths> {
  const root = mkdtempSync(join(tmpdir(), "ar-memory-"));
  const paths = legacyPaths(root);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.session, "{}\n");
  return paths;
}

describe("research notes (memory.jsonl)", () => {
  it("lives beside the other records, found through the session paths", () => {
    const paths = legacyPaths("/repo");
    expect(paths.memory).toBe(join(paths.dir, "memory.jsonl"));
  });

  it("turns a proposal's learned line into a finding or a dead end about the previous experiment, and keeps its ideas", () => {
    const kept = proposalMemory({ learned: "  wider\nhelps ", ideas: ["a", " ", "b"] }, { id: 4, kept: true }, 5, AT);
    expect(kept).toEqual([
      { at: AT, kind: "finding", text: "wider helps", source: "model", experiment: 4 },
      { at: AT, kind: "idea", text: "a", source: "model", experiment: 5 },
      { at: AT, kind: "idea", text: "b", source: "model", experiment: 5 },
    ]);
    expect(proposalMemory({ learned: "deeper is too slow" }, { id: 4, kept: false }, 5, AT)[0]?.kind).toBe("dead-end");
    expect(proposalMemory({}, { id: 4, kept: true }, 5, AT)).toEqual([]);
  });

  it("appends and reads back; a torn line (crash mid-write) is skipped and the notes after it still count", () => {
    const paths = session();
    appendMemory(paths.memory, [{ at: AT, kind: "idea", text: "one", source: "model" }]);
    appendFileSync(paths.memory, '{"at":"x","kind":"idea","te');
    expect(readMemory(paths.memory).map((e) => e.text)).toEqual(["one"]);
    appendMemory(paths.memory, [{ at: AT, kind: "finding", text: "two\twith\ncontrol", source: "user" }]);
    const lines = readFileSync(paths.memory, "utf8").split("\n");
    expect(lines[2]).toContain('"text":"two with control"');
    // The torn line stays (a reader never cuts: the loop or `note` may be appending) and is skipped.
    expect(readMemory(paths.memory).map((e) => e.text)).toEqual(["one", "two with control"]);
  });

  it("ignores lines that are not notes", () => {
    const paths = session();
    writeFileSync(paths.memory, `${JSON.stringify({ kind: "idea", text: "ok", source: "user", at: AT })}\n${JSON.stringify({ kind: "other", text: "no" })}\n`);
    expect(readMemory(paths.memory).map((e) => e.text)).toEqual(["ok"]);
    expect(readMemory(join(paths.dir, "absent.jsonl"))).toEqual([]);
  });

  it("bounds the view: latest findings and dead ends, distinct ideas, the user's first", () => {
    const entries: MemoryEntry[] = [];
    for (let i = 0; i < 30; i++) entries.push({ at: AT, kind: "finding", text: `f${i}`, source: "model", experiment: i });
    entries.push({ at: AT, kind: "idea", text: "Try RoPE!", source: "model" }, { at: AT, kind: "idea", text: "try rope", source: "model" });
    entries.push({ at: AT, kind: "idea", text: "user one", source: "user" });
    const view = memoryView(entries, 1);
    expect(view.findings.map((e) => e.text)).toEqual(Array.from({ length: 12 }, (_, i) => `f${18 + i}`));
    expect(view.ideas.map((e) => e.text)).toEqual(["user one", "try rope"]);
    expect(view.backlog).toBe(2);
    const md = memoryMarkdown(view).join("\n");
    expect(md).toContain("**Findings:**\n\n- #18: f18");
    expect(md).toContain("**Ideas backlog:**\n\n- [user] user one\n- try rope");
    expect(memoryMarkdown(memoryView([], 1))).toEqual([]);
  });

  it("addUserNote writes the user's note, and refuses without a session or text (writing nothing)", () => {
    const paths = session();
    const entry = addUserNote(paths, "  try rotary\nembeddings ", "idea", new Date(AT));
    expect(entry).toEqual({ at: AT, kind: "idea", text: "try rotary embeddings", source: "user" });
    expect(readMemory(paths.memory)).toEqual([entry]);
    expect(() => addUserNote(paths, " \n ", "idea", new Date(AT))).toThrow(UsageError);
    const none = legacyPaths(mkdtempSync(join(tmpdir(), "ar-nosession-")));
    expect(() => addUserNote(none, "x", "finding", new Date(AT))).toThrow(/no autoresearch session/);
    expect(existsSync(none.memory)).toBe(false);
  });
});

describe("prediction calibration", () => {
  it("scores direction, error and lean for min and max metrics; crashes count as predicted, not scored", () => {
    const samples = [
      { expectedDelta: -0.1, metric: 0.9, bestBefore: 1.0 }, // right, exact
      { expectedDelta: -0.1, metric: 1.1, bestBefore: 1.0 }, // wrong, error 0.2, optimistic 0.2
      { expectedDelta: -0.1, metric: null, bestBefore: 1.0 }, // crashed
      { metric: 0.8, bestBefore: 0.9 }, // no prediction
    ];
    const c = calibrate(samples, "min");
    expect(c).toEqual({ predicted: 3, scored: 2, rightWay: 1, meanAbsError: expect.closeTo(0.1, 10), optimism: expect.closeTo(0.1, 10) });
    expect(describeCalibration(c!)).toBe("3 predictions (1 of those runs crashed): the right way (better or not) 1 of 2 times; mean error 0.1; optimistic by 0.1 on average.");
    const max = calibrate([{ expectedDelta: 0.1, metric: 0.5, bestBefore: 0.2 }], "max");
    expect(describeCalibration(max!)).toBe("1 prediction: the right way (better or not) 1 of 1 times; mean error 0.2; pessimistic by 0.2 on average.");
    expect(calibrate([{ metric: 1, bestBefore: 1 }], "min")).toBeNull();
    expect(describeCalibration(calibrate([{ expectedDelta: 1, metric: null, bestBefore: 1 }], "min")!)).toBe("1 prediction (1 of those runs crashed); none could be scored yet.");
  });
});
