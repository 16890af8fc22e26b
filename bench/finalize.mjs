#!/usr/bin/env node
// finalize on the noisy keeps bench's sessions: does it find the passengers a night of greedy keeps carries?
// Each session is made as bench/keeps.mjs makes its `--keep-rule any` sessions (the builtin search on the
// noisy trainer of bench/keeps-fixture.mjs, whose true metric is a known function of its constants; the
// runs evaluated in-process), then `autoresearch finalize --yes` is run on it as a user would: the real
// command, its runs real subprocesses through the session's local executor. Each verdict is checked against
// the truth: the true metric of the code finalize measured (the best with the change taken out, from the
// commit its runs record) against the true metric of its reference (the best, or the best without the
// changes it had to be taken out with). Reported over the seeds:
//   no-effect keeps found `within noise`: of the kept changes whose removal changes the true metric by
//     nothing (WEIGHT_DECAY, BETA2, ADAM_EPS, or a constant set back to where it was), the share judged
//     `within noise` (target >= 90%);
//   real changes wrongly dropped: kept changes whose removal truly loses something, judged `within noise`
//     or `hurts` (the smallest set takes those out; target 0), with their true loss in noise sd;
//   runs spent: finalize's runs, as a ratio to the session's own runs;
//   the smallest set: accepted or not, and its true metric against the best's.
// Sizes: BENCH_EXPERIMENTS (default 100), BENCH_SEEDS (1,2,3), BENCH_NOISE (0.01), BENCH_FINALIZE_RUNS
// (default: finalize's own default N).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { latestFinalize, readFinalizeEntries } from "../dist/ledger/finalize-records.js";
import { research } from "../dist/loop/research.js";
import { detectPlatform } from "../dist/platform/index.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { StopControl } from "../dist/search/stop.js";
import { Git } from "../dist/workspace/git.js";
import { TRAIN, trueMetric, VmExecutor } from "./keeps-fixture.mjs";
import { benchRepo, recordsDir } from "./repo.mjs";

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 100);
const SEEDS = (process.env.BENCH_SEEDS ?? "1,2,3").split(",").map(Number);
const SIGMA = Number(process.env.BENCH_NOISE ?? 0.01);
const RUNS = process.env.BENCH_FINALIZE_RUNS;
const BIN = fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));
/** A true loss this small is no loss: the fixture's truth is exact, only float rounding moves it. */
const ZERO = 1e-9;

/** The session, as keeps.mjs makes its `any` sessions (in-process, the runs evaluated in a VM). */
async function makeSession(seed, platform) {
  const root = benchRepo("ar-finalize-", { "train.js": TRAIN, "prepare.js": "// read-only\n" });
  const executor = new VmExecutor();
  const config = {
    train: "train.js",
    readonly: ["prepare.js"],
    budgetSec: 1,
    metric: "val_loss",
    direction: "min",
    maxIterations: EXPERIMENTS,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag: `b${seed}`,
    results: "results.tsv",
    command: "node train.js",
    timeoutSec: 10,
    proposer: "builtin",
    seed,
    runSeed: seed * 100,
    reportEvery: 1000,
    keepRule: "any",
  };
  const deps = {
    git: new Git(root),
    executor,
    proposer: new BuiltinProposer({ seed }),
    emit: () => {},
    now: () => new Date(),
    stop: new StopControl(),
    baseEnv: { BENCH_NOISE: String(SIGMA) },
    graceMs: 100,
  };
  await research(root, { kind: "new", config, platform }, deps);
  return { root, sessionRuns: executor.runs };
}

/** `autoresearch finalize --yes` in the session's repo, as a user runs it. */
function finalize(root) {
  const args = [BIN, "finalize", "--yes", ...(RUNS ? ["--runs", RUNS] : [])];
  const started = performance.now();
  const out = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: { ...process.env, BENCH_NOISE: String(SIGMA), NO_COLOR: "1" }, maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`finalize exited ${out.status}:\n${out.stderr.slice(-4000)}`);
  return { stdout: out.stdout, sec: (performance.now() - started) / 1000 };
}

const key = (removed) => [...removed].sort((a, b) => a - b).join(",");

/** Each verdict against the truth of the code finalize ran. */
function judge(root) {
  const attempt = latestFinalize(readFinalizeEntries(join(recordsDir(root), "finalize.jsonl")));
  if (!attempt?.result) throw new Error("finalize recorded no result");
  const commitOf = new Map();
  for (const run of attempt.runs) if (run.batch === "changes") commitOf.set(run.kind === "best" ? "" : run.kind === "baseline" ? "baseline" : key(run.removed), run.commit);
  const truthCache = new Map();
  const truth = (commit) => {
    if (!truthCache.has(commit)) truthCache.set(commit, trueMetric(root, commit));
    return truthCache.get(commit);
  };
  const best = attempt.result.best.commit;
  const rows = attempt.result.verdicts.map((v) => {
    if (process.env.BENCH_DEBUG) console.log(JSON.stringify({ change: v.change, removedWith: v.removedWith, dependsOn: v.dependsOn, verdict: v.verdict }));
    const withs = v.removedWith ?? [];
    const variant = commitOf.get(key([v.change, ...withs]));
    const reference = withs.length > 0 ? commitOf.get(key(withs)) : best;
    // min: a positive loss is a higher true metric without the change.
    const trueLoss = variant && reference ? truth(variant) - truth(reference) : null;
    return { change: v.change, description: v.description, verdict: v.verdict, trueLoss, keptDelta: v.keptDelta };
  });
  const smallest = attempt.result.smallestSet;
  const setTruth = smallest.commit ? truth(smallest.commit) : null;
  return { rows, result: attempt.result, header: attempt.header, bestTruth: truth(best), setTruth, smallest };
}

