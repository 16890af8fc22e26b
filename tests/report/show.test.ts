import { afterEach, describe, expect, it } from "vitest";
import { legacyPaths } from "../../src/ledger/paths.js";
import { listSessions } from "../../src/ledger/sessions.js";
import { loadExperiment, renderExperiment } from "../../src/report/show.js";
import { commitAt, removeDir, sessionInfo, tempDir, writeSessionFiles } from "../helpers/session-fixture.js";
import { treeRecords } from "../helpers/tree-fixture.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe("show N: the experiment's place in the research tree", () => {
  function session() {
    const root = tempDir();
    dirs.push(root);
    const records = treeRecords();
    writeSessionFiles(root, records, sessionInfo());
    return { paths: legacyPaths(root), records };
  }

  it("names the parent (id, metric), the children (id, status, metric) and what a combination combines", () => {
    const { paths, records } = session();
    const two = loadExperiment(paths, 2);
    expect(two.parent).toMatchObject({ id: 0, metric: 1.0 });
    expect(two.children.map((c) => [c.id, c.status, c.metric])).toEqual([
      [3, "discard", 0.99],
      [4, "keep", 0.96],
    ]);
    const text = renderExperiment(two, "val_bpb").split("\n");
    expect(text).toContain(`Parent:     #0 1.000000 (${commitAt(records, 0).slice(0, 7)}, Baseline — no modifications)`);
    expect(text).toContain("Children:   #3 discard 0.990000, #4 keep 0.960000");
    expect(text).toContain("Metric:     val_bpb 0.970000 (-0.030000 vs its parent)");

    const four = loadExperiment(paths, 4);
    expect(four.combines.map((c) => c.id)).toEqual([1]);
    expect(renderExperiment(four, "val_bpb")).toMatch(/^Combines: {3}#1 \(lower LR\): their changes applied onto the parent$/m);
    expect(renderExperiment(four, "val_bpb")).toMatch(/^Children: {3}none yet$/m);
    // A proposal made on a combination while it ran says its own change comes on top.
    const onCombination = { ...four, record: { ...four.record, onCombination: true } };
    expect(renderExperiment(onCombination, "val_bpb")).toMatch(/^Combines: {3}#1 \(lower LR\): their changes applied onto the parent, then its own change \(a proposal made on that combination while it ran\)$/m);
    // --json prints the same object: parent, children and combines travel with the record.
    const json = JSON.parse(JSON.stringify(four));
    expect(json.parent.id).toBe(2);
    expect(json.combines[0].id).toBe(1);
  });

  it("names what the coding agent touched besides the training script, undone (it was in the record only)", () => {
    const { paths } = session();
    const two = loadExperiment(paths, 2);
    const touched = { ...two, record: { ...two.record, agentViolations: ["created stray-file.txt (undone)", "modified prepare.js (undone)"] } };
    expect(renderExperiment(touched, "val_bpb")).toMatch(/^Agent: {6}it also touched other files: created stray-file\.txt \(undone\); modified prepare\.js \(undone\)$/m);
    expect(renderExperiment(two, "val_bpb")).not.toMatch(/^Agent:/m);
  });

  it("a session with no experiment says where a failed start's logs are (it told one that never started to wait for its baseline)", () => {
    const root = tempDir();
    dirs.push(root);
    writeSessionFiles(root, [], sessionInfo());
    const paths = legacyPaths(root);
    expect(() => loadExperiment(paths, null)).toThrow(/no recorded experiment yet/);
    try {
      loadExperiment(paths, null);
    } catch (error) {
      expect((error as { hint?: string }).hint).toBe(`If it is running, wait for its baseline to finish; a session that failed to start has none (its logs are in ${paths.dir}/runs).`);
    }
  });

  it("the baseline is the root; a crash's children list is empty and its metric has no delta", () => {
    const { paths } = session();
    const root = loadExperiment(paths, 0);
    expect(root.parent).toBeNull();
    expect(root.children.map((c) => c.id)).toEqual([1, 2, 6]);
    expect(renderExperiment(root, "val_bpb")).toMatch(/^Parent: {5}none \(the baseline is the root of the research tree\)$/m);
    expect(renderExperiment(root, "val_bpb")).toMatch(/^Children: {3}#1 keep 0\.980000, #2 keep 0\.970000, #6 crash$/m);
    expect(renderExperiment(loadExperiment(paths, 6), "val_bpb")).toMatch(/^Metric: {5}val_bpb —$/m);
  });
});

describe("show N: how its measured metric is made", () => {
  it("names it by the node's kind: the mean of its runs, its parent's plus its pairs' difference, or plus its difference at the same load", () => {
    const root = tempDir();
    dirs.push(root);
    writeSessionFiles(root, treeRecords(), sessionInfo());
    const two = loadExperiment(legacyPaths(root), 2);
    const measured = (record: object, value: number) => renderExperiment({ ...two, record: { ...two.record, ...record }, measured: value }, "val_bpb").split("\n").find((l) => l.startsWith("Measured:"));
    expect(measured({ runs: [{ seed: 0, metric: 0.97 }, { seed: 1, metric: 0.975 }] }, 0.9725)).toBe("Measured:   val_bpb 0.972500, the mean of every run of its code (its decision's, its runs as a parent in later pairs, and confirm's): what later decisions compare with");
    expect(measured({ parentRuns: [{ seed: 0, metric: 1.0 }] }, 0.9712)).toBe("Measured:   val_bpb 0.971200, its parent's measured metric plus the mean difference of its pairs: what later decisions compare with");
    expect(measured({ loadDelta: -0.0288, loadSe: 0.004, confirmRuns: [{ seed: 9, metric: 0.969 }] }, 0.9711)).toBe("Measured:   val_bpb 0.971100, its parent's measured metric plus its difference at the same load (load-adjusted), with the runs `autoresearch confirm` made of it: what later decisions compare with");
    // The same number as its metric (to the digits shown): no line.
    expect(measured({}, 0.9700000001)).toBeUndefined();
  });

  it("lists the parent's runs made beside its own (pairs, or a load-adjusted decision's), with their steps and the order all ran in", () => {
    const root = tempDir();
    dirs.push(root);
    writeSessionFiles(root, treeRecords(), sessionInfo());
    const two = loadExperiment(legacyPaths(root), 2);
    const runs = [{ seed: 0, metric: 0.97, durationSec: 30, steps: 400, trainingSec: 30 }, { seed: 1, metric: 0.968, durationSec: 30, steps: 410, trainingSec: 30 }];
    const parentRuns = [{ seed: 1000, metric: 1.001, durationSec: 30, steps: 402, trainingSec: 30 }];
    const text = renderExperiment({ ...two, record: { ...two.record, runs, parentRuns, runOrder: "cpc", loadDelta: -0.03, loadSe: 0.004 } }, "val_bpb").split("\n");
    expect(text).toContain("Its parent: 1 run beside its own (in the order run: it, parent, it)");
    expect(text).toContain("  seed 1000: 1.001000, 402 steps in 30.0s of training (13.4 steps/s)");
    // A pair that reused the parent's run made just before says so.
    const paired = renderExperiment({ ...two, record: { ...two.record, runs, parentRuns: [{ ...parentRuns[0], reused: true }, { ...parentRuns[0], seed: 1001 }] as typeof parentRuns, firstPaired: true } }, "val_bpb");
    expect(paired).toMatch(/^Its parent: 2 runs beside its own$/m);
    expect(paired).toMatch(/^ {2}seed 1000: 1\.001000, .* — its run just before, reused$/m);
    // A node decided on its own runs alone has no such line.
    expect(renderExperiment(two, "val_bpb")).not.toMatch(/^Its parent:/m);
  });
});

describe("sessions: the best is the head", () => {
  it("lists the best kept node (#4), not the last keep (#5)", () => {
    const root = tempDir();
    dirs.push(root);
    writeSessionFiles(root, treeRecords(), sessionInfo());
    const [only] = listSessions(root);
    expect(only?.bestId).toBe(4);
    expect(only?.best).toBe(0.96);
  });

  it("its best and baseline are as measured: `confirm`'s runs count, as in status (it showed the first run beside status's mean)", () => {
    const root = tempDir();
    dirs.push(root);
    const records = treeRecords();
    const head = records.find((r) => r.id === 4) as (typeof records)[number];
    head.confirmRuns = [{ metric: 0.95, seed: 9, durationSec: 30 }];
    writeSessionFiles(root, records, sessionInfo());
    const [only] = listSessions(root);
    expect(only?.bestId).toBe(4);
    expect(only?.best).toBeCloseTo(0.955, 12);
  });
});
