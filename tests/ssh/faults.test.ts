/**
 * Session-level faults on two loopback ssh hosts, through the real CLI: a host that
 * refuses connections and comes back, a connection dropped mid-run, and `kill -9` of the
 * orchestrator with two runs in flight followed by `resume`. Each time: the fault is recorded
 * with the right status and reason, the loop goes on, nothing is left running on "the hosts"
 * (this machine), and every invariant holds.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionPaths } from "../../src/ledger/paths.js";
import { readInFlightReadOnly } from "../../src/ledger/read.js";
import type { ExperimentRecord } from "../../src/types.js";
import { createRepo, git } from "../helpers/repo.js";
import { type SshdFixture, type SshHost, sessionPids, sshdAvailable, startSshd, waitFor } from "../helpers/sshd.js";
import { SLOW_TRAIN } from "../helpers/trainers.js";
import { type CliEvent, checkInvariants, hashes, processesWithEnv, startCli, waitGone } from "../reliability/helpers.js";

const available = sshdAvailable();

/**
 * Every experiment but the baseline sleeps AR_SLEEP_MS with a child process of its own (a tree
 * on the host). The metric never changes: nothing is kept, no candidate goes stale, so each
 * experiment is exactly one row.
 */

/** Run processes on "the hosts" that carry `marker` and sit in worker `w`'s tree under `remote`. */
function hostRuns(marker: string, remote: string, worker?: number): number[] {
  return processesWithEnv("AR_SIGNALS", marker)
    .map((p) => p.pid)
    .filter((pid) => {
      try {
        const cwd = readlinkSync(`/proc/${pid}/cwd`);
        return cwd.startsWith(remote) && (worker === undefined || cwd.endsWith(`/w${worker}`));
      } catch {
        return false;
      }
    });
}

const records = (events: CliEvent[]) => events.filter((e) => e.type === "experiment").map((e) => e.record as ExperimentRecord);

