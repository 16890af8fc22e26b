import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { headOf } from "../../src/ledger/tree.js";
import { describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithCmd, processesWithEnv, readJsonl, rng, sleep, startCli, waitGone } from "./helpers.js";

/**
 * A trainer slow enough to be killed mid-run (50-300 ms), with a grandchild that leaves the
 * process group (setsid) so an orphaned run really has something that escapes a group kill.
 */
const CHAOS_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DEPTH = 2;
const DROPOUT = 0.1;
const WEIGHT_DECAY = 0.1;
const WARMUP_STEPS = 100;
const { spawn } = require("node:child_process");
spawn("setsid", ["sh", "-c", "sleep 20"], { stdio: "ignore", detached: true }).unref();
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 + Math.floor(Math.random() * 250));
const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05 + (DEPTH - 4) ** 2 * 0.01
  + DROPOUT * 0.2 + Math.abs(WEIGHT_DECAY - 0.05) + Math.abs(WARMUP_STEPS - 50) / 1000;
console.log("val_loss: " + loss.toFixed(6));
`;

const ROUNDS = Number(process.env.AR_CHAOS_ROUNDS ?? 20);
const SEED = Number(process.env.AR_CHAOS_SEED ?? Date.now() % 100_000);

describe("SIGKILL chaos: the orchestrator killed at random moments, then resumed", () => {
  it(`keeps every invariant over ${ROUNDS} kills (seed ${SEED})`, async () => {
    const root = createRepo({
      "train.js": CHAOS_TRAIN,
      "prepare.js": "// read-only\nexport const DATA = 1;\n",
      "package.json": '{ "name": "chaos", "private": true }\n',
      "requirements.txt": "torch==2.5.1\n",
    });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js", "package.json", "requirements.txt"]);
    const marker = randomUUID();
    const env = { AR_CHAOS: marker };
    const setup = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--timeout", "10s", "--metric", "val_loss", "--direction", "min"];
    setup.push("--proposer", "builtin", "--tag", "chaos", "--yes");
    const runArgs = [...setup, "--max-iterations", "unlimited", "--json"];
    const random = rng(SEED);
    const log: string[] = [];
    let lastIds: number[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const resuming = existsSync(recordPath(root, "session.json"));
      const live = startCli(root, resuming ? ["resume", "--json"] : runArgs, env);
      const delay = Math.round(150 + random() * 2350);
      const group = random() < 0.3;
      const ended = await Promise.race([sleep(delay).then(() => false), live.exited.then(() => true)]);
      if (!ended) {
        try {
          process.kill(group ? -live.pid : live.pid, "SIGKILL");
        } catch {}
      }
      const exit = await live.exited;
      const ids = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl")).map((e) => e.id);
      const state = existsSync(recordPath(root, "state.json")) ? JSON.parse(readFileSync(recordPath(root, "state.json"), "utf8") || "null") : null;
      const runs: { id: number; phase: string }[] = state?.runs ?? [];
      const inFlight = runs.length ? runs.map((r) => `experiment ${r.id} ${r.phase}`).join(", ") : "nothing in flight";
      log.push(`round ${round}: ${resuming ? "resume" : "run"}, ${ended ? `exited ${exit.code}` : `SIGKILL ${group ? "group" : "pid"} after ${delay} ms`} (${inFlight}), ${ids.length} recorded`);
      if (ended) expect(exit.code, `${log.join("\n")}\n${live.stderr()}`).toBe(0);

      // Nothing of the killed loop's run outlives it: the watchdog kills the tree (grandchild included) and exits.
      const left = await waitGone(() => processesWithEnv("AR_CHAOS", marker), 8000);
      expect(left, log.join("\n")).toEqual([]);
      expect(await waitGone(() => processesWithCmd(`watchdog-main.js ${live.pid}`), 5000)).toEqual([]);
      // At any moment: each recorded experiment once, in order (one worker decides in id order), nothing lost.
      // A number may be skipped: a proposal made ahead and refused when its turn came (checkInvariants checks it is in rejected.jsonl).
      expect(ids, log.join("\n")).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size, log.join("\n")).toBe(ids.length);
      expect(ids.slice(0, lastIds.length), log.join("\n")).toEqual(lastIds);
      lastIds = ids;
      if (ended) break; // the proposer ran out of ideas: nothing left to interrupt
    }

    // Finish: resume to completion, then every invariant holds.
    const done = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl")).length;
    const args = existsSync(recordPath(root, "session.json")) ? ["resume", "--max-iterations", String(done + 1)] : [...setup, "--max-iterations", "2"];
    const final = cli(root, args, env);
    expect(final.code, `${log.join("\n")}\n${final.stdout}\n${final.stderr}`).toBe(0);
    const records = checkInvariants(root, { base, tag: "chaos", guarded });
    expect(records.length).toBeGreaterThanOrEqual(done);
    expect(await waitGone(() => processesWithEnv("AR_CHAOS", marker), 5000)).toEqual([]);
    // The same script never ran twice under two numbers (a re-run in-flight experiment is not a new one).
    const hashesRun = records.map((e) => e.trainHash);
    const twice = records.filter((e, i) => hashesRun.indexOf(e.trainHash) !== i).map((e) => `#${e.id} ${e.description}`);
    expect(twice, `${log.join("\n")}\nscripts run twice: ${twice.join(", ")}`).toEqual([]);
    // The best script (the head: the best kept node) is on the research branch; the user's checkout still has theirs.
    expect(git(root, "show", "autoresearch/chaos:train.js")).toBe(git(root, "show", `${headOf(records, "min").commit}:train.js`));
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(CHAOS_TRAIN);
    console.log(`chaos seed ${SEED}: ${records.length} experiments after ${log.length} rounds\n${log.join("\n")}`);
  }, 240_000);
});
