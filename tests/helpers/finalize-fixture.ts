/**
 * A session with known effects for `autoresearch finalize`, built by really running the loop: a
 * noisy trainer whose true metric is a known function of its constants, and a plan that keeps,
 * under --keep-rule any, seven changes in this order:
 *
 *   #1 BIG 0 -> 1        real, -0.30
 *   #2 MEDIUM 0 -> 1     real, -0.12
 *   #3 NOOP1 0 -> 1      no effect (kept on a lucky run: see below)
 *   #4 SMALL 0 -> 1      real, -0.05
 *   #5 NOOP2 0 -> 1      no effect
 *   #6 TOGETHER 0 -> 1   no effect alone; -0.08 together with MEDIUM (so kept, on top of it)
 *   #7 NOOP3 0 -> 1      no effect
 *
 * TOGETHER comes late so that, with two workers running side by side, MEDIUM is in the best
 * before TOGETHER is proposed: its keep does not depend on which run ends first.
 *
 * The noise is uniform, about ±0.017 (sd 0.01), drawn from AUTORESEARCH_SEED and every constant
 * (so a change with no effect still draws other noise). A no-op is a change kept on a lucky run:
 * on seed 0, the seed of every experiment's first run (the one `any` decides on), it looks 0.04
 * better; on any other seed it does nothing. So each no-op is kept whatever its parent (two
 * workers build a different tree than one), and finalize, which runs seeds the session never
 * used, must find it within noise.
 */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { ResearchConfig } from "../../src/config/options.js";
import { research } from "../../src/loop/research.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import type { ExperimentRecord, PlatformInfo, Proposal, Proposer } from "../../src/types.js";
import { testConfig, testDeps } from "../loop/deps.js";
import { SEEDED_UNIT } from "./noisy.js";
import { createRepo, FAKE_PREPARE, git, recordPath } from "./repo.js";

export const FINALIZE_TRAIN = `const BIG = 0;
const MEDIUM = 0;
const SMALL = 0;
const TOGETHER = 0;
const NOOP1 = 0;
const NOOP2 = 0;
const NOOP3 = 0;

${SEEDED_UNIT}// Tests that kill a run in flight slow it down (milliseconds).
const pause = Number(process.env.FIXTURE_SLEEP_MS ?? 0);
if (pause > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
const truth = 1 - 0.3 * BIG - 0.12 * MEDIUM - 0.05 * SMALL - 0.08 * (TOGETHER > 0 && MEDIUM > 0 ? 1 : 0);
const salt = BIG * 11 + MEDIUM * 13 + SMALL * 17 + TOGETHER * 19 + NOOP1 * 104729 + NOOP2 * 15485863 + NOOP3 * 2147483;
const noise = (unit(seed * 7919 + salt) - 0.5) * 0.0346;
// A no-op's luck: on seed 0, the seed every experiment's first run gets, each no-op looks 0.04 better.
const lucky = seed === 0 ? 0.04 * ((NOOP1 > 0 ? 1 : 0) + (NOOP2 > 0 ? 1 : 0) + (NOOP3 > 0 ? 1 : 0)) : 0;
console.log("budget: " + process.env.AUTORESEARCH_TIME_BUDGET);
console.log("num_steps: 100");
console.log("training_seconds: 1.0");
console.log("val_loss: " + (truth + noise - lucky).toFixed(6));
`;

function step(n: number, name: string, to: number, description: string): Proposal {
  return { description, category: "hyperparameters", edits: [{ search: `const ${name} = 0;`, replace: `const ${name} = ${to};` }], planStep: n };
}

/** The plan, as `--plan` lines would give it. */
export const FINALIZE_STEPS: Proposal[] = [
  step(0, "BIG", 1, "BIG 0 -> 1"),
  step(1, "MEDIUM", 1, "MEDIUM 0 -> 1"),
  step(2, "NOOP1", 1, "NOOP1 0 -> 1"),
  step(3, "SMALL", 1, "SMALL 0 -> 1"),
  step(4, "NOOP2", 1, "NOOP2 0 -> 1"),
  step(5, "TOGETHER", 1, "TOGETHER 0 -> 1"),
  step(6, "NOOP3", 1, "NOOP3 0 -> 1"),
];

