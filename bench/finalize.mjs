#!/usr/bin/env node
// `autoresearch finalize` on the noisy keeps bench's sessions (bench/keeps.mjs, --keep-rule any: the
// spec's loop, which keeps noise wins): the builtin search for EXPERIMENTS experiments per seed, then
// finalize with its default number of runs. Each kept change on the best's lineage is classified by
// its TRUE effect: the true metric of the best without it (the code finalize ran) minus the best's.
//   no effect: exactly 0 (WEIGHT_DECAY, BETA2, ADAM_EPS, or a move that lands on the same truth);
//   real: at least 2 noise sd (as the keeps bench's drift part counts a real improvement);
//   small: in between (neither target counts it); harmful: below 0 (truly better without it).
// Reported: the share of no-effect keeps found `within noise` (target >= 90%), real changes wrongly
// dropped (left out of the final code: the smallest set, when it was accepted; target 0), real
// changes not found to matter (their verdict), the final code's true metric against the best's,
// and the runs finalize spent (against the session's own). BENCH_VERBOSE=1 lists every change. Real git repos, the real loop and the real
// finalize; the runs are evaluated in-process (bench/keeps-fixture.mjs) to keep this affordable.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finalizeAttempts, readFinalizeEntries } from "../dist/ledger/finalize-records.js";
import { removalOf, variantKey } from "../dist/ledger/finalize-verdicts.js";
import { performance } from "node:perf_hooks";
import { research } from "../dist/loop/research.js";
import { finalizeSession } from "../dist/loop/finalize/finalize.js";
import { StopControl } from "../dist/search/stop.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { Git } from "../dist/workspace/git.js";
import { detectPlatform } from "../dist/platform/index.js";
import { benchRepo } from "./repo.mjs";
import { TRAIN, trueMetric, VmExecutor } from "./keeps-fixture.mjs";

const EXPERIMENTS = Number(process.env.BENCH_EXPERIMENTS ?? 100);
// Ten seeds: a session keeps only a few no-effect changes on the best's lineage, and the share needs a sample.
const SEEDS = (process.env.BENCH_SEEDS ?? "1,2,3,4,5,6,7,8,9,10").split(",").map(Number);
const SIGMA = Number(process.env.BENCH_NOISE ?? 0.01);
const RUNS = process.env.BENCH_FINALIZE_RUNS === undefined ? undefined : Number(process.env.BENCH_FINALIZE_RUNS);

async function one(seed, platform) {
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
  const common = { git: new Git(root), now: () => new Date(), stop: new StopControl(), baseEnv: { BENCH_NOISE: String(SIGMA) }, graceMs: 100 };
  await research(root, { kind: "new", config, platform }, { ...common, executor, proposer: new BuiltinProposer({ seed }), emit: () => {} });
  const sessionRuns = executor.runs;
  const outcome = await finalizeSession(root, { ...(RUNS !== undefined && { runs: RUNS }), confirm: async () => true }, { ...common, stop: new StopControl(), executorFor: () => executor });
  const result = outcome.result;
  const header = outcome.header;
  // The code finalize ran for each change: the best without it (and its companions), against the best without the companions.
  const attempt = finalizeAttempts(readFinalizeEntries(join(root, ".git", "autoresearch", config.tag, "records", "finalize.jsonl"))).at(-1);
  const variants = new Map((attempt.batches.changes?.variants ?? []).map((v) => [variantKey(v.kind, v.removed), v.commit]));
  const bestTrue = trueMetric(root, header.best.commit);
  const counts = { noEffect: 0, noEffectWithin: 0, real: 0, realDropped: 0, realMissed: 0, small: 0, harmful: 0, harmfulDropped: 0 };
  for (const v of result.verdicts) {
    const { removed, reference } = removalOf(header, v.change);
    const without = variants.get(variantKey("ablation", removed));
    const against = reference.length === 0 ? header.best.commit : variants.get(variantKey("ablation", reference));
    if (!without || !against) continue;
    const trueLoss = trueMetric(root, without) - (reference.length === 0 ? bestTrue : trueMetric(root, against));
    const dropped = result.smallestSet.accepted && result.smallestSet.removed.includes(v.change);
    if (process.env.BENCH_VERBOSE) console.log(`  #${v.change} ${v.description}: true loss ${trueLoss.toFixed(4)}, measured ${v.loss?.mean.toFixed(4)} (z ${v.loss?.z.toFixed(1)}), ${v.verdict}${dropped ? ", left out" : ""}`);
    if (Math.abs(trueLoss) < 1e-9) {
      counts.noEffect++;
      if (v.verdict === "within noise") counts.noEffectWithin++;
    } else if (trueLoss >= 2 * SIGMA) {
      counts.real++;
      if (dropped) counts.realDropped++;
      if (v.verdict !== "matters") counts.realMissed++;
    } else if (trueLoss < 0) {
      counts.harmful++;
      if (dropped) counts.harmfulDropped++;
    } else counts.small++;
  }
  const finalCommit = result.smallestSet.accepted && result.smallestSet.commit ? result.smallestSet.commit : header.best.commit;
  const smallestTrue = trueMetric(root, finalCommit);
  rmSync(root, { recursive: true, force: true });
  return { seed, changes: result.verdicts.length, counts, runs: result.runs, sessionRuns, rounds: header.runsPerVariant, bestTrue, smallestTrue, kept: result.smallestSet.kept.length, accepted: result.smallestSet.accepted };
}

