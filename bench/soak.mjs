#!/usr/bin/env node
// Soak: one `autoresearch run` of many iterations on a fast fake trainer (a 3-line shell
// script), driven by a generated plan (even steps improve and are kept, odd steps regress and
// are reset). Reports rows vs iterations, the orchestrator's RSS and open file descriptors at
// iteration ~50 and at the end, the time per iteration at the start and at the end (a ledger
// that re-reads its growing files would show up here), and processes left behind.
// Needs a build (`npm run build`). Usage: SOAK_ITERATIONS=1000 node bench/soak.mjs
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchRepo, recordsDir } from "./repo.mjs";

const N = Number(process.env.SOAK_ITERATIONS ?? 1000);
const EARLY = Math.min(50, Math.max(1, Math.floor(N / 2)));
const BIN = fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));
const MARKER = randomUUID();

function repo() {
  const dir = benchRepo("ar-soak-", { "train.sh": 'LR=100000\nNOISE=0\necho "val_loss: $((LR * 100000 + NOISE))"\n', "prepare.sh": "# read-only\n" });
  // Even steps lower LR (kept); odd steps raise NOISE (discarded, so the branch is reset).
  const steps = [];
  let lr = 100000;
  for (let i = 0; i < N; i++) {
    if (i % 2 === 0) {
      steps.push({ description: `LR ${lr} -> ${lr - 1}`, category: "optimizer", edits: [{ search: `LR=${lr}\n`, replace: `LR=${lr - 1}\n` }] });
      lr--;
    } else {
      steps.push({ description: `NOISE 0 -> ${i}`, category: "other", edits: [{ search: "NOISE=0\n", replace: `NOISE=${i}\n` }] });
    }
  }
  writeFileSync(join(dir, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
  return dir;
}

function rssKb(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

function fds(pid) {
  try {
    const entries = readdirSync(`/proc/${pid}/fd`);
    const kinds = {};
    for (const fd of entries) {
      let target = "?";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, "").replace(/^\/.*$/, "file");
      } catch {}
      kinds[target] = (kinds[target] ?? 0) + 1;
    }
    return { count: entries.length, kinds };
  } catch {
    return { count: Number.NaN, kinds: {} };
  }
}

/** Live processes (zombies excluded) whose environment holds the soak's marker. */
function leftovers(exclude) {
  const needle = Buffer.from(`AR_SOAK=${MARKER}\0`);
  const out = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid || Number(entry) === exclude) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state === "Z" || state === "X") continue;
      if (readFileSync(`/proc/${entry}/environ`).includes(needle)) out.push(`${entry} ${readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ")}`);
    } catch {}
  }
  return out;
}

function watchdogs(pid) {
  return readdirSync("/proc").filter((e) => {
    try {
      return /^\d+$/.test(e) && readFileSync(`/proc/${e}/cmdline`, "utf8").replace(/\0/g, " ").includes(`watchdog-main.js ${pid}`);
    } catch {
      return false;
    }
  });
}

const dir = repo();
const args = ["run", "--train", "train.sh", "--readonly", "prepare.sh", "--command", "sh train.sh", "--budget", "1s", "--timeout", "10s"];
args.push("--metric", "val_loss", "--direction", "min", "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "soak", "--json", "--yes");
const started = Date.now();
const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", AR_SOAK: MARKER }, stdio: ["ignore", "pipe", "pipe"] });
const pid = child.pid;
const samples = [];
const times = [];
let experiments = 0;
let pending = "";
let stderr = "";
const sample = (label) => samples.push({ label, experiments, rssMb: rssKb(pid) / 1024, fds: fds(pid) });
child.stderr.on("data", (c) => {
  stderr += c;
});
child.stdout.setEncoding("utf8");
child.stdout.on("data", (chunk) => {
  pending += chunk;
  let nl = pending.indexOf("\n");
  while (nl >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    nl = pending.indexOf("\n");
    if (!line.includes('"type":"experiment"')) continue;
    experiments++;
    times.push(Date.now());
    if (experiments === EARLY + 1) sample(`iteration ${EARLY}`);
    else if ((experiments - 1) % 250 === 0 && experiments > 1) sample(`iteration ${experiments - 1}`);
    if (experiments === N + 1) sample(`iteration ${N} (end)`);
    if (experiments % 100 === 0) process.stderr.write(`  ${experiments - 1}/${N} iterations, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
});
const code = await new Promise((resolve) => child.on("close", (c) => resolve(c)));
const wallSec = (Date.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 500));

const tsv = readFileSync(join(dir, "results.tsv"), "utf8").trimEnd().split("\n");
const jsonl = readFileSync(join(recordsDir(dir), "experiments.jsonl"), "utf8").trimEnd().split("\n");
const perIter = (from, to) => (to - from > 0 ? (times[to] - times[from]) / (to - from) : Number.NaN);
const window = Math.min(100, Math.floor(N / 4));
const result = {
  iterations: N,
  exitCode: code,
  rows: tsv.length - 1,
  expectedRows: N + 1,
  experimentsJsonl: jsonl.length,
  ids: jsonl.every((l, i) => JSON.parse(l).id === i),
  wallSec: Number(wallSec.toFixed(1)),
  msPerIteration: { first: Number(perIter(1, 1 + window).toFixed(1)), last: Number(perIter(times.length - 1 - window, times.length - 1).toFixed(1)), window },
  samples: samples.map((s) => ({ ...s, rssMb: Number(s.rssMb.toFixed(1)) })),
  leftoverProcesses: leftovers(pid),
  leftoverWatchdogs: watchdogs(pid).length,
  repo: dir,
};
console.log(JSON.stringify(result, null, 2));
const first = samples[0];
const last = samples[samples.length - 1];
console.log(`
rows ${result.rows} / expected ${result.expectedRows} (experiments.jsonl ${result.experimentsJsonl}, ids in order: ${result.ids}), exit ${code}, ${result.wallSec} s
orchestrator RSS ${first?.rssMb.toFixed(1)} MB at ${first?.label} -> ${last?.rssMb.toFixed(1)} MB at ${last?.label}
orchestrator fds ${first?.fds.count} -> ${last?.fds.count}
ms/iteration: first ${window} ${result.msPerIteration.first}, last ${window} ${result.msPerIteration.last}
leftover processes: ${result.leftoverProcesses.length}, watchdogs: ${result.leftoverWatchdogs}`);
if (code !== 0) console.error(stderr);
const ok = code === 0 && result.rows === N + 1 && result.experimentsJsonl === N + 1 && result.ids && result.leftoverProcesses.length === 0 && result.leftoverWatchdogs === 0;
process.exitCode = ok ? 0 : 1;