/** The plan file's text (one JSON proposal a line), for `run --proposer plan --plan`. */
export function finalizePlanFile(): string {
  return FINALIZE_STEPS.map(({ description, category, edits }) => JSON.stringify({ description, category, edits })).join("\n");
}

export function finalizePlan(): PlanProposer {
  return new PlanProposer(FINALIZE_STEPS);
}

/** The machine the fixture's sessions say they ran on: given, not detected (no test here is about the platform). */
export const FIXTURE_CPU: PlatformInfo = {
  kind: "cpu",
  label: "CPU",
  device: "cpu",
  os: "linux",
  detail: "test",
  source: "os",
  adjustments: { compile: false, compileMode: null, attention: "sdpa", ampDtype: "fp32", batchScale: 1, castOptimizerStateFp32: false, notes: [] },
};

/** A repository holding the fixture's trainer, its read-only file beside it. */
export function finalizeRepo(): string {
  return createRepo({ "train.js": FINALIZE_TRAIN, "prepare.js": FAKE_PREPARE });
}

/**
 * The fixture session: the loop really run on `proposer` (the plan unless given) under
 * --keep-rule any with three baseline runs; `config` adds to or overrides that. Returns the repo.
 */
export async function finalizeSessionOf(config: Partial<ResearchConfig> = {}, proposer: Proposer = finalizePlan()): Promise<string> {
  const root = finalizeRepo();
  await research(root, { kind: "new", config: testConfig({ keepRule: "any", baselineRuns: 3, ...config }), platform: FIXTURE_CPU }, testDeps(root, proposer));
  return root;
}

/** The experiment numbers of the fixture's changes, by kind. */
export const REAL = [1, 2, 4];
export const NO_EFFECT = [3, 5, 7];
export const TOGETHER = 6;
/** The real change TOGETHER only helps with. */
export const PARTNER = 2;

/** The constants the fixture's changes set, by what they do. */
export const REAL_CONSTANTS = ["BIG", "MEDIUM", "SMALL"];
export const NO_EFFECT_CONSTANTS = ["NOOP1", "NOOP2", "NOOP3"];

export const BASE_CONSTANTS = { BIG: 0, MEDIUM: 0, SMALL: 0, TOGETHER: 0, NOOP1: 0, NOOP2: 0, NOOP3: 0 };

/** The constants a commit's training script sets (name -> value), read from its text. */
export function constantsAt(root: string, ref: string): Record<string, number> {
  const text = git(root, "show", `${ref}:train.js`);
  return Object.fromEntries([...text.matchAll(/^const ([A-Z0-9]+) = (-?\d+);$/gm)].map((m) => [m[1] as string, Number(m[2])]));
}

/**
 * What each kept change of the best's lineage sets (constant -> value), from its commit and its
 * parent's: two workers build another tree than one (side by side, winners combined), so tests
 * judge each change by what it does, not by its number.
 */
export function changesOf(root: string, changes: readonly { id: number }[]): Map<number, Record<string, number>> {
  const records = readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExperimentRecord);
  const out = new Map<number, Record<string, number>>();
  for (const c of changes) {
    const record = records.find((r) => r.id === c.id) as ExperimentRecord;
    const after = constantsAt(root, record.commit);
    const before = constantsAt(root, record.parent);
    out.set(c.id, Object.fromEntries(Object.entries(after).filter(([k, v]) => before[k] !== v)));
  }
  return out;
}

/** The verdict the known effects call for: a change that sets a real constant (or TOGETHER beside MEDIUM) matters; one that sets only no-ops is within noise. */
export function expectedVerdict(sets: Record<string, number>): "matters" | "within noise" {
  const names = Object.keys(sets);
  if (names.some((n) => REAL_CONSTANTS.includes(n) || n === "TOGETHER")) return "matters";
  expect(names.every((n) => NO_EFFECT_CONSTANTS.includes(n)), names.join()).toBe(true);
  return "within noise";
}
