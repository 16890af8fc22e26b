/**
 * A whole session through the CLI on two loopback ssh hosts: `--executor ssh --hosts h1,h2`,
 * two workers, six experiments after the baseline. The proposer's API key is in the
 * orchestrator's environment and must not reach the runs; nothing may be left running there.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseResults } from "../../src/ledger/results-tsv.js";
import { cliAsync } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, git, recordPath } from "../helpers/repo.js";
import { type SshdFixture, sshdAvailable, startSshd } from "../helpers/sshd.js";

const available = sshdAvailable();
const SECRET = "sk-ant-e2e-not-for-the-cluster";

const TRAIN = `${FAKE_TRAIN}console.log("ssh_port: " + (process.env.SSH_CONNECTION || "local").split(" ").pop());
console.log("api_key: " + (process.env.ANTHROPIC_API_KEY ? "present" : "absent"));
console.log("cwd: " + process.cwd());
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
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
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
    // The user's checkout is as they left it.
    expect(git(root, "status", "--porcelain")).toBe("");
  });
});
