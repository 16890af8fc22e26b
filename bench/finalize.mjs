#!/usr/bin/env node
// `autoresearch finalize` on the noisy keeps bench's sessions (bench/keeps.mjs, --keep-rule any: the
// spec's loop, which keeps noise wins): the builtin search for EXPERIMENTS experiments per seed (real git,
// the real loop, its runs evaluated in-process by bench/keeps-fixture.mjs), then the real command,
// `autoresearch finalize --yes`, as a user runs it: its runs are real subprocesses through the session's
// local executor. Each kept change on the best's lineage is classified by its TRUE effect: the true metric
// of the code finalize ran for it (the best without it and its companions, from finalize.jsonl) minus the
// true metric of its reference (the best, or the best without the companions):
//   no effect: exactly 0 (WEIGHT_DECAY, BETA2, ADAM_EPS, or a move that lands on the same truth);
//   real: at least 2 noise sd (as the keeps bench's drift part counts a real improvement);
//   small: in between (neither target counts it; reported); harmful: below 0 (truly better without it).
// Reported: the share of no-effect keeps found `within noise` (target >= 90%), real changes wrongly
// dropped (left out of the final code: the smallest set, when it was accepted; target 0), real changes
// not found to matter (their verdict), small ones left out, the final code's true metric against the
// best's, and the runs finalize spent (against the session's own). BENCH_VERBOSE=1 lists every change;
// BENCH_SHOW_TABLE=1 prints the first session's table as finalize printed it; BENCH_KEEP=1 keeps the repos.
// Sizes: BENCH_EXPERIMENTS (100), BENCH_SEEDS (1..10), BENCH_NOISE (0.01), BENCH_FINALIZE_RUNS (finalize's default).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { latestFinalize, readFinalizeEntries } from "../dist/ledger/finalize-records.js";
import { removalOf, variantKey } from "../dist/ledger/finalize-verdicts.js";
import { detectPlatform } from "../dist/platform/index.js";
import { TRAIN, trueMetric } from "./keeps-fixture.mjs";
import { recordsDir } from "./repo.mjs";
import { vmSession } from "./session.mjs";

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 100);
// Ten seeds: a session keeps only a few no-effect changes on the best's lineage, and the share needs a sample.
const SEEDS = (process.env.BENCH_SEEDS ?? "1,2,3,4,5,6,7,8,9,10").split(",").map(Number);
const SIGMA = Number(process.env.BENCH_NOISE ?? 0.01);
const RUNS = process.env.BENCH_FINALIZE_RUNS;
const BIN = fileURLToPath(new URL("../bin/autoresearch.js", import.meta.url));
/** A true loss this small is no loss: the fixture's truth is exact, only float rounding moves it. */
const ZERO = 1e-9;

/** The session, as keeps.mjs makes its `any` sessions. */
async function makeSession(seed, platform) {
  const config = { maxIterations: EXPERIMENTS, tag: `b${seed}`, keepRule: "any" };
  const { root, runs } = await vmSession({ prefix: "ar-finalize-", script: TRAIN, seed, config, noise: SIGMA, platform });
  return { root, sessionRuns: runs };
}

/** `autoresearch finalize --yes` in the session's repo, as a user runs it (the trainer reads BENCH_NOISE from the environment). */
function finalize(root) {
  const args = [BIN, "finalize", "--yes", ...(RUNS ? ["--runs", RUNS] : [])];
  const started = performance.now();
  const out = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: { ...process.env, BENCH_NOISE: String(SIGMA), NO_COLOR: "1" }, maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`finalize exited ${out.status}:\n${out.stderr.slice(-4000)}`);
  return { stdout: out.stdout, sec: (performance.now() - started) / 1000 };
}

