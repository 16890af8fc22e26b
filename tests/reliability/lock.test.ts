import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { acquireLock, isAlive, processStartTime, readLock } from "../../src/ledger/lock.js";
import { cli } from "../helpers/cli.js";
import { createRepo, git } from "../helpers/repo.js";
import { checkInvariants, hashes, processesWithEnv, startCli, waitGone } from "./helpers.js";

const SLOW_TRAIN = `const LEARNING_RATE = 0.01;
if (process.env.AUTORESEARCH_EXPERIMENT !== "0") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.AR_SLEEP_MS ?? 20000));
console.log("val_loss: " + (1 + Math.abs(Math.log2(LEARNING_RATE / 0.04)) * 0.1).toFixed(6));
`;

describe("one loop per repo", () => {
  it("refuses a second run or resume while one is live (exit 2, naming its pid), and recovers the lock of a killed one", async () => {
    const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": "// read-only\n" });
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const marker = randomUUID();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "30s", "--metric", "val_loss", "--direction", "min", "--proposer", "builtin", "--yes"];
    const first = startCli(root, [...args, "--tag", "one", "--json"], { AR_LOCK: marker });
    await first.waitFor((e) => e.type === "run-start" && e.iteration === 1);

    const second = cli(root, [...args, "--tag", "two"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`another autoresearch loop \\(pid ${first.pid}\\b`));
    const resume = cli(root, ["resume"]);
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(new RegExp(`another autoresearch loop \\(pid ${first.pid}\\b`));
    expect(resume.stderr).toMatch(new RegExp(`kill -INT ${first.pid}`));
    expect(git(root, "branch", "--list", "autoresearch/two")).toBe("");

    // Killed without a chance to clean up: the lock stays behind, stale.
    process.kill(first.pid, "SIGKILL");
    await first.exited;
    expect(readLock(join(root, ".git/autoresearch/lock"))?.pid).toBe(first.pid);
    expect(await waitGone(() => processesWithEnv("AR_LOCK", marker), 8000)).toEqual([]);

    const recovered = cli(root, ["resume", "--max-iterations", "1"], { AR_SLEEP_MS: "0" });
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stdout).toMatch(new RegExp(`recovered a stale lock left by pid ${first.pid}`));
    expect(recovered.stdout).toMatch(/experiment 1 was interrupted; running it again/);
    checkInvariants(root, { base, tag: "one", guarded });
  }, 90_000);

  it("takes a lock atomically and treats a reused pid or a dead one as stale", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-lock-"));
    const path = join(dir, "lock");
    const now = new Date();
    const held = acquireLock(path, now);
    expect(readLock(path)).toMatchObject({ pid: process.pid, host: hostname() });
    if (process.platform === "linux") expect(readLock(path)?.procStart).toBe(processStartTime(process.pid));
    held.release();
    expect(existsSync(path)).toBe(false);

    // A live process (our parent) whose start time does not match the lock: the pid was reused.
    writeFileSync(path, JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: "2020-01-01T00:00:00Z", procStart: "1" }));
    if (process.platform === "linux") {
      expect(isAlive(readLock(path) as never)).toBe(false);
      const taken = acquireLock(path, now);
      expect(taken.recoveredStale?.pid).toBe(process.ppid);
      taken.release();
    }
    // The same live process with its real start time is alive: refused.
    writeFileSync(path, JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: "2020-01-01T00:00:00Z", procStart: processStartTime(process.ppid) ?? undefined }));
    expect(() => acquireLock(path, now)).toThrow(/another autoresearch loop \(pid \d+/);
    // Another machine's lock cannot be checked from here: refused, with what to do.
    writeFileSync(path, JSON.stringify({ pid: 12345, host: "elsewhere.example", startedAt: "2020-01-01T00:00:00Z" }));
    expect(() => acquireLock(path, now)).toThrow(expect.objectContaining({ exitCode: 2, hint: expect.stringMatching(/another machine/) }));
    // A dead pid: stale, taken over.
    writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 7, host: hostname(), startedAt: "2020-01-01T00:00:00Z" }));
    const again = acquireLock(path, now);
    expect(again.recoveredStale?.pid).toBe(2 ** 22 + 7);
    expect(readFileSync(path, "utf8")).toContain(`"pid":${process.pid}`);
    again.release();
  });
});
