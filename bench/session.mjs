// A session of the real loop (real git, `research`) on a trainer run in-process by bench/keeps-fixture.mjs's
// VmExecutor: the setup the keeps, finalize and tree benches share.
import { research } from "../dist/loop/research.js";
import { BuiltinProposer } from "../dist/proposers/builtin/index.js";
import { StopControl } from "../dist/search/stop.js";
import { Git } from "../dist/workspace/git.js";
import { VmExecutor } from "./keeps-fixture.mjs";
import { benchRepo, sessionRecords } from "./repo.mjs";

/**
 * A repo holding `script` as train.js (beside a read-only prepare.js), the loop run on it to its end with the
 * builtin search (or `proposer`) drawn from `seed`. `config` adds to the defaults or overrides them (tag,
 * maxIterations and the keep rule are the caller's); `noise` is the trainer's BENCH_NOISE. Returns the repo,
 * its experiment records and the runs the executor made.
 */
export async function vmSession({ prefix, script, seed, config, noise, platform, executor = new VmExecutor(), proposer = new BuiltinProposer({ seed }) }) {
  const root = benchRepo(prefix, { "train.js": script, "prepare.js": "// read-only\n" });
  const full = {
    train: "train.js",
    readonly: ["prepare.js"],
    budgetSec: 1,
    metric: "val_loss",
    direction: "min",
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    results: "results.tsv",
    command: "node train.js",
    timeoutSec: 10,
    proposer: "builtin",
    seed,
    runSeed: seed * 100,
    reportEvery: 1000,
    ...config,
  };
  const deps = { git: new Git(root), executor, proposer, emit: () => {}, now: () => new Date(), stop: new StopControl(), baseEnv: { BENCH_NOISE: String(noise) }, graceMs: 100 };
  await research(root, { kind: "new", config: full, platform }, deps);
  return { root, records: sessionRecords(root), runs: executor.runs };
}
