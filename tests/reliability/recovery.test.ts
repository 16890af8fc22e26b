import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type InFlight, Ledger, toResultsRow } from "../../src/ledger/ledger.js";
import { sessionPaths } from "../../src/ledger/paths.js";
import { commitFile } from "../../src/workspace/commit.js";
import { Git } from "../../src/workspace/git.js";
import { formatRow, resultsHeader } from "../../src/ledger/results-tsv.js";
import type { SessionEvent } from "../../src/ledger/events.js";
import { research } from "../../src/loop/research.js";
import { adjustmentsFor } from "../../src/platform/index.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { RUN_ID_ENV } from "../../src/runner/index.js";
import type { ExperimentRecord, PlatformInfo, Proposal } from "../../src/types.js";
import { FAKE_TRAIN, fakeProject, git } from "../helpers/repo.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { checkInvariants, hashes, processesWithEnv, readJsonl, waitGone } from "./helpers.js";

const CPU: PlatformInfo = { kind: "cpu", label: "CPU", device: "cpu", os: "linux", detail: "test", source: "test", adjustments: adjustmentsFor("cpu") };

const LR_UP: Proposal = { description: "LEARNING_RATE 0.01 -> 0.02", category: "optimizer", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }], planStep: 0 };

function record(id: number, over: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    id,
    commit: `${String(id).padStart(2, "0")}${"a".repeat(38)}`,
    parent: "a".repeat(40),
    trainHash: `h${id}`,
    description: id === 0 ? "Baseline — no modifications" : `exp ${id}`,
    category: id === 0 ? "baseline" : "other",
    status: "keep",
    reason: id === 0 ? "baseline" : "improved",
    metric: 1 - id / 100,
    memGb: 1,
    params: null,
    bestBefore: null,
    startedAt: "2026-01-01T00:00:00Z",
    finishedAt: "2026-01-01T00:00:01Z",
    durationSec: 1,
    proposer: "test",
    lines: 3,
    ...over,
  };
}

function ledgerIn(): { ledger: Ledger; dir: string; results: string } {
  const root = fakeProject();
  const paths = sessionPaths(root, "t1");
  mkdirSync(paths.dir, { recursive: true });
  const results = join(root, "results.tsv");
  return { ledger: new Ledger(paths, results, "val_loss"), dir: paths.dir, results };
}

const expectedTsv = (records: ExperimentRecord[]) => resultsHeader("val_loss") + records.map((e) => formatRow(toResultsRow(e))).join("");

