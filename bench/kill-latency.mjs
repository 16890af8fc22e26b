#!/usr/bin/env node
// Kill latency of the runner: a run whose process and children all ignore SIGTERM (one of them
// escaped the process group with setsid), hard timeout 1 s, grace 500 ms. Prints how long after
// the hard timeout the last process of the run was gone, and how many survived.
// Target: gone within grace + 1 s, zero survivors. Needs `npx tsc -p tsconfig.build.json` first.
// Usage: node bench/kill-latency.mjs [runs=5]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { LocalExecutor } from "../dist/executors/index.js";
import { listRunPids } from "../dist/runner/index.js";

const RUNS = Number(process.argv[2] ?? 5);
const HARD_TIMEOUT_SEC = 1;
const GRACE_MS = 500;
const TARGET_MS = GRACE_MS + 1000;

const dir = mkdtempSync(join(tmpdir(), "ar-kill-bench-"));
const script = join(dir, "stubborn.cjs");
writeFileSync(
  script,
  `const { spawn } = require("node:child_process");
process.on("SIGTERM", () => {});
const hang = 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)';
spawn(process.execPath, ["-e", hang], { stdio: "inherit" });
spawn(process.execPath, ["-e", hang], { stdio: "inherit" });
spawn(process.execPath, ["-e", hang], { stdio: "ignore", detached: true }).unref(); // escapes the group
spawn("sh", ["-c", "trap '' TERM; sleep 60"], { stdio: "inherit" });
setInterval(() => {}, 1000);
`,
);

const results = [];
for (let i = 0; i < RUNS; i++) {
  let tree = null;
  let spawnedAt = 0;
  let lastSeenAlive = 0;
  let maxProcs = 0;
  let polling = true;
  const ex = new LocalExecutor({
    onSpawn: (t) => {
      tree = t;
      spawnedAt = performance.now();
    },
  });
  // Independent 10 ms poller: when was any process of the run last seen alive?
  const poller = (async () => {
    while (polling) {
      if (tree) {
        const pids = await listRunPids(tree);
        if (pids.length > 0) lastSeenAlive = performance.now();
        maxProcs = Math.max(maxProcs, pids.length);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const result = await ex.run({
    cwd: dir,
    command: `${JSON.stringify(process.execPath)} ${JSON.stringify(script)}`,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    budgetSec: HARD_TIMEOUT_SEC,
    hardTimeoutSec: HARD_TIMEOUT_SEC,
    graceMs: GRACE_MS,
    logPath: join(dir, `run-${i}.log`),
    metric: { name: "val_bpb" },
  });
  const resolvedAt = performance.now();
  polling = false;
  await poller;
  const survivors = tree ? (await listRunPids(tree)).length : -1;
  const timeoutAt = spawnedAt + HARD_TIMEOUT_SEC * 1000;
  results.push({
    run: i + 1,
    procs: maxProcs,
    timedOut: result.timedOut,
    lastGoneMs: Math.round(lastSeenAlive - timeoutAt),
    resolvedMs: Math.round(resolvedAt - timeoutAt),
    survivors,
  });
}
rmSync(dir, { recursive: true, force: true });

console.table(results);
const worst = Math.max(...results.map((r) => r.lastGoneMs));
const worstResolved = Math.max(...results.map((r) => r.resolvedMs));
const survivors = results.reduce((s, r) => s + r.survivors, 0);
const median = [...results.map((r) => r.lastGoneMs)].sort((a, b) => a - b)[Math.floor(results.length / 2)];
console.log(
  `last process gone after hard timeout: median ${median} ms, worst ${worst} ms; run() resolved worst ${worstResolved} ms; ` +
    `survivors ${survivors}; target ≤ ${TARGET_MS} ms (grace ${GRACE_MS} ms + 1 s) → ${worst <= TARGET_MS && survivors === 0 ? "PASS" : "FAIL"}`,
);
process.exitCode = worst <= TARGET_MS && survivors === 0 ? 0 : 1;
