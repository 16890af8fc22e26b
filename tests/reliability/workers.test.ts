import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sessionPaths } from "../../src/ledger/paths.js";
import { readInFlightReadOnly } from "../../src/ledger/read.js";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git } from "../helpers/repo.js";
import { SLOW_TRAIN } from "../helpers/trainers.js";
import { checkInvariants, hashes, processesWithEnv, startCli, waitGone } from "./helpers.js";

/** The session's refs of experiments still in flight (refs/autoresearch/<tag>/pending-<key>). */
function pendingRefs(root: string, tag: string): string[] {
  return git(root, "for-each-ref", "--format=%(refname)", `refs/autoresearch/${tag}/`)
    .split("\n")
    .filter((ref) => ref.includes("/pending-"));
}

/**
 * Every experiment but the baseline runs for AR_SLEEP_MS with a child process of its own (a
 * process tree). The metric never changes, so nothing is kept and no candidate goes stale:
 * each experiment is exactly one run.
 */

function project() {
  const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": "// read-only\n" });
  return { root, base: git(root, "rev-parse", "HEAD"), guarded: hashes(root, ["prepare.js"]) };
}

const ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min"];
ARGS.push("--workers", "4", "--devices", "0,1,2,3", "--max-iterations", "8", "--proposer", "builtin", "--tag", "w4", "--json", "--yes");
// The spec's plain loop: one baseline run, one run per experiment (what these tests count).
ARGS.push("--keep-rule", "any", "--baseline-runs", "1");

type Live = ReturnType<typeof startCli>;

/** Resolves once `n` experiments (not the baseline) have started runs. */
async function fourRunning(live: Live): Promise<number[]> {
  const started = new Set<number>();
  await live.waitFor((e) => {
    if (e.type === "run-start" && typeof e.iteration === "number" && e.iteration > 0) started.add(e.iteration);
    return started.size >= 4;
  });
  return [...started].sort((a, b) => a - b);
}

