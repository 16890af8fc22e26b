import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithEnv, startCli, waitGone } from "./helpers.js";
import { parseInFlight } from "../../src/ledger/read.js";

/**
 * The baseline is quick; every experiment runs for `AR_SLEEP_MS` with a child process, so a
 * signal can land in the middle of a run. SIGTERM ends both normally.
 */
const SLOW_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
if (process.env.AUTORESEARCH_EXPERIMENT !== "0") {
  require("node:child_process").spawn("sleep", ["31"], { stdio: "ignore" }).unref();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.AR_SLEEP_MS));
}
const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05;
console.log("val_loss: " + loss.toFixed(6));
`;

function project() {
  const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": "// read-only\n" });
  return { root, base: git(root, "rev-parse", "HEAD"), guarded: hashes(root, ["prepare.js"]) };
}

const ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min"];
ARGS.push("--max-iterations", "5", "--proposer", "builtin", "--tag", "sig", "--json", "--yes");

describe("signals through the real CLI", () => {
  const once: { name: string; target: "pid" | "group"; at: "run-start" | "proposal" }[] = [
    { name: "SIGINT to the loop during a run", target: "pid", at: "run-start" },
    { name: "SIGINT to the whole foreground group during a run (Ctrl-C in a terminal)", target: "group", at: "run-start" },
    { name: "SIGINT to the whole foreground group while the change is being committed", target: "group", at: "proposal" },
  ];
  for (const c of once) {
    it(`${c.name}: the experiment finishes, is recorded, the session ends cleanly with exit 130`, async () => {
      const { root, base, guarded } = project();
      const marker = randomUUID();
      const live = startCli(root, ARGS, { AR_SLEEP_MS: "1500", AR_SIGNALS: marker });
      await live.waitFor((e) => e.type === c.at && e.iteration === 1);
      process.kill(c.target === "group" ? -live.pid : live.pid, "SIGINT");
      const exit = await live.exited;
      expect(exit.code, live.stderr()).toBe(130);
      expect(live.events.find((e) => e.type === "stop-requested")?.mode).toBe("graceful");
      const decided = live.events.filter((e) => e.type === "experiment").map((e) => e.record);
      expect(decided.map((r) => [r?.id, r?.status])).toEqual([
        [0, "keep"],
        [1, "keep"],
      ]);
      const end = live.events.find((e) => e.type === "session-end");
      expect(end?.reason).toBe("stopped by the user");
      expect(existsSync(join(root, "autoresearch-summary.md"))).toBe(true);
      const records = checkInvariants(root, { base, tag: "sig", guarded });
      expect(records).toHaveLength(2);
      expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 3000)).toEqual([]);
    }, 60_000);
  }

  it("SIGINT twice: the run is killed and left undecided (no row, no number), head on the best commit, exit 130; resume runs it again", async () => {
    const { root, base, guarded } = project();
    const marker = randomUUID();
    const live = startCli(root, ARGS, { AR_SLEEP_MS: "30000", AR_SIGNALS: marker });
    const started = await live.waitFor((e) => e.type === "run-start" && e.iteration === 1);
    const cut = started.type === "run-start" ? started.description : "";
    process.kill(live.pid, "SIGINT");
    await live.waitFor((e) => e.type === "stop-requested");
    const second = Date.now();
    process.kill(live.pid, "SIGINT");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);
    expect(Date.now() - second).toBeLessThan(10_000);
    expect(live.events.filter((e) => e.type === "stop-requested").map((e) => e.mode)).toEqual(["graceful", "abort"]);
    // Not an experiment: no record, no results.tsv row, not counted; the user is told resume runs it.
    expect(live.events.filter((e) => e.type === "experiment").map((e) => e.record?.id)).toEqual([0]);
    expect(readFileSync(join(root, "results.tsv"), "utf8").trim().split("\n")).toHaveLength(2);
    expect(live.events.some((e) => e.type === "warning" && String(e.message).startsWith(`cut off: ${cut}`) && String(e.message).includes("autoresearch resume"))).toBe(true);
    const left = parseInFlight(readFileSync(recordPath(root, "state.json"), "utf8"));
    expect(left.map((e) => [e.phase, e.proposal?.description])).toEqual([["running", cut]]);
    expect(git(root, "rev-parse", "autoresearch/sig")).toBe(base);
    expect(live.events.find((e) => e.type === "session-end")?.reason).toBe("stopped by the user");
    // The run and its child are gone: nothing outlives the abort.
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 3000)).toEqual([]);

    // resume runs the cut-off experiment first, as #1, and nothing else is left behind.
    const again = startCli(root, ["resume", "--tag", "sig", "--max-iterations", "1", "--json"], { AR_SLEEP_MS: "50" });
    const resumed = await again.exited;
    expect(resumed.code, again.stderr()).toBe(0);
    const records = checkInvariants(root, { base, tag: "sig", guarded });
    expect(records.map((r) => [r.id, r.description])).toEqual([
      [0, records[0]?.description],
      [1, cut],
    ]);
    expect(records[1]?.status).not.toBe("crash");
  }, 90_000);

  it("SIGTERM twice during the baseline: nothing kept, the repo back on its branch, exit 130", async () => {
    const root = createRepo({ "train.js": SLOW_TRAIN.replace('!== "0"', '!== "never"'), "prepare.js": "// read-only\n" });
    const live = startCli(root, ARGS, { AR_SLEEP_MS: "30000" });
    await live.waitFor((e) => e.type === "run-start" && e.iteration === 0);
    process.kill(live.pid, "SIGTERM");
    await live.waitFor((e) => e.type === "stop-requested");
    process.kill(live.pid, "SIGTERM");
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(130);
    expect(live.stderr()).toMatch(/stopped during the baseline run/);
    expect(git(root, "branch", "--show-current")).toBe("main");
    expect(git(root, "branch", "--list", "autoresearch/*")).toBe("");
    expect(git(root, "status", "--porcelain")).toBe("");
  }, 60_000);

  it("Ctrl-Z of the orchestrator during a run: the watchdog still kills the run at its hard timeout; after SIGCONT it is a timeout crash", async () => {
    const { root, base, guarded } = project();
    const marker = randomUUID();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "1s", "--timeout", "2s", "--metric", "val_loss", "--direction", "min"];
    args.push("--max-iterations", "1", "--proposer", "builtin", "--tag", "stopped", "--json", "--yes");
    const live = startCli(root, args, { AR_SLEEP_MS: "60000", AR_SIGNALS: marker });
    await live.waitFor((e) => e.type === "run-start" && e.iteration === 1);
    // The orchestrator carries the variable too; the run's processes are the others.
    const runProcesses = () => processesWithEnv("AR_SIGNALS", marker).filter((p) => p.pid !== live.pid);
    // A run started by a launcher (src/runner/launcher.ts) carries the run's variables from its exec of
    // the command on, a moment after run-start (its own shell has the run's id only): waited for.
    await waitGone(() => (runProcesses().length > 0 ? [] : [1]), 10_000);
    expect(runProcesses().length).toBeGreaterThan(0);
    process.kill(live.pid, "SIGSTOP");
    try {
      // Deadline 2 s + grace 5 s + the watchdog's slack 2 s, then SIGTERM ends both processes.
      expect(await waitGone(runProcesses, 20_000)).toEqual([]);
    } finally {
      process.kill(live.pid, "SIGCONT");
    }
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);
    const records = checkInvariants(root, { base, tag: "stopped", guarded });
    expect(records.map((r) => [r.id, r.status, r.reason])).toEqual([
      [0, "keep", "baseline"],
      [1, "crash", "timeout"],
    ]);
  }, 60_000);
});
