import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SessionInfo } from "../../src/ledger/ledger.js";
import { toResultsRow } from "../../src/ledger/ledger.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { formatRow, resultsHeader } from "../../src/ledger/results-tsv.js";
import type { Category, Direction, ExperimentRecord, Status, TokenUsage } from "../../src/types.js";
import type { ResearchConfig } from "../../src/config/options.js";

/**
 * Realistic sessions for report tests: experiment records, results.tsv and session.json as the
 * loop writes them, in temp dirs; and real git repos with a research branch for merge tests.
 */

export interface ExperimentSpec {
  description: string;
  category?: Category;
  /** null = crash (no metric). */
  metric: number | null;
  /** Default: crash when metric is null, keep when it beats the best so far, else discard. */
  status?: Status;
  reason?: string;
  detail?: string;
  direction?: string;
  memGb?: number | null;
  usage?: TokenUsage;
  costUsd?: number;
  commit?: string;
}

export interface BuildOptions {
  direction?: Direction;
  /** Session start; each experiment takes `stepSec`. */
  start?: Date;
  stepSec?: number;
  baselineCommit?: string;
}

export function fakeSha(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}

/** Baseline first, then the experiments, with statuses, reasons and bestBefore as the loop decides them. */
export function buildRecords(baseline: number, specs: ExperimentSpec[], options: BuildOptions = {}): ExperimentRecord[] {
  const direction = options.direction ?? "min";
  const start = (options.start ?? new Date("2025-03-08T22:00:00Z")).getTime();
  const step = (options.stepSec ?? 330) * 1000;
  const baseCommit = options.baselineCommit ?? fakeSha("baseline");
  const records: ExperimentRecord[] = [
    {
      id: 0,
      commit: baseCommit,
      parent: baseCommit,
      trainHash: fakeSha("train-0"),
      description: "Baseline — no modifications",
      category: "baseline",
      status: "keep",
      reason: "baseline",
      metric: baseline,
      memGb: 44.0,
      params: 124_000_000,
      bestBefore: null,
      startedAt: new Date(start).toISOString(),
      finishedAt: new Date(start + step).toISOString(),
      durationSec: step / 1000,
      proposer: "baseline",
      lines: 300,
    },
  ];
  let best = baseline;
  let bestCommit = baseCommit;
  specs.forEach((spec, index) => {
    const id = index + 1;
    const better = spec.metric !== null && (direction === "min" ? spec.metric < best : spec.metric > best);
    const status: Status = spec.status ?? (spec.metric === null ? "crash" : better ? "keep" : "discard");
    const reason =
      spec.reason ?? (status === "crash" ? "exit-code" : status === "keep" ? "improved" : spec.metric === best ? "no-change" : "regression");
    const commit = spec.commit ?? fakeSha(`experiment-${id}-${spec.description}`);
    records.push({
      id,
      commit,
      parent: bestCommit,
      trainHash: fakeSha(`train-${id}`),
      description: spec.description,
      category: spec.category ?? "other",
      status,
      reason,
      detail: spec.detail ?? (status === "crash" ? "exit code 1: RuntimeError" : reason),
      metric: status === "crash" ? null : spec.metric,
      memGb: status === "crash" ? null : (spec.memGb ?? 44 + (id % 5) * 0.3),
      params: 124_000_000,
      bestBefore: best,
      startedAt: new Date(start + id * step).toISOString(),
      finishedAt: new Date(start + (id + 1) * step).toISOString(),
      durationSec: step / 1000,
      proposer: "anthropic",
      direction: spec.direction,
      usage: spec.usage,
      costUsd: spec.costUsd,
      lines: 300,
    });
    if (status === "keep" && spec.metric !== null) {
      best = spec.metric;
      bestCommit = commit;
    }
  });
  return records;
}

/** The full sha of experiment `id` (throws when there is none, so tests fail loudly). */
export function commitAt(records: ExperimentRecord[], id: number): string {
  const record = records[id];
  if (!record) throw new Error(`no experiment ${id}`);
  return record.commit;
}