describe("four workers through the real CLI", () => {
  it("Ctrl-C once with 4 runs in flight: nothing new starts, the 4 finish and are recorded, exit 130", async () => {
    const { root, base, guarded } = project();
    const marker = randomUUID();
    const live = startCli(root, ARGS, { AR_SLEEP_MS: "2000", AR_SIGNALS: marker });
    const running = await fourRunning(live);
    process.kill(-live.pid, "SIGINT");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);
    const records = checkInvariants(root, { base, tag: "w4", guarded });
    const experiments = records.filter((r) => r.id !== 0);
    expect(experiments.map((r) => r.id).sort((a, b) => a - b)).toEqual(running);
    expect(experiments.every((r) => r.status === "discard" && r.reason === "no-change")).toBe(true);
    expect(new Set(experiments.map((r) => r.worker)).size).toBe(4);
    // Nothing started after the Ctrl-C (runs start side by side, in any order).
    expect(live.events.filter((e) => e.type === "run-start").map((e) => e.iteration as number).sort((a, b) => a - b)).toEqual([0, ...running]);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 3000)).toEqual([]);
  }, 90_000);

  it("Ctrl-C twice with 4 runs in flight: every run tree is killed, none is decided (no row), exit 130; resume runs the 4 again", async () => {
    const { root, base, guarded } = project();
    const marker = randomUUID();
    const live = startCli(root, ARGS, { AR_SLEEP_MS: "60000", AR_SIGNALS: marker });
    const running = await fourRunning(live);
    const cut = live.events.filter((e) => e.type === "run-start" && (e.iteration as number) > 0).map((e) => String(e.description)).sort();
    process.kill(-live.pid, "SIGINT");
    await live.waitFor((e) => e.type === "stop-requested");
    process.kill(-live.pid, "SIGINT");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 5000)).toEqual([]);
    expect(live.events.filter((e) => e.type === "experiment").map((e) => e.record?.id)).toEqual([0]);
    const left = readInFlightReadOnly(sessionPaths(root, "w4"));
    expect(left.map((e) => e.id).sort((a, b) => a - b)).toEqual(running);
    expect(left.every((e) => e.phase === "running")).toBe(true);

    // A pending ref a resume will not use (an entry re-run under another key leaves its old one).
    git(root, "update-ref", "refs/autoresearch/w4/pending-99", base);
    const resumed = startCli(root, ["resume", "--json", "--max-iterations", "4"], { AR_SLEEP_MS: "200" });
    const again = await resumed.exited;
    expect(again.code, resumed.stderr()).toBe(0);
    const records = checkInvariants(root, { base, tag: "w4", guarded });
    expect(records.filter((r) => r.id !== 0).map((r) => r.description).sort()).toEqual(cut);
    expect(records.map((r) => r.id)).toEqual([0, 1, 2, 3, 4]);
    // The cut runs' commits were made again under the keys they ran with, the stale one removed: no pending ref is left.
    expect(pendingRefs(root, "w4")).toEqual([]);
  }, 120_000);

  it("kill -9 of the orchestrator with 4 runs in flight, then resume: no process left, no row lost or doubled, each re-run once", async () => {
    const { root, base, guarded } = project();
    const marker = randomUUID();
    const live = startCli(root, ARGS, { AR_SLEEP_MS: "60000", AR_SIGNALS: marker });
    const running = await fourRunning(live);
    process.kill(live.pid, "SIGKILL");
    await live.exited;
    // The watchdog kills every run in flight (whole trees), not only one.
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 15_000)).toEqual([]);

    // state.json names the 4 running and the proposals made ahead (waiting for a worker).
    const inFlight = readInFlightReadOnly(sessionPaths(root, "w4"));
    expect(inFlight.filter((e) => e.phase === "running").map((e) => e.id)).toEqual(running);
    expect(new Set(inFlight.filter((e) => e.phase === "running").map((e) => e.worker)).size).toBe(4);
    const waiting = inFlight.filter((e) => e.phase === "ready").map((e) => e.id);
    // Nothing else was in flight: the 4 runs and the proposals made ahead (ids after theirs).
    expect(inFlight.map((e) => e.id)).toEqual([...running, ...waiting]);
    const stateText = JSON.stringify(inFlight.map((e) => [e.id, e.phase]));
    const again = randomUUID();
    const resumed = startCli(root, ["resume", "--json", "--max-iterations", "4"], { AR_SLEEP_MS: "200", AR_SIGNALS: again });
    const exit = await resumed.exited;
    expect(exit.code, resumed.stderr()).toBe(0);
    const records: ExperimentRecord[] = checkInvariants(root, { base, tag: "w4", guarded });
    const ids = records.map((r) => r.id).sort((a, b) => a - b);
    // Each interrupted experiment once, under its own number, and the proposals that were waiting; nothing new (max 4).
    expect(ids).toEqual([0, ...running, ...waiting]);
    // Exactly the ids state.json named ran, each once; no new proposal was made (max 4 is reached by them).
    const trace = `state.json: ${stateText}\n${resumed.events.map((e) => `${e.type}:${e.iteration ?? ""}:${e.reason ?? e.message ?? ""}`).join("\n")}`;
    const reran = resumed.events.filter((e) => e.type === "run-start").map((e) => e.iteration as number);
    expect([...reran].sort((a, b) => a - b), trace).toEqual([...running, ...waiting]);
    expect(resumed.events.filter((e) => e.type === "proposal").map((e) => e.iteration), trace).toEqual([]);
    expect(records.filter((r) => r.id !== 0).every((r) => r.status === "discard" && r.reason === "no-change"), trace).toBe(true);
    expect(resumed.events.filter((e) => e.type === "warning" && /was interrupted; running it again/.test(String(e.message)))).toHaveLength(4);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", again), 3000)).toEqual([]);
    expect(pendingRefs(root, "w4")).toEqual([]);
  }, 120_000);

  it("chain: Ctrl-C once while a stale candidate runs: its re-run on the current best still runs and is recorded; waiting proposals are dropped", async () => {
    // A is slow and better, B fast and better: B is kept while A runs, so A goes stale and is re-run on B.
    const train = `const SLOW = 0;
const GAIN = 0;
const OTHER = 0;
const A1 = 0;
const A2 = 0;
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SLOW ? 2500 : 300);
console.log("val_loss: " + (1 - 0.1 * GAIN - 0.05 * OTHER + 0.01 * (A1 + A2)).toFixed(6));
`;
    const root = createRepo({ "train.js": train, "prepare.js": "// read-only\n" });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const edit = (description: string, search: string, replace: string) => JSON.stringify({ description, category: "hyperparameters", edits: [{ search, replace }] });
    const steps = [
      edit("A: slow gain", "const SLOW = 0;\nconst GAIN = 0;", "const SLOW = 1;\nconst GAIN = 1;"),
      edit("B: other gain", "const OTHER = 0;", "const OTHER = 1;"),
      edit("C: A1 up", "const A1 = 0;", "const A1 = 1;"),
      edit("D: A2 up", "const A2 = 0;", "const A2 = 1;"),
    ];
    writeFileSync(join(root, "plan.jsonl"), `${steps.join("\n")}\n`);
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min"];
    args.push("--workers", "2", "--devices", "0,1", "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "rerun", "--json", "--yes", "--search", "chain");
    // The spec's plain loop: the timing of A against B is what this is about.
    args.push("--keep-rule", "any", "--baseline-runs", "1");
    const live = startCli(root, args);
    // B decided (kept) while A still runs: the first Ctrl-C comes now.
    await live.waitFor((e) => e.type === "experiment" && e.record?.id === 1);
    process.kill(-live.pid, "SIGINT");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);

    const records = checkInvariants(root, { base, tag: "rerun", guarded, allowUntracked: ["plan.jsonl"] });
    // Numbered as decided: B (first to finish) is #1; A after it (after C too, when C started in time).
    const b = records.find((r) => r.id === 1);
    const a = records.find((r) => r.description === "A: slow gain");
    expect([a?.status, a?.reason, b?.description, b?.status]).toEqual(["discard", "rebased", "B: other gain", "keep"]);
    expect(a?.detail).toMatch(/re-run on the current best/);
    const rerun = records.find((r) => r.rebaseOf === a?.id);
    const m = rerun?.id ?? -1;
    // The re-run ran after the Ctrl-C, on B, and is the best now.
    expect([rerun?.parent, rerun?.status]).toEqual([b?.commit, "keep"]);
    expect(git(root, "rev-parse", "autoresearch/rerun")).toBe(rerun?.commit);
    // C ran only if it had started before the Ctrl-C (it starts as B is decided); D was waiting and is dropped, not recorded.
    const others = records.filter((r) => ![0, 1, a?.id, m].includes(r.id)).map((r) => r.description);
    expect(others.filter((d) => d !== "C: A1 up")).toEqual([]);
    expect(live.events.filter((e) => e.type === "proposal").map((e) => (e.proposal as { description?: string } | undefined)?.description)).toContain("D: A2 up");

    // A dropped proposal was never an experiment: resume runs what the plan has left (D among it).
    const resumed = cli(root, ["resume"], {}, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = checkInvariants(root, { base, tag: "rerun", guarded, allowUntracked: ["plan.jsonl"] });
    expect(after.map((r) => r.description)).toContain("D: A2 up");
  }, 90_000);
});
