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

/** A python3 to put first on PATH that notes each start in `log` (the probe runs unconfined, so its note is written), then runs `before` and the real one. */
function fakePython(before = ""): { bin: string; log: string } {
  const bin = mkdtempSync(join(tmpdir(), "ar-fake-python-"));
  const log = join(bin, "calls.log");
  writeFileSync(join(bin, "python3"), `#!/bin/sh\necho "$$ $*" >> "${log}" 2>/dev/null\n${before}\nexec "${python}" "$@"\n`);
  chmodSync(join(bin, "python3"), 0o755);
  return { bin, log };
}

const probesIn = (log: string): string[] => readFileSync(log, "utf8").split("\n").filter((line) => line.includes("probe"));

// `run` starts the platform probe before its modules load (bin/autoresearch.js, src/cli/early-start.ts),
// from --command or the repository's config file; the settled config's command then takes that
// probe: the Python is probed once, not twice.
describe.runIf(python !== null)("run's early probe", () => {
  it("probes the --command's Python once", () => {
    const root = createRepo({ "train.py": 'print("val_loss: 1.0")\n', "prepare.py": "# read-only\n" });
    const { bin, log } = fakePython();
    const args = ["run", "--train", "train.py", "--readonly", "prepare.py", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
    args.push("--command", "python3 train.py", "--max-iterations", "0", "--yes", "--json");
    const result = cli(root, args, { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` });
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(log)).toBe(true);
    expect(probesIn(log)).toHaveLength(1);
  });

  it("probes the config file's command once", () => {
    const config = { train: "train.py", readonly: ["prepare.py"], budget: "5s", metric: "val_loss", direction: "min", command: "python3 train.py" };
    const root = createRepo({ "train.py": 'print("val_loss: 1.0")\n', "prepare.py": "# read-only\n", "autoresearch.config.json": `${JSON.stringify(config)}\n` });
    const { bin, log } = fakePython();
    const result = cli(root, ["run", "--max-iterations", "0", "--json"], { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` });
    expect(result.code, result.stderr).toBe(0);
    expect(probesIn(log)).toHaveLength(1);
  });

  it("a run refused after its probe started exits without waiting for the probe, and ends it", () => {
    const root = createRepo({ "train.py": 'print("val_loss: 1.0")\n', "prepare.py": "# read-only\n" });
    // The probe's Python hangs for a minute: the refusal must not wait for it.
    const { bin, log } = fakePython('case "$*" in *probe*) sleep 60;; esac');
    const args = ["run", "--train", "train.py", "--budget", "five minutes", "--metric", "val_loss", "--direction", "min", "--command", "python3 train.py", "--yes", "--json"];
    const result = cli(root, args, { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` }, 10_000);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/budget/i);
    // The probe had started (its note is there), and its process is gone.
    const probes = probesIn(log);
    expect(probes).toHaveLength(1);
    const pid = Number((probes[0] as string).split(" ")[0]);
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