describe("the ledger after a crash at any byte", () => {
  it("cuts a torn experiments.jsonl line and appends after it cleanly", () => {
    const { ledger, dir } = ledgerIn();
    ledger.record(record(0));
    writeFileSync(join(dir, "experiments.jsonl"), `${readFileSync(join(dir, "experiments.jsonl"), "utf8")}{"id":1,"comm`);
    const fresh = new Ledger(ledger.paths, ledger.resultsPath, "val_loss");
    expect(fresh.experiments().map((e) => e.id)).toEqual([0]);
    fresh.record(record(1));
    expect(readFileSync(join(dir, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).id)).toEqual([0, 1]);
  });

  const damage: { name: string; apply: (tsv: string, path: string) => void }[] = [
    { name: "a torn last row", apply: (tsv, path) => writeFileSync(path, tsv.slice(0, -9)) },
    { name: "a missing last row", apply: (tsv, path) => writeFileSync(path, tsv.slice(0, tsv.lastIndexOf("\n", tsv.length - 2) + 1)) },
    { name: "only half a header", apply: (_tsv, path) => writeFileSync(path, "commit\tval_") },
    { name: "an empty file", apply: (_tsv, path) => writeFileSync(path, "") },
    { name: "no file", apply: (_tsv, path) => unlinkSync(path) },
    { name: "a forged row", apply: (tsv, path) => writeFileSync(path, `${tsv}deadbee\t0.1\t0.0\tkeep\tforged\n`) },
  ];
  for (const d of damage) {
    it(`reconcile rebuilds results.tsv from experiments.jsonl after ${d.name}`, () => {
      const { ledger, results } = ledgerIn();
      const records = [record(0), record(1, { status: "discard", reason: "regression", detail: "regression" }), record(2, { status: "crash", reason: "oom", detail: "OOM: x" })];
      for (const r of records) ledger.record(r);
      const good = readFileSync(results, "utf8");
      expect(good).toBe(expectedTsv(records));
      d.apply(good, results);
      const fresh = new Ledger(ledger.paths, ledger.resultsPath, "val_loss");
      fresh.reconcile();
      expect(readFileSync(results, "utf8")).toBe(good);
      fresh.record(record(3));
      expect(readFileSync(results, "utf8")).toBe(expectedTsv([...records, record(3)]));
    });
  }

  it("puts back session files a run changed, from memory", () => {
    const { ledger, dir, results } = ledgerIn();
    ledger.writeSession({ tag: "t" } as never);
    ledger.record(record(0));
    ledger.recordRejected({ iteration: 1, description: "x", reason: "y", at: "now" });
    const before = ["experiments.jsonl", "rejected.jsonl", "session.json"].map((f) => readFileSync(join(dir, f), "utf8"));
    const tsv = readFileSync(results, "utf8");
    writeFileSync(join(dir, "experiments.jsonl"), "");
    writeFileSync(join(dir, "rejected.jsonl"), '{"forged":true}\n');
    writeFileSync(join(dir, "session.json"), "{}");
    writeFileSync(results, "garbage");
    expect(ledger.restoreTampered()).toEqual(["modified experiments.jsonl", "modified rejected.jsonl", "modified session.json", "modified results.tsv"]);
    expect(["experiments.jsonl", "rejected.jsonl", "session.json"].map((f) => readFileSync(join(dir, f), "utf8"))).toEqual(before);
    expect(readFileSync(results, "utf8")).toBe(tsv);
    expect(ledger.restoreTampered()).toEqual([]);
  });

  // (The test above: a ledger that never made the folders does not call them deleted.)
  it("re-creates the records' folders a run deleted, refilled from memory, and says so", () => {
    const { ledger, dir, results } = ledgerIn();
    ledger.ensureDirs();
    ledger.writeSession({ tag: "t" } as never);
    ledger.record(record(0));
    const before = ["experiments.jsonl", "session.json"].map((f) => readFileSync(join(dir, f), "utf8"));
    const tsv = readFileSync(results, "utf8");
    rmSync(dir, { recursive: true, force: true });
    expect(ledger.restoreTampered()).toEqual(["deleted the session's records", "deleted runs/", "deleted patches/", "modified experiments.jsonl", "modified session.json"]);
    expect(["experiments.jsonl", "session.json"].map((f) => readFileSync(join(dir, f), "utf8"))).toEqual(before);
    expect(readFileSync(join(dir, "runs", "0.log"), "utf8")).toMatch(/deleted by a run/);
    expect(readFileSync(results, "utf8")).toBe(tsv);
    expect(ledger.restoreTampered()).toEqual([]);
  });

  it("removes temp files of writes cut short by a kill, not a live process's own", () => {
    const { ledger, dir, results } = ledgerIn();
    writeFileSync(`${results}.999999.tmp`, "x");
    writeFileSync(join(dir, "state.json.424242.tmp"), "x");
    writeFileSync(`${results}.${process.pid}.tmp`, "mine");
    expect(ledger.removeStaleTemps().sort()).toEqual(["results.tsv.999999.tmp", "state.json.424242.tmp"]);
    expect(existsSync(`${results}.${process.pid}.tmp`)).toBe(true);
  });
});

/** A session with its baseline recorded, ready to be "killed" at a chosen point by crafting what a kill leaves. */
async function sessionWithBaseline(steps: Proposal[] = [LR_UP], maxIterations = 0) {
  const root = fakeProject({ "package.json": '{ "name": "p" }\n' });
  const base = git(root, "rev-parse", "HEAD");
  const guarded = hashes(root, ["prepare.js", "package.json"]);
  await research(root, { kind: "new", config: testConfig({ maxIterations }), platform: CPU }, testDeps(root, new PlanProposer(steps)));
  const paths = sessionPaths(root, "t1");
  const baseline = readJsonl<ExperimentRecord>(paths.experiments)[0] as ExperimentRecord;
  return { root, base, guarded, paths, baseline };
}