const platform = await detectPlatform({ command: "node train.js", root: tmpdir() });
const started = performance.now();
const totals = { noEffect: 0, noEffectWithin: 0, noEffectOther: [], real: 0, realDropped: [], big: 0, bigDropped: 0, harmful: 0, harmfulKept: 0, unmeasured: 0, runs: 0, sessionRuns: 0, sec: 0 };
let shown = false;
for (const seed of SEEDS) {
  const { root, sessionRuns } = await makeSession(seed, platform);
  const { stdout, sec } = finalize(root);
  if (!shown && process.env.BENCH_SHOW_TABLE) {
    console.log(stdout);
    shown = true;
  }
  const j = judge(root);
  let noEffect = 0;
  let within = 0;
  let real = 0;
  let dropped = 0;
  for (const r of j.rows) {
    if (r.trueLoss === null) {
      totals.unmeasured++;
      continue;
    }
    if (Math.abs(r.trueLoss) < ZERO) {
      noEffect++;
      if (r.verdict === "within noise") within++;
      else totals.noEffectOther.push(`seed ${seed} #${r.change} ${r.description}: ${r.verdict}`);
    } else if (r.trueLoss > 0) {
      real++;
      if (r.trueLoss >= 2 * SIGMA - ZERO) totals.big++;
      if (r.verdict === "within noise" || r.verdict === "hurts") {
        dropped++;
        totals.realDropped.push(`seed ${seed} #${r.change} ${r.description}: ${r.verdict}, true loss ${r.trueLoss.toFixed(4)} (${(r.trueLoss / SIGMA).toFixed(2)} sd)`);
        if (r.trueLoss >= 2 * SIGMA - ZERO) totals.bigDropped++;
      }
    } else {
      totals.harmful++;
      if (r.verdict === "matters") totals.harmfulKept++;
    }
  }
  totals.noEffect += noEffect;
  totals.noEffectWithin += within;
  totals.real += real;
  totals.runs += j.result.runs;
  totals.sessionRuns += sessionRuns;
  totals.sec += sec;
  const gainKept = j.setTruth === null ? "—" : `${(j.setTruth - j.bestTruth >= 0 ? "+" : "")}${(j.setTruth - j.bestTruth).toFixed(4)}`;
  console.log(
    `finalize: seed ${seed}: ${j.rows.length} kept changes on the best's lineage (${real} real, ${noEffect} no-effect, ${j.rows.length - real - noEffect} harmful or unmeasured); ` +
      `no-effect within noise ${within}/${noEffect}, real dropped ${dropped}/${real}; N ${j.header.runsPerVariant} (${j.header.runsFrom}); ` +
      `${j.result.runs} runs (${(j.result.runs / sessionRuns).toFixed(2)}x the session's ${sessionRuns}), ${sec.toFixed(0)}s; ` +
      `smallest set ${j.smallest.accepted ? "accepted" : "not accepted"} (${j.smallest.kept.length} of ${j.rows.length}), true metric vs the best's ${gainKept}`,
  );
  if (process.env.BENCH_KEEP) console.log(`finalize:   kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
const share = totals.noEffect === 0 ? null : totals.noEffectWithin / totals.noEffect;
console.log(`finalize: noise sd ${SIGMA}, ${EXPERIMENTS} experiments x seeds ${SEEDS.join(",")}, ${((performance.now() - started) / 1000).toFixed(0)}s`);
console.log(
  `finalize: no-effect keeps found within noise ${share === null ? "—" : `${(share * 100).toFixed(1)}%`} (${totals.noEffectWithin}/${totals.noEffect}); ` +
    `real changes wrongly dropped ${totals.realDropped.length} (of ${totals.real}; of those truly >= 2 noise sd: ${totals.bigDropped} of ${totals.big}); truly harmful keeps judged \`matters\` ${totals.harmfulKept} (of ${totals.harmful}); ` +
    `runs ${totals.runs} = ${(totals.runs / totals.sessionRuns).toFixed(2)}x the sessions' ${totals.sessionRuns}${totals.unmeasured ? `; ${totals.unmeasured} verdicts without a measured variant` : ""}`,
);
for (const line of totals.noEffectOther) console.log(`finalize:   no-effect not within noise: ${line}`);
for (const line of totals.realDropped) console.log(`finalize:   real change dropped: ${line}`);
console.log(
  `finalize: targets: no-effect within noise >= 90%: ${share !== null && share >= 0.9 ? "met" : "NOT met"}; real changes wrongly dropped 0: ${totals.realDropped.length === 0 ? "met" : `NOT met (${totals.realDropped.length})`}`,
);