const platform = await detectPlatform({ command: "node train.js", root: tmpdir() });
const started = performance.now();
const total = { noEffect: 0, noEffectWithin: 0, real: 0, realDropped: 0, realMissed: 0, small: 0, harmful: 0, harmfulDropped: 0, runs: 0, sessionRuns: 0, accepted: 0, finalTrue: 0, bestTrue: 0 };
for (const seed of SEEDS) {
  const r = await one(seed, platform);
  for (const k of Object.keys(r.counts)) total[k] += r.counts[k];
  total.runs += r.runs;
  total.sessionRuns += r.sessionRuns;
  total.accepted += r.accepted ? 1 : 0;
  total.finalTrue += r.smallestTrue / SEEDS.length;
  total.bestTrue += r.bestTrue / SEEDS.length;
  const c = r.counts;
  console.log(
    `finalize: seed ${seed}: ${r.changes} kept changes (${c.noEffect} no effect, ${c.real} real, ${c.small} small, ${c.harmful} harmful); no-effect within noise ${c.noEffectWithin}/${c.noEffect}; real dropped ${c.realDropped}/${c.real} (not found to matter ${c.realMissed}); harmful left out ${c.harmfulDropped}/${c.harmful}; ` +
      `smallest set ${r.kept} of ${r.changes}${r.accepted ? "" : " (not accepted: the best stays)"}, true metric ${r.smallestTrue.toFixed(4)} vs the best's ${r.bestTrue.toFixed(4)}; ${r.runs} runs (${r.rounds} per variant) vs the session's ${r.sessionRuns}`,
  );
}
const share = total.noEffect === 0 ? 1 : total.noEffectWithin / total.noEffect;
console.log(`finalize: noise sd ${SIGMA}, ${EXPERIMENTS} experiments x seeds ${SEEDS.join(",")} under --keep-rule any, ${((performance.now() - started) / 1000).toFixed(0)}s`);
console.log(
  `finalize: no-effect keeps found within noise ${(share * 100).toFixed(0)}% (${total.noEffectWithin}/${total.noEffect}, target >= 90%: ${share >= 0.9 ? "met" : "NOT met"}); ` +
    `real changes wrongly dropped ${total.realDropped} of ${total.real} (target 0: ${total.realDropped === 0 ? "met" : "NOT met"}; ${total.realMissed} not found to matter); ` +
    `runs spent ${total.runs} = ${(total.runs / total.sessionRuns).toFixed(2)}x the sessions' ${total.sessionRuns}`,
);
console.log(
  `finalize: the smallest set was accepted as the final code in ${total.accepted} of ${SEEDS.length} sessions; the final code's true metric ${total.finalTrue.toFixed(4)} vs the best's ${total.bestTrue.toFixed(4)} (means)`,
);
