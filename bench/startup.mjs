#!/usr/bin/env node
// Startup cost of the commands a person runs often and expects to be instant (DESIGN.md "Startup
// budget"): `--version`, `status` and `report --help`, each against a bare `node -e 0` measured in
// the same run, interleaved, so the ratio is what matters on a noisy shared machine.
// Target: every ratio within 2x. AUTORESEARCH_BIN points it at another build (e.g. the main branch).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { benchRepo } from "./repo.mjs";

const N = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 15);
const BIN = process.env.AUTORESEARCH_BIN ?? fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));

/** A repo with a results file, so `status` has a report to show. */
function repo() {
  return benchRepo("ar-bench-startup-", {
    "results.tsv": "commit\tval_bpb\tmemory_gb\tstatus\tdescription\nabc1234\t1.000000\t0.0\tkeep\tbaseline\nabc1235\t0.990000\t0.0\tkeep\tlower lr\n",
  });
}

const cwd = repo();
const cases = [
  ["node -e 0", ["-e", "0"]],
  ["--version", [BIN, "--version"]],
  ["status", [BIN, "status"]],
  ["report --help", [BIN, "report", "--help"]],
];

function once(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

for (const [, args] of cases) once(args); // warm the file cache
const times = cases.map(() => []);
for (let i = 0; i < N; i++) {
  for (const [c, [, args]] of cases.entries()) times[c].push(once(args));
}

const base = median(times[0]);
console.log(`startup, median of ${N} runs (${BIN}):`);
for (const [c, [name]] of cases.entries()) {
  const m = median(times[c]);
  console.log(`  ${name.padEnd(14)} ${m.toFixed(1).padStart(7)} ms  ${(m / base).toFixed(2)}x node -e 0`);
}
