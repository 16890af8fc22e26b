/**
 * What the sandbox costs per experiment: the same short run (python -c pass, else node -e 0)
 * started N times by the local executor without a sandbox and inside bubblewrap, alternating,
 * in this one process. Prints the median start-to-exit time of each and the difference (the
 * bwrap start). Skips with a message where bwrap cannot start a sandbox.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { LocalExecutor } from "../dist/executors/index.js";
import { probeBwrap } from "../dist/sandbox/index.js";

const N = Number(process.argv[2] ?? 30);
const probe = probeBwrap();
if (!probe.ok) {
  console.log(`sandbox: skipped (bwrap cannot start a sandbox here: ${probe.why})`);
  process.exit(0);
}
const python = spawnSync("python3", ["-c", "pass"]).status === 0;
const command = python ? "python3 -c pass" : `${JSON.stringify(process.execPath)} -e 0`;
const home = mkdtempSync(join(tmpdir(), "ar-bench-sandbox-"));
const clone = join(home, "s", "w0");
mkdirSync(clone, { recursive: true });
const executor = new LocalExecutor();
const spec = (sandbox) => ({
  cwd: clone,
  command,
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  budgetSec: 5,
  hardTimeoutSec: 30,
  graceMs: 200,
  logPath: join(home, "run.log"),
  metric: { name: "val_loss" },
  ...(sandbox && { sandbox: { kind: "bwrap", writable: [clone], hidden: [home], scratch: `${clone}.scratch` } }),
});
const times = { plain: [], bwrap: [] };
for (let i = 0; i < N; i++) {
  for (const kind of i % 2 ? ["bwrap", "plain"] : ["plain", "bwrap"]) {
    const t0 = performance.now();
    const r = await executor.run(spec(kind === "bwrap"));
    if (r.exitCode !== 0) throw new Error(`${kind} run failed: ${r.tailLines.join("\n")}`);
    times[kind].push(performance.now() - t0);
  }
}
rmSync(home, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const plain = median(times.plain);
const bwrap = median(times.bwrap);
console.log(`sandbox: ${N} runs of \`${python ? "python3 -c pass" : "node -e 0"}\` each, median per run: without ${plain.toFixed(1)} ms, in bwrap ${bwrap.toFixed(1)} ms (+${(bwrap - plain).toFixed(1)} ms per experiment, ×${(bwrap / plain).toFixed(2)})`);
