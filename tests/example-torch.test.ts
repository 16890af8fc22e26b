/**
 * examples/torch-charlm for real: a short session of the builtin proposer on CPU with the
 * Python that has torch (Debian's python3-torch in CI). Skipped, visibly, where that Python
 * has no torch; in CI (CI set) a missing torch fails instead, so the example cannot rot.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parseResults } from "../src/ledger/results-tsv.js";
import { cli } from "./helpers/cli.js";
import { createRepo, git, recordPath } from "./helpers/repo.js";

const EXAMPLE_DIR = fileURLToPath(new URL("../examples/torch-charlm/", import.meta.url));
const FILES = ["train.py", "prepare.py", "corpus.txt", "README.md"];
/** Debian's interpreter: the `python3` on PATH may be another one (pyenv) without torch. */
const PYTHON = process.env.TORCH_PYTHON ?? "/usr/bin/python3";

function torchVersion(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

const torch = torchVersion();
const inCi = Boolean(process.env.CI);
const skipReason = `${PYTHON} cannot import torch (Debian: apt-get install --no-install-recommends python3-torch libopenblas0; or set TORCH_PYTHON)`;
if (torch === null && !inCi) console.warn(`examples/torch-charlm: skipped, ${skipReason}`);

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.runIf(torch === null && inCi)("examples/torch-charlm in CI", () => {
  it("has torch to run on", () => {
    expect.fail(`CI must run the torch example, but ${skipReason}`);
  });
});

describe.skipIf(torch === null)(`examples/torch-charlm with ${PYTHON} (torch ${torch ?? "missing"})`, () => {
  it("a short builtin session on CPU records the baseline and keeps a real improvement; the probe reports torch", () => {
    const files = Object.fromEntries(FILES.map((f) => [f, readFileSync(join(EXAMPLE_DIR, f), "utf8")]));
    const root = createRepo(files);
    dirs.push(root);
    const args = [
      "run",
      "--train",
      "train.py",
      "--readonly",
      "prepare.py",
      "--budget",
      "5s",
      // Importing torch alone takes seconds on a busy machine: the default 2x budget is too tight.
      "--timeout",
      "60s",
      "--metric",
      "val_bpb",
      "--direction",
      "min",
      "--command",
      `${PYTHON} train.py`,
      "--max-iterations",
      "4",
      "--proposer",
      "builtin",
      "--yes",
      "--tag",
      "torch",
      // The spec's plain loop: this is about the example end to end (one run per change keeps it
      // within its time on two shared cores), not about the keep rule.
      "--keep-rule",
      "any",
      "--baseline-runs",
      "1",
    ];
    const result = cli(root, args, {}, 240_000);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);

    // The config table names the device and the torch the probe found in that interpreter.
    expect(result.stdout).toMatch(new RegExp(`\\| Platform +\\| CPU \\(.*\\) with torch ${torch?.replace(/[.+]/g, "\\$&")} +\\|`));
    const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8"));
    expect(session.platform).toMatchObject({ kind: "cpu", device: "cpu", source: "torch", torch, python: PYTHON });

    const rows = parseResults(readFileSync(join(root, "results.tsv"), "utf8")).rows;
    expect(rows).toHaveLength(5);
    expect(rows[0]).toMatchObject({ status: "keep", description: "Baseline — no modifications" });
    const baseline = rows[0]?.metric as number;
    // Far below the uniform predictor (log2 of a 58-character vocabulary = 5.86 bits).
    expect(baseline).toBeGreaterThan(0);
    expect(baseline).toBeLessThan(5.86);
    for (const row of rows.slice(1)) expect(row.status).not.toBe("crash");
    const kept = rows.slice(1).filter((r) => r.status === "keep");
    expect(kept.length, rows.map((r) => `${r.status} ${r.metric} ${r.description}`).join("\n")).toBeGreaterThanOrEqual(1);
    // The defaults leave real headroom: the best is better by a real step. (Re-runs of the
    // learning-rate gain it finds measured 0.6-0.8 on a quiet machine; on two cores shared with the
    // rest of the suite a 5 s run takes fewer steps, so the bar here is lower.)
    const best = Math.min(...kept.map((r) => r.metric as number));
    expect(baseline - best).toBeGreaterThan(0.05);

    // The run itself: the attention path matches the installed torch, and no memorising.
    const log = readFileSync(recordPath(root, "runs/0.log"), "utf8");
    const major = Number(torch?.split(".")[0]);
    expect(log).toContain(`sdpa: ${major >= 2 ? "True" : "False"}`);
    const trainBpb = Number(log.match(/^train_bpb:\s+(\S+)/m)?.[1]);
    expect(Math.abs(trainBpb - baseline)).toBeLessThan(0.2);

    expect(git(root, "status", "--porcelain")).toBe("");
  }, 300_000);

  it("the hand-written attention (torch < 2.0) is causal, and equals SDPA where torch has it", () => {
    const script = `
import json, torch, train
torch.manual_seed(0)
train.HAS_SDPA = False  # build and run the manual path whatever this torch has
m = train.CharLM().eval()
x = torch.randint(0, train.VOCAB_SIZE, (2, train.BLOCK_SIZE))
y = x.clone()
y[:, 40:] = (y[:, 40:] + 1) % train.VOCAB_SIZE
with torch.no_grad():
    a, b = m(x), m(y)
    same = None
    if hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        train.HAS_SDPA = True
        same = bool(torch.allclose(m(x), a, atol=1e-5))
print(json.dumps({"prefix": bool(torch.allclose(a[:, :40], b[:, :40], atol=1e-6)), "suffix": bool(torch.allclose(a[:, 40:], b[:, 40:])), "same": same}))
`;
    // -B: no __pycache__ left in the example.
    const r = spawnSync(PYTHON, ["-B", "-c", script], { cwd: EXAMPLE_DIR, encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop() as string);
    // Changing later characters leaves earlier predictions alone, and does change the later ones.
    expect(out.prefix).toBe(true);
    expect(out.suffix).toBe(false);
    if (out.same !== null) expect(out.same).toBe(true);
  }, 120_000);

  it("doctor reports the torch version and the device for that interpreter", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-torch-doctor-"));
    dirs.push(dir);
    for (const f of FILES) copyFileSync(join(EXAMPLE_DIR, f), join(dir, f));
    const result = cli(dir, ["doctor", "--command", `${PYTHON} train.py`, "--json"], {}, 120_000);
    const { checks } = JSON.parse(result.stdout) as { checks: { name: string; status: string; detail: string }[] };
    expect(checks.find((c) => c.name === "torch")).toMatchObject({ status: "ok", detail: `torch ${torch} in ${PYTHON}, device cpu` });
  }, 120_000);
});
