/**
 * A whole session through the CLI on two loopback ssh hosts: `--executor ssh --hosts h1,h2`,
 * two workers, six experiments after the baseline. The proposer's API key is in the
 * orchestrator's environment and must not reach the runs; nothing may be left running there.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { remoteRepoKey } from "../../src/executors/ssh/from-config.js";
import { cliAsync } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, git, recordPath } from "../helpers/repo.js";
import { type SshdFixture, sshdAvailable, startSshd } from "../helpers/sshd.js";

const available = sshdAvailable();
const SECRET = "sk-ant-e2e-not-for-the-cluster";

const TRAIN = `${FAKE_TRAIN}console.log("ssh_port: " + (process.env.SSH_CONNECTION || "local").split(" ").pop());
console.log("device: " + process.env.AUTORESEARCH_DEVICE);
console.log("api_key: " + (process.env.ANTHROPIC_API_KEY ? "present" : "absent"));
console.log("cwd: " + process.cwd());
`;

/**
 * The interpreter the user prepared on each host (.venv, kept there across runs): it answers
 * the platform probe as a CUDA machine would (this machine has no GPU), leaves a mark on the
 * host when it does, and runs the training script with node otherwise.
 */
const HOST_PYTHON = `#!/bin/sh
if [ "$1" = "-c" ]; then
  echo probed >> "$(dirname "$0")/probe-calls"
  echo '{"autoresearch_probe": 1, "python": "3.12.1", "torch": "9.9.9+host", "cuda": true, "device_count": 1, "device_name": "Host GPU", "total_memory": 85899345920, "capability": [9, 0], "bf16": true, "mps": false, "mps_built": false, "flash_attn": false}'
  exit 0
fi
exec node "$@"
`;

/** Processes that carry a run marker and sit in a tree under `dir` (this machine is the hosts). */
function runProcessesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").includes("AUTORESEARCH_RUN_ID=")) continue;
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

describe.skipIf(!available)("a session on two ssh hosts (CLI, real sshd)", () => {
  let sshd: SshdFixture;
  let remote: string;
  beforeAll(async () => {
    sshd = await startSshd(2);
    remote = mkdtempSync(join(tmpdir(), "ar-e2e-remote-"));
  });
  afterAll(() => {
    sshd?.stop();
    if (remote) rmSync(remote, { recursive: true, force: true });
  });

  it("runs 6 experiments on h1 and h2 with 2 workers: 7 rows, both hosts used, no key there, nothing left running", async () => {
    const root = createRepo({ "train.js": TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# e2e\n" });
    // The worker repos on the hosts, with the .venv the user prepared there.
    const venvs = [0, 1].map((w) => join(remote, remoteRepoKey(root), "ssh-e2e", `w${w}`, ".venv", "bin"));
    for (const bin of venvs) {
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, "python"), HOST_PYTHON, { mode: 0o755 });
    }
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--command", ".venv/bin/python train.js"];
    args.push("--max-iterations", "6", "--yes", "--tag", "ssh-e2e", "--executor", "ssh", "--hosts", "h1,h2", "--workers", "2", "--remote-dir", remote);
    const result = await cliAsync(root, args, { AUTORESEARCH_SSH: sshd.sshCommand, ANTHROPIC_API_KEY: SECRET }, 240_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);

    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: number; host?: string; status: string; rebaseOf?: number });
    // The baseline and 6 experiments, plus one row for each re-run of a stale candidate on the new best.
    const reruns = records.filter((r) => r.rebaseOf !== undefined).length;
    expect(rows).toHaveLength(7 + reruns);
    expect(records).toHaveLength(7 + reruns);
    expect(new Set(records.map((r) => r.host))).toEqual(new Set(["h1", "h2"]));
    expect(records.filter((r) => r.status === "crash")).toEqual([]);

    // Every run happened on the host its record names, in a worker repo under the remote dir.
    const ports = new Map(sshd.hosts.map((h) => [h.alias, String(h.port)]));
    for (const record of records) {
      const log = readFileSync(recordPath(root, `runs/${record.id}.log`), "utf8");
      expect(log).toContain(`ssh_port: ${ports.get(record.host as string)}`);
      expect(log).toContain("api_key: absent");
      expect(log).toMatch(new RegExp(`cwd: ${remote}/[^/]+/ssh-e2e/w[01]`));
      expect(log).not.toContain(SECRET);
    }
    expect(runProcessesUnder(remote)).toEqual([]);

    // The platform is the host's, probed through the executor once, in worker 0's repo on h1 (this
    // machine has no .venv, no torch 9.9.9 and no GPU): its device reached every run.
    const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")) as { platform: { kind: string; torch: string; host: string; detail: string } };
    expect(session.platform).toMatchObject({ kind: "cuda", torch: "9.9.9+host", host: "h1" });
    expect(session.platform.detail).toContain("Host GPU");
    expect(readFileSync(join(venvs[0] as string, "probe-calls"), "utf8")).toBe("probed\n");
    expect(existsSync(join(venvs[1] as string, "probe-calls"))).toBe(false);
    for (const record of records) expect(readFileSync(recordPath(root, `runs/${record.id}.log`), "utf8")).toContain("device: cuda");
    expect(result.stdout).toMatch(/CUDA on h1/);
    // The user's checkout is as they left it.
    expect(git(root, "status", "--porcelain")).toBe("");
  });
});
