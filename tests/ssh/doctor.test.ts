/** `autoresearch doctor --executor ssh` against real sshd's: each host's reachability, git, python3, remote dir. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Check } from "../../src/cli/commands/doctor.js";
import { cli } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";
import { type SshdFixture, sshdAvailable, startSshd } from "../helpers/sshd.js";

const available = sshdAvailable();


describe.skipIf(!available)("doctor with executor ssh", () => {
  let sshd: SshdFixture;
  let remote: string;
  beforeAll(async () => {
    sshd = await startSshd(1);
    remote = mkdtempSync(join(tmpdir(), "ar-doctor-remote-"));
  });
  afterAll(() => {
    sshd?.stop();
    if (remote) rmSync(remote, { recursive: true, force: true });
  });

  it("checks each host and says what is missing and the fix", () => {
    const root = fakeProject();
    const result = cli(root, ["doctor", "--json", "--executor", "ssh", "--hosts", `h1:0,${sshd.refusedAlias}`, "--remote-dir", remote], { AUTORESEARCH_SSH: sshd.sshCommand });
    // The refused host is required and missing.
    expect(result.code, result.stderr).toBe(1);
    const checks = JSON.parse(result.stdout).checks as Check[];
    const byName = new Map(checks.map((c) => [c.name, c]));
    for (const name of ["ssh h1", "h1 git", "h1 python3", "h1 remote dir", "h1 process groups"]) expect(byName.get(name)?.status, name).toBe("ok");
    expect(byName.get("h1 remote dir")?.detail).toContain(remote);
    const refused = byName.get(`ssh ${sshd.refusedAlias}`);
    expect(refused).toMatchObject({ status: "missing", required: true });
    expect(refused?.detail).toMatch(/refused/i);
    expect(refused?.fix).toMatch(/BatchMode=yes/);
  });

  it.skipIf(!existsSync("/usr/bin/bwrap"))("says per host whether its runs are sandboxed", () => {
    const root = fakeProject();
    const result = cli(root, ["doctor", "--json", "--executor", "ssh", "--hosts", "h1", "--remote-dir", remote], { AUTORESEARCH_SSH: sshd.sshCommand });
    const sandbox = (JSON.parse(result.stdout).checks as Check[]).find((c) => c.name === "h1 sandbox");
    expect(sandbox).toMatchObject({ status: "ok" });
    expect(sandbox?.detail).toMatch(/bubblewrap/);
  });

  it("shows each host's platform line: the command's Python, torch and device as the host's probe reports them", () => {
    const root = fakeProject();
    // An interpreter that says which connection ran it: the answer must come from the host.
    const python = join(remote, "host-bin", "python3");
    mkdirSync(dirname(python), { recursive: true });
    writeFileSync(
      python,
      `#!/bin/sh\necho '{"autoresearch_probe": 1, "python": "3.12.1", "torch": "'"2.5.0+port\${SSH_CONNECTION##* }"'", "cuda": false, "mps": false, "mps_built": false, "flash_attn": false}'\n`,
      { mode: 0o755 },
    );
    const args = ["doctor", "--json", "--executor", "ssh", "--hosts", `h1,${sshd.refusedAlias}`, "--remote-dir", remote, "--command", `${python} train.py`];
    const result = cli(root, args, { AUTORESEARCH_SSH: sshd.sshCommand });
    expect(result.code, result.stderr).toBe(1); // the refused host is missing
    const checks = JSON.parse(result.stdout).checks as Check[];
    const line = checks.find((c) => c.name === "h1 platform");
    expect(line).toMatchObject({ status: "ok", required: false });
    expect(line?.detail).toContain(`${python} -> Python 3.12.1, torch 2.5.0+port${sshd.hosts[0]?.port}`);
    expect(line?.detail).toMatch(/^CPU: /);
    // A host that cannot be reached has no platform line, only the reason.
    expect(checks.some((c) => c.name === `${sshd.refusedAlias} platform`)).toBe(false);
  });

  it("a remote dir that cannot be written is missing, with the fix", () => {
    const root = fakeProject();
    const file = join(remote, "a-file");
    writeFileSync(file, "");
    const result = cli(root, ["doctor", "--json", "--executor", "ssh", "--hosts", "h1", "--remote-dir", join(file, "sub")], { AUTORESEARCH_SSH: sshd.sshCommand });
    const dir = (JSON.parse(result.stdout).checks as Check[]).find((c) => c.name === "h1 remote dir");
    expect(dir).toMatchObject({ status: "missing" });
    expect(dir?.fix).toMatch(/--remote-dir/);
    const text = cli(root, ["doctor", "--executor", "ssh", "--hosts", "h1", "--remote-dir", join(file, "sub")], { AUTORESEARCH_SSH: sshd.sshCommand, NO_COLOR: "1" });
    expect(text.stdout).toMatch(/missing\s+h1 remote dir/);
  });
});