async function one(seed, platform, showTable) {
  const { root, sessionRuns } = await makeSession(seed, platform);
  const { stdout, sec } = finalize(root);
  if (showTable) console.log(stdout);
  const attempt = latestFinalize(readFinalizeEntries(join(recordsDir(root), "finalize.jsonl")));
  if (!attempt?.result) throw new Error(`seed ${seed}: finalize recorded no result`);
  const { header, result } = attempt;
  // The code finalize ran for each change: the best without it (and its companions), against the best without the companions.
  const variants = new Map((attempt.batches.changes?.variants ?? []).map((v) => [variantKey(v.kind, v.removed), v.commit]));
  const truth = new Map();
  const trueOf = (commit) => {
    if (!truth.has(commit)) truth.set(commit, trueMetric(root, commit));
    return truth.get(commit);
  };
  const bestTrue = trueOf(header.best.commit);
  const counts = { noEffect: 0, noEffectWithin: 0, real: 0, realDropped: 0, realMissed: 0, small: 0, smallDropped: 0, harmful: 0, harmfulDropped: 0, unmeasured: 0 };
  const notes = [];
  for (const v of result.verdicts) {
    const { removed, reference } = removalOf(header, v.change);
    const without = variants.get(variantKey("ablation", removed));
    const against = reference.length === 0 ? header.best.commit : variants.get(variantKey("ablation", reference));
    if (!without || !against) {
      counts.unmeasured++;
      continue;
    }
    const trueLoss = trueOf(without) - trueOf(against);
    const dropped = result.smallestSet.accepted && result.smallestSet.removed.includes(v.change);
    const line = `seed ${seed} #${v.change} ${v.description}: true loss ${trueLoss.toFixed(4)} (${(trueLoss / SIGMA).toFixed(2)} sd), measured ${v.loss?.mean.toFixed(4)} (z ${v.loss?.z.toFixed(1)}), ${v.verdict}${dropped ? ", left out" : ""}`;
    if (process.env.BENCH_VERBOSE) console.log(`  ${line}`);
    if (Math.abs(trueLoss) < ZERO) {
      counts.noEffect++;
      if (v.verdict === "within noise") counts.noEffectWithin++;
      else notes.push(`no-effect keep not within noise: ${line}`);
    } else if (trueLoss >= 2 * SIGMA - ZERO) {
      counts.real++;
      if (dropped) {
        counts.realDropped++;
        notes.push(`real change dropped: ${line}`);
      }
      if (v.verdict !== "matters") counts.realMissed++;
    } else if (trueLoss < 0) {
      counts.harmful++;
      if (dropped) counts.harmfulDropped++;
    } else {
      counts.small++;
      if (dropped) counts.smallDropped++;
    }
  }
  const finalCommit = result.smallestSet.accepted && result.smallestSet.commit ? result.smallestSet.commit : header.best.commit;
  const finalTrue = trueOf(finalCommit);
  if (process.env.BENCH_KEEP) notes.push(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
  return { changes: result.verdicts.length, counts, notes, runs: result.runs, sessionRuns, rounds: header.runsPerVariant, bestTrue, finalTrue, kept: result.smallestSet.kept.length, accepted: result.smallestSet.accepted, sec };
}

const platform = await detectPlatform({ command: "node train.js", root: tmpdir() });
const started = performance.now();
const total = { noEffect: 0, noEffectWithin: 0, real: 0, realDropped: 0, realMissed: 0, small: 0, smallDropped: 0, harmful: 0, harmfulDropped: 0, unmeasured: 0, runs: 0, sessionRuns: 0, accepted: 0, finalTrue: 0, bestTrue: 0 };
const notes = [];
for (const [i, seed] of SEEDS.entries()) {
  const r = await one(seed, platform, i === 0 && Boolean(process.env.BENCH_SHOW_TABLE));
  for (const k of Object.keys(r.counts)) total[k] += r.counts[k];
  total.runs += r.runs;
  total.sessionRuns += r.sessionRuns;
  total.accepted += r.accepted ? 1 : 0;
  total.finalTrue += r.finalTrue / SEEDS.length;
  total.bestTrue += r.bestTrue / SEEDS.length;
  notes.push(...r.notes);
  const c = r.counts;
  console.log(
    `finalize: seed ${seed}: ${r.changes} kept changes (${c.noEffect} no effect, ${c.real} real, ${c.small} small, ${c.harmful} harmful); no-effect within noise ${c.noEffectWithin}/${c.noEffect}; real dropped ${c.realDropped}/${c.real} (not found to matter ${c.realMissed}); small left out ${c.smallDropped}/${c.small}; harmful left out ${c.harmfulDropped}/${c.harmful}; ` +
      `smallest set ${r.kept} of ${r.changes}${r.accepted ? "" : " (not accepted: the best stays)"}, true metric ${r.finalTrue.toFixed(4)} vs the best's ${r.bestTrue.toFixed(4)}; ${r.runs} runs (${r.rounds} per variant) vs the session's ${r.sessionRuns}; ${r.sec.toFixed(0)}s`,
  );
}
const share = total.noEffect === 0 ? 1 : total.noEffectWithin / total.noEffect;
console.log(`finalize: noise sd ${SIGMA}, ${EXPERIMENTS} experiments x seeds ${SEEDS.join(",")} under --keep-rule any, finalize ${RUNS ? `--runs ${RUNS}` : "with its default runs"}, ${((performance.now() - started) / 1000).toFixed(0)}s`);
console.log(
  `finalize: no-effect keeps found within noise ${(share * 100).toFixed(0)}% (${total.noEffectWithin}/${total.noEffect}, target >= 90%: ${share >= 0.9 ? "met" : "NOT met"}); ` +
    `real changes wrongly dropped ${total.realDropped} of ${total.real} (target 0: ${total.realDropped === 0 ? "met" : "NOT met"}; ${total.realMissed} not found to matter); ` +
    `small real changes (under 2 sd) left out ${total.smallDropped} of ${total.small}; runs spent ${total.runs} = ${(total.runs / total.sessionRuns).toFixed(2)}x the sessions' ${total.sessionRuns}${total.unmeasured ? `; ${total.unmeasured} verdicts without a measured variant` : ""}`,
);
console.log(
  `finalize: the smallest set was accepted as the final code in ${total.accepted} of ${SEEDS.length} sessions; the final code's true metric ${total.finalTrue.toFixed(4)} vs the best's ${total.bestTrue.toFixed(4)} (means)`,
);
for (const note of notes) console.log(`finalize:   ${note}`);