async function resume(root: string, steps: Proposal[] = [LR_UP], maxIterations = 1): Promise<SessionEvent[]> {
  const events: SessionEvent[] = [];
  await research(root, { kind: "resume", overrides: { maxIterations } }, testDeps(root, new PlanProposer(steps), events));
  return events;
}

const warnings = (events: SessionEvent[]) => events.flatMap((e) => (e.type === "warning" ? [e.message] : []));

describe("resume after a kill at each point of an experiment", () => {
  it("killed after writing the script, before the commit: runs the exact in-flight script once, keeping its OOM link", async () => {
    const { root, base, guarded, paths, baseline } = await sessionWithBaseline();
    const newText = FAKE_TRAIN.replace("const WIDTH = 16;", "const WIDTH = 32;");
    const state: InFlight = { id: 1, phase: "proposed", parent: baseline.commit, proposal: { ...LR_UP, description: "WIDTH retry" }, newText, oomRetryOf: 0, runId: randomUUID(), startedAt: "x" };
    writeFileSync(paths.state, JSON.stringify(state));
    const events = await resume(root);
    expect(warnings(events)).toContain("experiment 1 was interrupted; running it again");
    const records = checkInvariants(root, { base, tag: "t1", guarded });
    expect(records.map((r) => [r.id, r.description, r.oomRetryOf])).toEqual([
      [0, "Baseline — no modifications", undefined],
      [1, "WIDTH retry", 0],
    ]);
    expect(git(root, "show", `${records[1]?.commit}:train.js`)).toBe(newText.trim());
  });

  it("killed after the commit, during the run: the branch goes back to the best commit and the experiment runs again", async () => {
    const { root, base, guarded, paths, baseline } = await sessionWithBaseline();
    const newText = FAKE_TRAIN.replace("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;");
    // The experiment's commit as the loop makes it (in the repo, not the checkout), and the clone mid-run.
    const ident = `${git(root, "var", "GIT_COMMITTER_IDENT")}`;
    const orphanCommit = await commitFile(new Git(root), { parent: baseline.commit, path: "train.js", mode: "100644", text: newText, message: "exp: LR up", ref: "refs/autoresearch/t1/1", ident });
    const runId = randomUUID();
    // What is left of the run: a process carrying its marker, in its own session (as a daemonised grandchild would be).
    // detached: node itself calls setsid() in the child, so no forking setsid(1) wrapper races the lookup.
    const orphan = spawn("sleep", ["60"], { env: { ...process.env, [RUN_ID_ENV]: runId }, stdio: "ignore", detached: true });
    orphan.unref();
    await waitGone(() => (processesWithEnv(RUN_ID_ENV, runId).length > 0 ? [] : [1]), 10_000);
    expect(processesWithEnv(RUN_ID_ENV, runId)).toHaveLength(1);
    // ...and a clone it left with a changed read-only file and a git lock.
    mkdirSync(join(paths.workdir, ".git"), { recursive: true });
    writeFileSync(join(paths.workdir, ".git", "index.lock"), "");
    writeFileSync(join(paths.workdir, "prepare.js"), "// tampered\n");
    writeFileSync(paths.state, JSON.stringify({ id: 1, phase: "running", parent: baseline.commit, commit: orphanCommit, proposal: LR_UP, newText, runId, startedAt: "x" } satisfies InFlight));
    const events = await resume(root);
    expect(processesWithEnv(RUN_ID_ENV, runId)).toEqual([]);
    expect(warnings(events).some((w) => /killed 1 leftover process\(es\) of the interrupted run of experiment 1/.test(w))).toBe(true);
    expect(warnings(events).some((w) => /the experiment clone was made again/.test(w))).toBe(true);
    const records = checkInvariants(root, { base, tag: "t1", guarded });
    expect(records.map((r) => [r.id, r.status])).toEqual([
      [0, "keep"],
      [1, "keep"],
    ]);
  });

  it("a new run after a kill mid-experiment starts from the user's commit, not the undecided experiment, and says the old session can be resumed", async () => {
    const { root, base, paths, baseline } = await sessionWithBaseline();
    const newText = FAKE_TRAIN.replace("const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.02;");
    const ident = `${git(root, "var", "GIT_COMMITTER_IDENT")}`;
    const undecided = await commitFile(new Git(root), { parent: baseline.commit, path: "train.js", mode: "100644", text: newText, message: "exp: LR up", ref: "refs/autoresearch/t1/1", ident });
    const inFlight = JSON.stringify({ id: 1, phase: "running", parent: baseline.commit, commit: undecided, proposal: LR_UP, newText, runId: randomUUID(), startedAt: "x" } satisfies InFlight);
    writeFileSync(paths.state, inFlight);
    const events: SessionEvent[] = [];
    await research(root, { kind: "new", config: testConfig({ tag: "t2", maxIterations: 0 }), platform: CPU }, testDeps(root, new PlanProposer([]), events));
    const fresh = readJsonl<ExperimentRecord>(sessionPaths(root, "t2").experiments);
    expect(fresh[0]?.commit).toBe(base);
    expect(fresh[0]?.commit).not.toBe(undecided);
    expect(git(root, "rev-parse", "autoresearch/t2")).toBe(base);
    expect(warnings(events).some((w) => /session t1 was stopped during experiment 1.*`autoresearch resume --tag t1` runs that experiment again.*starts from your checkout's commit/.test(w))).toBe(true);
    // The old session is exactly as it was: still in flight, still resumable.
    expect(readFileSync(paths.state, "utf8")).toBe(inFlight);
    expect(readJsonl<ExperimentRecord>(paths.experiments)).toHaveLength(1);
  });

  it("killed after the record, before state.json was cleared: nothing runs twice", async () => {
    const { root, base, guarded, paths, baseline } = await sessionWithBaseline([LR_UP], 1);
    const first = readJsonl<ExperimentRecord>(paths.experiments)[1] as ExperimentRecord;
    writeFileSync(paths.state, JSON.stringify({ id: 1, phase: "running", parent: baseline.commit, commit: first.commit, proposal: LR_UP, runId: randomUUID(), startedAt: "x" } satisfies InFlight));
    const events = await resume(root, [LR_UP], 1);
    expect(warnings(events)).toEqual([]);
    expect(checkInvariants(root, { base, tag: "t1", guarded })).toEqual(readJsonl(paths.experiments));
    expect(readJsonl(paths.experiments)).toHaveLength(2);
  });

  it("killed during setup after session.json, before the branch existed: resume creates it and runs the baseline", async () => {
    const root = fakeProject();
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    await research(root, { kind: "new", config: testConfig({ maxIterations: 0 }), platform: CPU }, testDeps(root, new PlanProposer([LR_UP])));
    // Roll the repo back to the moment before the branch was created: the session files exist, nothing else.
    git(root, "branch", "-D", "autoresearch/t1");
    const paths = sessionPaths(root, "t1");
    rmSync(paths.experiments);
    rmSync(join(root, "results.tsv"));
    await resume(root);
    const records = checkInvariants(root, { base, tag: "t1", guarded });
    expect(records.map((r) => r.description)).toEqual(["Baseline — no modifications", "LEARNING_RATE 0.01 -> 0.02"]);
  });

  it("an index.lock of the user's own git in their repo does not stop the session, and stays theirs", async () => {
    const { root, base, guarded } = await sessionWithBaseline();
    writeFileSync(join(root, ".git/index.lock"), "");
    await resume(root);
    expect(existsSync(join(root, ".git/index.lock"))).toBe(true);
    rmSync(join(root, ".git/index.lock"));
    expect(checkInvariants(root, { base, tag: "t1", guarded })).toHaveLength(2);
  });
});
