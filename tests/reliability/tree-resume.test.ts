import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sessionPaths } from "../../src/ledger/paths.js";
import { readInFlightReadOnly } from "../../src/ledger/read.js";
import { createRepo, git } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithEnv, startCli, waitGone } from "./helpers.js";

/**
 * A: fast and the best. B (built on the baseline) and C (built on A) are slow: each sleeps
 * AR_SLEEP_MS with a child process of its own. So when C starts, the two runs in flight are on
 * different nodes of the tree.
 */
const TRAIN = `const GAIN = 0;
const OTHER = 0;
const X1 = 0;
if (process.env.AUTORESEARCH_EXPERIMENT !== "0" && (OTHER || X1)) {
  require("node:child_process").spawn("sleep", ["31"], { stdio: "ignore" }).unref();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.AR_SLEEP_MS));
}
console.log("val_loss: " + (1 - 0.1 * GAIN - 0.05 * OTHER + 0.01 * X1).toFixed(6));
`;

describe("the research tree survives kill -9", () => {
  it("runs in flight on different nodes, kill -9, resume: the same ids re-run on their own parents, the head is recomputed, invariants hold", async () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": "// read-only\n" });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const edit = (description: string, search: string, replace: string) => JSON.stringify({ description, category: "hyperparameters", edits: [{ search, replace }] });
    writeFileSync(
      join(root, "plan.jsonl"),
      `${[edit("A: gain", "const GAIN = 0;", "const GAIN = 1;"), edit("B: other, slow", "const OTHER = 0;", "const OTHER = 1;"), edit("C: X1, slow", "const X1 = 0;", "const X1 = 1;")].join("\n")}\n`,
    );
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min"];
    args.push("--workers", "2", "--devices", "0,1", "--lookahead", "0", "--max-iterations", "3", "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "tk", "--json", "--yes");
    const marker = randomUUID();
    const live = startCli(root, args, { AR_SLEEP_MS: "60000", AR_SIGNALS: marker });
    // A is decided (kept, the head) and C has started on it while B still runs on the baseline.
    await live.waitFor((e) => e.type === "experiment" && e.record?.id === 1, 60_000);
    await live.waitFor((e) => e.type === "run-start" && e.iteration === 3, 60_000);
    process.kill(live.pid, "SIGKILL");
    await live.exited;
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 15_000)).toEqual([]);

    const a = live.events.find((e) => e.type === "experiment" && e.record?.id === 1)?.record;
    expect([a?.status, a?.parent]).toEqual(["keep", base]);
    const inFlight = readInFlightReadOnly(sessionPaths(root, "tk"));
    expect(inFlight.map((e) => [e.id, e.phase, e.parent])).toEqual([
      [2, "running", base],
      [3, "running", a?.commit],
    ]);

    const again = randomUUID();
    const resumed = startCli(root, ["resume", "--json"], { AR_SLEEP_MS: "200", AR_SIGNALS: again });
    const exit = await resumed.exited;
    expect(exit.code, resumed.stderr()).toBe(0);
    const trace = resumed.events.map((e) => `${e.type}:${e.iteration ?? ""}:${e.reason ?? e.message ?? ""}`).join("\n");
    // Exactly the ids that were in flight ran again, each once, and nothing new was proposed.
    expect(resumed.events.filter((e) => e.type === "run-start").map((e) => e.iteration as number).sort(), trace).toEqual([2, 3]);
    expect(resumed.events.filter((e) => e.type === "proposal"), trace).toEqual([]);

    const records = checkInvariants(root, { base, tag: "tk", guarded, allowUntracked: ["plan.jsonl"] });
    const byId = new Map(records.map((r) => [r.id, r]));
    expect([...byId.keys()].sort()).toEqual([0, 1, 2, 3]);
    // Each re-ran on the node it was built on: B on the baseline (kept: it beat it), C on A (not kept).
    // They are numbered when decided, so which of them is 2 is the order they ended in.
    const bRecord = records.find((r) => r.description.startsWith("B:"));
    const cRecord = records.find((r) => r.description.startsWith("C:"));
    expect([bRecord?.id, cRecord?.id].sort()).toEqual([2, 3]);
    expect([bRecord?.parent, bRecord?.status]).toEqual([base, "keep"]);
    expect([cRecord?.parent, cRecord?.status]).toEqual([a?.commit, "discard"]);
    // The head recomputed from the records: A (0.9) stays the best, though B was kept after it.
    expect(git(root, "rev-parse", "autoresearch/tk")).toBe(a?.commit);
    expect(git(root, "rev-parse", "refs/autoresearch/tk/2")).toBe(byId.get(2)?.commit);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", again), 3000)).toEqual([]);
  }, 120_000);
});
