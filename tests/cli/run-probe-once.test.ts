import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { createRepo } from "../helpers/repo.js";

/** The python3 this machine runs, or null (the test is skipped without one). */
function realPython(): string | null {
  const found = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : null;
}

const python = process.platform === "win32" ? null : realPython();

// `run --command` starts the platform probe as soon as the repository is found, while the rest of
// the command loads; the config's command then takes that probe: the Python is probed once, not twice.
describe.runIf(python !== null)("run with --command", () => {
  it("probes the command's Python once", () => {
    const root = createRepo({ "train.py": 'print("val_loss: 1.0")\n', "prepare.py": "# read-only\n" });
    const bin = mkdtempSync(join(tmpdir(), "ar-fake-python-"));
    const log = join(bin, "calls.log");
    // A python3 first on PATH that notes each start (the probe runs unconfined, so its note is written).
    writeFileSync(join(bin, "python3"), `#!/bin/sh\necho "$*" >> "${log}" 2>/dev/null\nexec "${python}" "$@"\n`);
    chmodSync(join(bin, "python3"), 0o755);
    const args = ["run", "--train", "train.py", "--readonly", "prepare.py", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
    args.push("--command", "python3 train.py", "--max-iterations", "0", "--yes", "--json");
    const result = cli(root, args, { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(log)).toBe(true);
    const probes = readFileSync(log, "utf8").split("\n").filter((line) => line.includes("probe"));
    expect(probes).toHaveLength(1);
  });
});
