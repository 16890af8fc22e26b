#!/usr/bin/env node
// Per-experiment cost of guarding shared data without a sandbox: the manifest of every shared
// path is taken before and after each run (src/workspace/shared.ts). Measured on a generated
// tree shaped like a big virtualenv (BENCH_FILES files, default 150k, 30 per folder) against
// no shared data. Needs a build (npm run build).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manifest, manifestChanges } from "../dist/workspace/shared.js";

const FILES = Number(process.env.BENCH_FILES ?? 150_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function tree() {
  const root = mkdtempSync(join(tmpdir(), "ar-bench-manifest-"));
  const venv = join(root, ".venv");
  for (let i = 0; i < FILES; i++) {
    const dir = join(venv, "lib", `pkg${Math.floor(i / 3000)}`, `mod${Math.floor(i / 30)}`);
    if (i % 30 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.py`), "x");
  }
  return { root, entries: [{ rel: ".venv", target: venv, isDir: true }] };
}

/** One experiment's guard: a manifest before the run, one after, and their comparison. */
function perExperiment(entries) {
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    const before = manifest(entries);
    const after = manifest(entries);
    manifestChanges(before, after);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const none = perExperiment([]);
const made = Date.now();
const { root, entries } = tree();
console.log(`generated ${FILES} files in ${((Date.now() - made) / 1000).toFixed(1)} s`);
try {
  const big = perExperiment(entries);
  console.log(`shared-data guard per experiment (median of ${ROUNDS}): none ${none.toFixed(3)} s, ${FILES}-file .venv ${big.toFixed(3)} s (target < 0.2 s)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