/** A night's session on val_bpb (min): wins, regressions, crashes, near-misses, directions. */
export const REALISTIC_SPECS: ExperimentSpec[] = [
  { description: "Increase learning rate from 0.02 to 0.04", category: "optimizer", metric: 0.9932, direction: "learning-rate sweep", usage: { inputTokens: 12000, outputTokens: 800 }, costUsd: 0.05 },
  { description: "Switch to GeLU activation", category: "architecture", metric: 1.005, direction: "activation functions", usage: { inputTokens: 12500, outputTokens: 700 }, costUsd: 0.05 },
  { description: "ReLU² activation instead of GELU", category: "architecture", metric: 0.9821, direction: "activation functions", usage: { inputTokens: 13000, outputTokens: 900 }, costUsd: 0.06 },
  { description: "Double model width", category: "architecture", metric: null, reason: "oom", detail: "OOM: CUDA out of memory. Tried to allocate 2.00 GiB", direction: "model size" },
  { description: "Deeper MLP (4x -> 6x expansion)", category: "architecture", metric: 1.0023, direction: "model size" },
  { description: "Warmup 200 steps instead of 100", category: "optimizer", metric: 0.9823, direction: "schedule" },
  { description: "Weight decay 0.1 -> 0.2", category: "optimizer", metric: 0.9901, direction: "regularisation" },
  { description: "Cosine cooldown over the last 30%", category: "optimizer", metric: 0.9744, direction: "schedule" },
  { description: "Batch size 2x with grad accumulation", category: "training", metric: 0.9811, direction: "batching" },
  { description: "Dropout 0.1", category: "training", metric: 0.9902, direction: "regularisation" },
  { description: "bf16 autocast for the MLP", category: "training", metric: null, reason: "nan", detail: "metric is NaN", direction: "precision" },
  { description: "Value residual across layers", category: "architecture", metric: 0.9655, direction: "residual paths" },
  { description: "Sliding window attention (1024)", category: "architecture", metric: 0.9712, direction: "attention pattern" },
  { description: "Muon optimizer for matrices", category: "optimizer", metric: 0.9612, direction: "optimizer type" },
  { description: "Lion optimizer", category: "optimizer", metric: 0.9833, direction: "optimizer type" },
  { description: "Gradient clipping at 1.0", category: "optimizer", metric: 0.9613, direction: "stability" },
  { description: "Stochastic depth 0.1", category: "training", metric: 0.9701, direction: "regularisation" },
  { description: "Curriculum: short sequences first", category: "training", metric: null, reason: "timeout", detail: "timeout after 600s", direction: "data ordering" },
  { description: "Per-layer LR multipliers", category: "optimizer", metric: 0.9689, direction: "optimizer type" },
  { description: "Init std 0.02 -> 0.01", category: "hyperparameters", metric: 0.9640, direction: "initialisation" },
];

export function researchConfig(overrides: Partial<ResearchConfig> = {}): ResearchConfig {
  return {
    train: "train.py",
    readonly: ["prepare.py"],
    budgetSec: 300,
    metric: "val_bpb",
    direction: "min",
    maxIterations: 100,
    scope: ["architecture", "hyperparameters", "optimizer", "training"],
    tag: "mar8",
    results: "results.tsv",
    command: "uv run train.py",
    timeoutSec: 600,
    proposer: "anthropic",
    seed: 0,
    reportEvery: 10,
    ...overrides,
  };
}

export function sessionInfo(overrides: Partial<SessionInfo> = {}, config: Partial<ResearchConfig> = {}): SessionInfo {
  const cfg = researchConfig(config);
  return {
    version: 1,
    tag: cfg.tag,
    branch: `autoresearch/${cfg.tag}`,
    baseBranch: "main",
    baseCommit: fakeSha("baseline"),
    startedAt: "2025-03-08T21:58:00.000Z",
    config: cfg,
    platform: {
      kind: "cuda",
      label: "CUDA",
      device: "cuda",
      os: "linux",
      detail: "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90",
      source: "torch",
      adjustments: { compile: true, compileMode: "reduce-overhead", attention: "flash", ampDtype: "bf16", batchScale: 1, castOptimizerStateFp32: false, notes: [] },
    },
    guardedHashes: {},
    ...overrides,
  };
}

