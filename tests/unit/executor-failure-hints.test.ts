import { describe, expect, it } from "vitest";
import type { ResearchConfig } from "../../src/config/options.js";
import { executorOf } from "../../src/executors/registry.js";

/** Only the settings the hints read. */
const config = (executor: "local" | "ssh" | "slurm", hosts?: string[]) => ({ executor, ...(hosts && { hosts }) }) as unknown as ResearchConfig;

describe("a run the executor could not start points at doctor for where it runs, not at the command or the script", () => {
  it("ssh: the hosts, named in the doctor command; slurm: sbatch and the controller; local: no such failure", () => {
    // It once said "fix the command (--command) or the script" for a host that ssh could not reach.
    expect(executorOf(config("ssh", ["gpu1", "gpu2:0+1"])).failureHint?.("host-unreachable", config("ssh", ["gpu1", "gpu2:0+1"]))).toMatch(/^The run never started: check the hosts with `autoresearch doctor --executor ssh --hosts gpu1,gpu2:0\+1`/);
    expect(executorOf(config("slurm")).failureHint?.("submit-failed", config("slurm"))).toMatch(/^SLURM ended or refused the job .*\(submit-failed\): `autoresearch doctor` checks sbatch/);
    expect(executorOf(config("ssh")).failureHint?.("host-unreachable", config("ssh"))).not.toMatch(/--command/);
    expect(executorOf(config("ssh")).failureHint?.("exit-code", config("ssh"))).toBeNull();
    expect(executorOf(config("local")).failureHint).toBeUndefined();
  });
});
