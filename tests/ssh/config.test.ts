/** `--executor ssh` and `--hosts` are checked before anything is changed: exit 2 naming the problem and the fix. */
import { describe, expect, it } from "vitest";
import { parseHosts } from "../../src/config/hosts.js";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";

const GOOD = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "0", "--yes"];

describe("ssh settings refused with exit 2, nothing changed", () => {
  const cases: { name: string; args: string[]; message: RegExp; fix: RegExp }[] = [
    { name: "executor ssh without hosts", args: [...GOOD, "--executor", "ssh"], message: /--executor ssh needs the hosts/, fix: /--hosts gpu1,gpu2/ },
    { name: "devices that are not GPU ids", args: [...GOOD, "--executor", "ssh", "--hosts", "gpu1,gpu2:a+b"], message: /"gpu2:a\+b": device "a" is not a GPU index/, fix: /gpu2:0\+1/ },
    { name: "an empty device list", args: [...GOOD, "--executor", "ssh", "--hosts", "gpu2:"], message: /"gpu2:": an empty device/, fix: /joined by \+/ },
    { name: "a host that ssh would read as an option", args: [...GOOD, "--executor", "ssh", "--hosts", "-oProxyCommand=x"], message: /is not an ssh host name/, fix: /ssh config/ },
    { name: "hosts without executor ssh", args: [...GOOD, "--hosts", "gpu1"], message: /--hosts is used by --executor ssh/, fix: /--executor ssh/ },
    // These two were once ignored without a word on the local executor.
    { name: "remote-dir without executor ssh", args: [...GOOD, "--remote-dir", "/scratch/ar"], message: /--remote-dir is used by --executor ssh, but the executor is local/, fix: /--executor ssh/ },
    { name: "slurm-args with executor ssh", args: [...GOOD, "--executor", "ssh", "--hosts", "gpu1", "--slurm-args", "--partition=gpu"], message: /--slurm-args is used by --executor slurm, but the executor is ssh/, fix: /--executor slurm/ },
    { name: "max-pending without executor slurm", args: [...GOOD, "--max-pending", "30m"], message: /--max-pending is used by --executor slurm/, fix: /--executor slurm/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const root = fakeProject();
      const before = repoSnapshot(root);
      const result = cli(root, c.args);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(c.message);
      expect(result.stderr).toMatch(c.fix);
      expect(repoSnapshot(root)).toBe(before);
    });
  }
});

describe("parseHosts", () => {
  it("reads hosts with and without devices", () => {
    expect(parseHosts(["gpu1", "me@gpu2:0+1", "box:GPU-8f2a-11aa"])).toEqual([
      { host: "gpu1", devices: [] },
      { host: "me@gpu2", devices: ["0", "1"] },
      { host: "box", devices: ["GPU-8f2a-11aa"] },
    ]);
  });
  it("refuses a host listed twice and a device listed twice", () => {
    expect(() => parseHosts(["gpu1", "gpu1:0"])).toThrow(/lists gpu1 twice/);
    expect(() => parseHosts(["gpu1:0+0"])).toThrow(/device twice/);
  });
});
