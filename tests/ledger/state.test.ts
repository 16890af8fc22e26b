import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type InFlight, Ledger } from "../../src/ledger/ledger.js";
import { recordsPaths } from "../../src/ledger/paths.js";
import { parseInFlight, readInFlightReadOnly } from "../../src/ledger/read.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function ledgerIn(): Ledger {
  const dir = mkdtempSync(join(tmpdir(), "ar-state-"));
  dirs.push(dir);
  const ledger = new Ledger(recordsPaths(dir, dir), join(dir, "results.tsv"), "val_loss");
  ledger.ensureDirs();
  return ledger;
}

const entry = (id: number, extra: Partial<InFlight> = {}): InFlight => ({ id, phase: "running", parent: "p", startedAt: "t", ...extra });

describe("state.json: every experiment in flight", () => {
  it("is written as {runs: [...]}, one entry per id, replaced by id and removed when recorded", () => {
    const ledger = ledgerIn();
    ledger.writeInFlight(entry(3, { worker: 1, device: "1", runId: "r3" }));
    ledger.writeInFlight(entry(2, { worker: 0, device: "0" }));
    ledger.writeInFlight(entry(3, { worker: 1, device: "1", runId: "r3", handle: { kind: "slurm", id: "42" } }));
    const onDisk = JSON.parse(readFileSync(ledger.paths.state, "utf8"));
    expect(onDisk.runs.map((e: InFlight) => e.id)).toEqual([2, 3]);
    expect(onDisk.runs[1].handle).toEqual({ kind: "slurm", id: "42" });
    expect(readInFlightReadOnly(ledger.paths).map((e) => e.id)).toEqual([2, 3]);
    ledger.removeInFlight(2);
    expect(ledger.readInFlight().map((e) => e.id)).toEqual([3]);
    ledger.clearInFlight();
    expect(readInFlightReadOnly(ledger.paths)).toEqual([]);
  });

  it("reads the one-object format of older sessions, `null`, and a torn file as what they are", () => {
    const ledger = ledgerIn();
    writeFileSync(ledger.paths.state, JSON.stringify(entry(5, { phase: "proposed" })));
    expect(readInFlightReadOnly(ledger.paths)).toEqual([entry(5, { phase: "proposed" })]);
    expect(ledger.readInFlight().map((e) => e.id)).toEqual([5]);
    expect(parseInFlight("null\n")).toEqual([]);
    expect(parseInFlight('{"runs": [{"id": 1, "pha')).toEqual([]);
    expect(parseInFlight('{"runs": [{"nope": 1}, {"id": 4, "phase": "ready", "parent": "p", "startedAt": "t"}]}').map((e) => e.id)).toEqual([4]);
  });
});