export function tempDir(prefix = "ar-report-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Writes .autoresearch/session.json, experiments.jsonl and results.tsv as the loop would. */
export function writeSessionFiles(root: string, records: ExperimentRecord[], session: SessionInfo | null): { resultsPath: string } {
  const paths = legacyPaths(root);
  mkdirSync(paths.dir, { recursive: true });
  if (session) writeFileSync(paths.session, `${JSON.stringify(session, null, 2)}\n`);
  writeFileSync(paths.experiments, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
  const resultsPath = join(root, session?.config.results ?? "results.tsv");
  writeFileSync(resultsPath, resultsHeader(session?.config.metric ?? "val_bpb") + records.map((r) => formatRow(toResultsRow(r))).join(""));
  return { resultsPath };
}

/** A results.tsv in Karpathy's format: `memory_gb` header, 0.000000 / 0.0 on crashes. */
export const KARPATHY_RESULTS = [
  "commit\tval_bpb\tmemory_gb\tstatus\tdescription",
  "a1b2c3d\t0.997900\t44.0\tkeep\tbaseline",
  "b2c3d4e\t0.993200\t44.2\tkeep\tincrease LR to 0.04",
  "c3d4e5f\t1.005000\t44.0\tdiscard\tswitch to GeLU activation",
  "d4e5f6a\t0.000000\t0.0\tcrash\tdouble model width (OOM)",
  "e5f6a7b\t0.987100\t44.1\tkeep\tReLU squared activation",
  "f6a7b8c\t0.988000\t44.1\tdiscard\tweight decay 0.2",
  "a7b8c9d\t0.985500\t45.3\tkeep\tadd value residual",
  "b8c9d0e\t0.985600\t45.3\tdiscard\tAdam beta2 0.99",
  "c9d0e1f\t0.000000\t0.0\tcrash\tfp8 matmuls (nan loss)",
  "d0e1f2a\t0.990100\t44.9\tdiscard\tdropout 0.1",
  "",
].join("\n");

// ---------------------------------------------------------------------------------------------
// Real git repos for merge tests.

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
      GIT_CONFIG_NOSYSTEM: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

export const TRAIN_PY = [
  "import os",
  "LR = 0.02",
  "WARMUP = 100",
  "ACTIVATION = 'gelu'",
  "DEPTH = 8",
  "",
  "def main():",
  "    print(f'val_bpb: {1.0 - LR:.6f}')",
  "",
  "if __name__ == '__main__':",
  "    main()",
  "",
].join("\n");

export interface GitSession {
  root: string;
  branch: string;
  base: string;
  baseCommit: string;
  keptCommits: string[];
  records: ExperimentRecord[];
}

/**
 * main with train.py + prepare.py; autoresearch/<tag> with three kept experiments (each edits
 * one line of train.py); discarded ones archived under refs/autoresearch/<tag>/<n>, as the loop does.
 */
export function createGitSession(root: string, tag = "mar8"): GitSession {
  git(root, "init", "--quiet", "--initial-branch=main");
  git(root, "config", "user.name", "Test");
  git(root, "config", "user.email", "test@example.com");
  git(root, "config", "commit.gpgsign", "false");
  writeFileSync(join(root, "train.py"), TRAIN_PY);
  writeFileSync(join(root, "prepare.py"), "# read-only data prep\n");
  writeFileSync(join(root, "README.md"), "# tiny\n");
  writeFileSync(join(root, ".gitignore"), "results.tsv\n");
  mkdirSync(join(root, ".git", "info"), { recursive: true });
  writeFileSync(join(root, ".git", "info", "exclude"), ".autoresearch/\nautoresearch-summary.md\nprogress.svg\nprogress.png\n");
  git(root, "add", "-A");
  git(root, "commit", "--quiet", "-m", "initial");
  const baseCommit = git(root, "rev-parse", "HEAD");
  const branch = `autoresearch/${tag}`;
  git(root, "checkout", "--quiet", "-b", branch);

  let text = TRAIN_PY;
  const edit = (search: string, replace: string, message: string): string => {
    text = text.replace(search, replace);
    writeFileSync(join(root, "train.py"), text);
    git(root, "commit", "--quiet", "-am", message);
    return git(root, "rev-parse", "HEAD");
  };
  const kept1 = edit("LR = 0.02", "LR = 0.04", "exp 1: increase learning rate to 0.04");
  // A discarded experiment: committed, archived, then reset away.
  const discarded = edit("DEPTH = 8", "DEPTH = 12", "exp 2: deeper model");
  git(root, "update-ref", `refs/autoresearch/${tag}/2`, discarded);
  git(root, "reset", "--quiet", "--hard", kept1);
  const kept3 = edit("ACTIVATION = 'gelu'", "ACTIVATION = 'relu2'", "exp 3: ReLU² activation");
  const kept4 = edit("WARMUP = 100", "WARMUP = 200", "exp 4: warmup 200 steps");

  const records = buildRecords(
    1.0,
    [
      { description: "increase learning rate to 0.04", category: "optimizer", metric: 0.98, commit: kept1 },
      { description: "deeper model", category: "architecture", metric: 0.99, commit: discarded },
      { description: "ReLU² activation", category: "architecture", metric: 0.97, commit: kept3 },
      { description: "warmup 200 steps", category: "optimizer", metric: 0.965, commit: kept4 },
    ],
    { baselineCommit: baseCommit },
  );
  const session = sessionInfo({ tag, branch, baseBranch: "main", baseCommit }, { tag });
  writeSessionFiles(root, records, session);
  return { root, branch, base: "main", baseCommit, keptCommits: [kept1, kept3, kept4], records };
}