describe.skipIf(!available)("ssh session faults (CLI, real sshd)", () => {
  let sshd: SshdFixture;
  let remote: string;
  let h2: SshHost;
  beforeAll(async () => {
    sshd = await startSshd(2);
    h2 = sshd.hosts[1] as SshHost;
    remote = mkdtempSync(join(tmpdir(), "ar-faults-remote-"));
  });
  afterAll(() => {
    sshd?.stop();
    if (remote) rmSync(remote, { recursive: true, force: true });
  });

  function project(tag: string, maxIterations: number) {
    const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": "// read-only\n" });
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min", "--proposer", "builtin"];
    args.push("--executor", "ssh", "--hosts", "h1,h2", "--workers", "2", "--remote-dir", remote, "--max-iterations", String(maxIterations), "--tag", tag, "--json", "--yes");
    return { root, args, base: git(root, "rev-parse", "HEAD"), guarded: hashes(root, ["prepare.js"]) };
  }
  const env = (marker: string, sleepMs: number, backoffMs = 300) => ({ AUTORESEARCH_SSH: sshd.sshCommand, AUTORESEARCH_HOST_BACKOFF_MS: String(backoffMs), AR_SIGNALS: marker, AR_SLEEP_MS: String(sleepMs) });

  it("a host that refuses connections: its experiments are host-unreachable crashes, its worker rests and is retried, h1 goes on", async () => {
    const { root, args, base, guarded } = project("refused", 8);
    const marker = randomUUID();
    h2.stop();
    // A first rest long enough for the host to be back before its worker's next try.
    const live = startCli(root, args, env(marker, 300, 1500));
    const refused = await live.waitFor((e) => e.type === "experiment" && e.record?.host === "h2", 60_000);
    expect(refused.record).toMatchObject({ status: "crash", reason: "host-unreachable" });
    // The host comes back: the resting worker takes work there again.
    await h2.start();
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);

    const all = checkInvariants(root, { base, tag: "refused", guarded });
    expect(all).toHaveLength(1 + 8);
    const onH2 = all.filter((r) => r.host === "h2");
    const crashes = onH2.filter((r) => r.status === "crash");
    expect(crashes.length).toBeGreaterThanOrEqual(1);
    for (const r of crashes) expect(r.reason).toBe("host-unreachable");
    // Retried later: a run on h2 after its host came back, decided like any other.
    const decided = records(live.events);
    const firstCrash = decided.findIndex((r) => r.host === "h2" && r.status === "crash");
    expect(decided.slice(firstCrash + 1).some((r) => r.host === "h2" && r.status !== "crash")).toBe(true);
    expect(all.filter((r) => r.host === "h1").every((r) => r.status !== "crash")).toBe(true);
    expect(live.events.some((e) => e.type === "warning" && /worker 1 \(h2\): host unreachable; it rests/.test(String(e.message)))).toBe(true);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 5000)).toEqual([]);
  }, 120_000);

  it("a connection dropped mid-run: that experiment is host-unreachable, its tree on the host is killed, the host is used again", async () => {
    const { root, args, base, guarded } = project("drop", 6);
    const marker = randomUUID();
    const live = startCli(root, args, env(marker, 1500));
    const started = await live.waitFor((e) => e.type === "run-start" && e.host === "h2" && (e.iteration as number) > 0, 60_000);
    const tree = await waitFor(() => {
      const pids = hostRuns(marker, remote, 1);
      return pids.length >= 2 && pids;
    }, 20_000, "the run's tree on h2");
    // Kill sshd's per-connection processes of h2: the ssh client sees its connection drop.
    for (const pid of sessionPids(h2.pid)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);

    const all = checkInvariants(root, { base, tag: "drop", guarded });
    expect(all).toHaveLength(1 + 6);
    // A run's events name it by its key in flight; its record has the number its decision gave it.
    const droppedId = (live.events.find((e) => e.type === "experiment" && e.key === started.iteration)?.record as ExperimentRecord | undefined)?.id;
    const dropped = all.find((r) => r.id === droppedId);
    expect(dropped).toMatchObject({ host: "h2", status: "crash", reason: "host-unreachable" });
    // The wrapper killed the run's whole tree on the host when its connection closed.
    expect(await waitGone(() => tree.filter((pid) => processesWithEnv("AR_SIGNALS", marker).some((p) => p.pid === pid)), 10_000)).toEqual([]);
    const decided = records(live.events);
    const at = decided.findIndex((r) => r.id === droppedId);
    expect(decided.slice(at + 1).some((r) => r.host === "h2" && r.status !== "crash")).toBe(true);
    expect(all.filter((r) => r.status === "crash").map((r) => r.id)).toEqual([droppedId]);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 5000)).toEqual([]);
  }, 120_000);

  it("kill -9 of the orchestrator with 2 runs in flight, then resume: nothing left on the hosts, each interrupted experiment re-run once", async () => {
    const { root, args, base, guarded } = project("kill9", 6);
    const marker = randomUUID();
    const live = startCli(root, args, env(marker, 60_000));
    const started = new Set<number>();
    await live.waitFor((e) => {
      if (e.type === "run-start" && (e.iteration as number) > 0) started.add(e.iteration as number);
      return started.size >= 2;
    }, 60_000);
    await waitFor(() => hostRuns(marker, remote, 0).length >= 2 && hostRuns(marker, remote, 1).length >= 2, 20_000, "both runs' trees on the hosts");
    process.kill(live.pid, "SIGKILL");
    await live.exited;
    // Each wrapper kills its run's tree once the dead orchestrator's connection closes.
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", marker), 15_000)).toEqual([]);

    const inFlight = readInFlightReadOnly(sessionPaths(root, "kill9"));
    const running = inFlight.filter((e) => e.phase === "running").map((e) => e.id).sort((a, b) => a - b);
    expect(running).toEqual([...started].sort((a, b) => a - b));
    const waiting = inFlight.filter((e) => e.phase === "ready").map((e) => e.id);
    const again = randomUUID();
    const resumed = startCli(root, ["resume", "--json", "--max-iterations", "2"], env(again, 200));
    const exit = await resumed.exited;
    expect(exit.code, resumed.stderr()).toBe(0);
    const all = checkInvariants(root, { base, tag: "kill9", guarded });
    expect(all.map((r) => r.id).sort((a, b) => a - b)).toEqual([0, ...running, ...waiting].sort((a, b) => a - b));
    expect(all.filter((r) => r.id > 0).every((r) => r.status === "discard" && r.reason === "no-change")).toBe(true);
    const reran = resumed.events.filter((e) => e.type === "run-start").map((e) => e.iteration as number).sort((a, b) => a - b);
    expect(reran).toEqual([...running, ...waiting].sort((a, b) => a - b));
    expect(resumed.events.filter((e) => e.type === "warning" && /was interrupted; running it again/.test(String(e.message)))).toHaveLength(2);
    expect(resumed.events.filter((e) => e.type === "proposal")).toEqual([]);
    expect(await waitGone(() => processesWithEnv("AR_SIGNALS", again), 5000)).toEqual([]);
  }, 120_000);
});
