import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { Check } from "../../src/cli/commands/doctor.js";
import { cli } from "../helpers/cli.js";
import { createRepo } from "../helpers/repo.js";
import { describeSlurm } from "./cluster.js";


function doctor(env: Record<string, string>, extra: string[] = []): Record<string, Check> {
  const root = createRepo({ "train.js": 'console.log("val_bpb: 1")\n' });
  writeFileSync(join(root, "slurm.json"), JSON.stringify({ executor: "slurm" }));
  const result = cli(root, ["doctor", "--json", "--train", "train.js", "--config", "slurm.json", ...extra], env);
  const report = JSON.parse(result.stdout) as { checks: Check[] };
  // 1 exactly when something required is missing.
  expect(result.code, result.stderr).toBe(report.checks.some((c) => c.required && c.status === "missing") ? 1 : 0);
  return Object.fromEntries(report.checks.map((c) => [c.name, c]));
}

describeSlurm("autoresearch doctor with executor slurm", () => {
  it("the client commands and the controller answering are required checks, ok on a live cluster", () => {
    const by = doctor({});
    for (const name of ["sbatch", "squeue", "scancel", "sinfo"]) expect(by[name]).toMatchObject({ status: "ok", required: true });
    // The node's state is whatever the other tests' jobs left it in at that moment (one finishing: "completing").
    expect(by["slurm cluster"]).toMatchObject({ status: "ok", required: true, detail: expect.stringMatching(/^slurm\S* \d+\.\d+.*; partitions: debug\* \(up, 1 (idle|mixed|allocated|completing)/) });
  });

  it("a controller that does not answer is missing, with how to check it", () => {
    // The same cluster's config with a port nobody listens on.
    const conf = readFileSync(process.env.SLURM_CONF ?? "/etc/slurm/slurm.conf", "utf8").replace(/^SlurmctldPort=\d+$/m, "SlurmctldPort=1");
    const dead = join(mkdtempSync(join(tmpdir(), "ar-slurm-dead-")), "slurm.conf");
    writeFileSync(dead, conf);
    const by = doctor({ SLURM_CONF: dead }, ["--probe-timeout", "3"]);
    expect(by["slurm cluster"]).toMatchObject({ status: "missing", required: true, fix: expect.stringContaining("scontrol ping") });
  });
});

it("executor slurm without the SLURM commands: each one missing, with the fix; other executors do not ask for them", () => {
  // A PATH with git and node only: the SLURM commands of this machine cannot be found by chance.
  const bin = mkdtempSync(join(tmpdir(), "ar-bin-"));
  symlinkSync(execFileSync("which", ["git"], { encoding: "utf8" }).trim(), join(bin, "git"));
  symlinkSync(process.execPath, join(bin, "node"));
  const by = doctor({ PATH: bin });
  for (const name of ["sbatch", "squeue", "scancel", "sinfo"]) {
    expect(by[name]).toMatchObject({ status: "missing", required: true, fix: expect.stringContaining("install the SLURM client commands") });
  }
  expect(by["slurm cluster"]).toBeUndefined();
  const root = createRepo({ "train.js": 'console.log("val_bpb: 1")\n' });
  const local = JSON.parse(cli(root, ["doctor", "--json", "--train", "train.js"]).stdout) as { checks: Check[] };
  expect(local.checks.map((c) => c.name)).not.toContain("sbatch");
});
