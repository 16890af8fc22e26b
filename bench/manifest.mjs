#!/usr/bin/env node
// Per-experiment cost of guarding shared data (src/workspace/clone.ts beforeRun + the look after
// the run, src/workspace/shared-manifest.ts), with a generated tree shaped like a big virtualenv
// (BENCH_FILES files, default 150k, in about BENCH_FILES / 7.5 folders: 20k) against no shared
// data, for a sandboxed session (the kernel keeps the shared paths read-only: no look) and an
// unsandboxed one (the incremental look). The first look is a full walk (every entry stat'ed,
// what every run cost before): printed for comparison. Needs a build (npm run build).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerClone } from "../dist/workspace/clone.js";
import { Git } from "../dist/workspace/git.js";

const FILES = Number(process.env.BENCH_FILES ?? 150_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TARGET_SEC = 0.2;

function tree() {
  const root = mkdtempSync(join(tmpdir(), "ar-bench-manifest-"));
  const venv = join(root, ".venv");
  for (let i = 0; i < FILES; i++) {
    // 15 files per 2 folders, 100 folders per package: 20k folders for 150k files.
    const dir = join(venv, "lib", `pkg${Math.floor(i / 750)}`, `mod${Math.floor((i * 2) / 15)}`);
    if ((i * 2) % 15 < 2) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.py`), "x");
  }
  // A few large compiled libraries, as torch has.
  for (let i = 0; i < 20; i++) writeFileSync(join(venv, "lib", `pkg${i}`, `lib${i}.so`), Buffer.alloc(2 << 20));
  return { root, entries: [{ rel: ".venv", target: venv, isDir: true }] };
}

/** A clone's guard around one run: the look before (or none when confined) and the look after. */
function perExperiment(entries, confined) {
  const clone = new WorkerClone(join(tmpdir(), "ar-bench-clone-unused"), new Git(tmpdir()), tmpdir(), entries);
  const started = process.hrtime.bigint();
  clone.beforeRun(confined);
  const first = Number(process.hrtime.bigint() - started) / 1e9;
  clone["sharedChanges"]();
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    clone.beforeRun(confined);
    const changed = clone["sharedChanges"]();
    if (changed) throw new Error(`nothing changed, yet: ${changed}`);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  return { first, median: times[Math.floor(times.length / 2)] };
}

const made = Date.now();
const { root, entries } = tree();
console.log(`generated ${FILES} files in ${((Date.now() - made) / 1000).toFixed(1)} s`);
// A real environment was not written in the last seconds: folders changed that recently are
// listed again on every look (the racy window), which is not what a session sees.
await new Promise((r) => setTimeout(r, 2500));
try {
  const none = perExperiment([], false);
  const sandboxed = perExperiment(entries, true);
  const unsandboxed = perExperiment(entries, false);
  const s = (x) => `${x.toFixed(3)} s`;
  console.log(`shared-data guard per experiment (median of ${ROUNDS}), ${FILES}-file .venv vs none:`);
  console.log(`  sandboxed (bwrap / sandbox-exec): ${s(sandboxed.median)}  (none: ${s(none.median)})`);
  console.log(`  unsandboxed (incremental look):   ${s(unsandboxed.median)}  (target < ${TARGET_SEC} s; the first look, a full walk once per clone: ${s(unsandboxed.first)})`);
  if (unsandboxed.median - none.median >= TARGET_SEC) console.log(`  OVER TARGET: +${s(unsandboxed.median - none.median)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
