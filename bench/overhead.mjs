#!/usr/bin/env node
// Harness overhead per iteration: `autoresearch run` against a minimal shell loop doing the same
// steps (edit, commit, run, grep, decide, reset, append) on the same ~30 ms training command.
// Both run in this process's machine, one after the other, so the ratio is what matters.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchRepo } from "./repo.mjs";

const N = Number(process.env.BENCH_ITERATIONS ?? 40);
const BIN = fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));

const TRAIN = `import time
LR = 100
NOISE = 1
time.sleep(0.03)
print("val_loss: %.6f" % (LR / 100.0 + NOISE * 0.01))
`;

function repo() {
  return benchRepo("ar-bench-", { "train.py": TRAIN, "prepare.py": "# read-only\n" });
}

// Even steps lower LR (kept), odd steps raise NOISE (discarded, so the branch is reset).
function steps() {
  const out = [];
  let lr = 100;
  for (let i = 0; i < N; i++) {
    if (i % 2 === 0) {
      out.push({ search: `LR = ${lr}`, replace: `LR = ${lr - 1}` });
      lr -= 1;
    } else {
      out.push({ search: "NOISE = 1", replace: `NOISE = ${i + 1}` });
    }
  }
  return out;
}

function shellLoop(dir) {
  const script = steps()
    .map(
      (s) => `sed -i 's/^${s.search}$/${s.replace}/' train.py
git commit -qam 'exp: ${s.replace}'
python3 train.py > run.log 2>&1
m=$(grep '^val_loss:' run.log | tail -1 | awk '{print $2}')
if awk -v m="$m" -v b="$best" 'BEGIN{exit !(m < b)}'; then best=$m; s=keep; else s=discard; git reset -q --hard HEAD~1; fi
printf '%s\\t%s\\t0.0\\t%s\\t%s\\n' "$(git rev-parse --short=7 HEAD)" "$m" "$s" '${s.replace}' >> results.tsv`,
    )
    .join("\n");
  writeFileSync(join(dir, "loop.sh"), `set -e\npython3 train.py > run.log\nbest=$(grep '^val_loss:' run.log | awk '{print $2}')\n${script}\n`);
  const t0 = performance.now();
  const r = spawnSync("bash", ["loop.sh"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`shell loop failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

function harness(dir, env = {}) {
  writeFileSync(
    join(dir, "plan.jsonl"),
    steps()
      .map((s) => JSON.stringify({ description: s.replace, category: "hyperparameters", edits: [s] }))
      .join("\n"),
  );
  const t0 = performance.now();
  const args = [BIN, "run", "--proposer", "plan", "--plan", "plan.jsonl", "--budget", "1s", "--metric", "val_loss", "--direction", "min"];
  args.push("--command", "python3 train.py", "--max-iterations", String(N), "--yes", "--json", "--tag", "bench");
  const r = spawnSync(process.execPath, args, { cwd: dir, encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`autoresearch failed: ${r.stderr}`);
  const seconds = (performance.now() - t0) / 1000;
  const rows = readFileSync(join(dir, "results.tsv"), "utf8").trim().split("\n").length - 1;
  if (rows !== N + 1) throw new Error(`expected ${N + 1} rows in ${dir}/results.tsv, found ${rows}`);
  return { seconds, rows };
}

const shell = shellLoop(repo());
const ours = harness(repo());
// The same, without the per-run cgroup (Linux): in a cgroup of its own every process the run
// forks costs a little more, and this trainer (a pyenv shim) forks dozens per run.
const plain = harness(repo(), { AUTORESEARCH_CGROUP: "off" });
const perShell = (shell / (N + 1)) * 1000;
const perOurs = (ours.seconds / (N + 1)) * 1000;
console.log(`iterations: ${N} (+ baseline), rows written: ${ours.rows}`);
console.log(`shell loop:   ${shell.toFixed(2)} s total, ${perShell.toFixed(1)} ms per iteration`);
console.log(`autoresearch: ${ours.seconds.toFixed(2)} s total, ${perOurs.toFixed(1)} ms per iteration`);
console.log(`autoresearch without the per-run cgroup: ${plain.seconds.toFixed(2)} s total, ${((plain.seconds / (N + 1)) * 1000).toFixed(1)} ms per iteration`);
console.log(`ratio: ${(ours.seconds / shell).toFixed(2)}x (target <= 1.5x); without the per-run cgroup: ${(plain.seconds / shell).toFixed(2)}x`);
