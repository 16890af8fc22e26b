// Benchmark: the size of the brief (the prompt LLM and coding-agent proposers get) as a session grows.
// Build first: npx tsc -p tsconfig.build.json.
//
//   node bench/brief.mjs                 sizes at 12, 100 and 1,000 experiments (and any given: node bench/brief.mjs 12 5000)
//   node bench/brief.mjs --from <repo>   the brief the next proposal of the session in <repo> would get, printed in full
//   node bench/brief.mjs --real <dir>    a real 12-experiment run on the demo project (a scripted coding agent); prints the last brief it was sent
//
// Sizes use the demo project's real files (examples/tinylm) and synthetic records shaped like a real
// night: a rationale, a prediction, run numbers and one learned line + one idea per experiment. Time to
// build is printed as a ratio to building the brief with no history, measured in the same run.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Ledger } from "../dist/ledger/ledger.js";
import { readMemory } from "../dist/ledger/memory.js";
import { sessionPaths } from "../dist/ledger/paths.js";
import { buildContext } from "../dist/search/propose.js";
import { adjustmentsFor } from "../dist/platform/adjustments.js";
import { buildPrompt, DEFAULT_PROMPT_MAX_CHARS } from "../dist/proposers/prompt.js";
import { Git } from "../dist/workspace/git.js";
import { recordsDir } from "./repo.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const EXAMPLE = join(HERE, "..", "examples", "tinylm");
const BIN = join(HERE, "..", "bin", "autoresearch.js");


// --- sizes -----------------------------------------------------------------------------------

function sizes(counts) {
  const CATEGORIES = ["hyperparameters", "architecture", "optimizer", "training"];
  const IDEAS = ["cosine schedule with a longer warmdown", "tie input and output embeddings", "wider hidden layer with fewer steps", "lower init scale", "larger context window", "gradient clipping at 0.5"];
  const baseRecord = (id, o) => ({
    id, commit: id.toString(16).padStart(40, "0"), parent: "0".repeat(40), trainHash: `h${id}`, description: "Baseline — no modifications",
    category: "baseline", status: "keep", reason: "baseline", metric: 2.5, memGb: 0.05, params: 21000, bestBefore: null,
    startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:04Z", durationSec: 3.4, proposer: "anthropic", lines: 180, ...o,
  });
  const context = (n) => {
    const history = [baseRecord(0, {})];
    const memory = [];
    let best = 2.5;
    for (let i = 1; i <= n; i++) {
      const keep = i % 9 === 0;
      const crash = i % 13 === 0;
      const metric = crash ? null : keep ? best - 0.004 : best + 0.003 * ((i % 5) + 1);
      history.push(baseRecord(i, {
        category: CATEGORIES[i % 4], status: crash ? "crash" : keep ? "keep" : "discard", reason: crash ? "exit-code" : keep ? "improved" : "regression",
        detail: crash ? "exit code 1: TypeError: Cannot read properties of undefined (reading 'length')" : keep ? "-0.004 improvement" : "regression",
        description: `${CATEGORIES[i % 4]} change number ${i}: raise or lower one constant of train.js`, metric, bestBefore: best,
        rationale: `The loss was still falling at the end of the 3 s budget, so change ${i} should let the model use its steps better without slowing each one down.`,
        direction: "learning-rate schedule", expectedDelta: -0.005, steps: 3500 + ((i * 37) % 2400), trainingSec: 3.0,
      }));
      if (keep && metric !== null) best = metric;
      const ts = "2026-01-01T00:00:00Z";
      memory.push({ at: ts, kind: keep ? "finding" : "dead-end", text: `experiment ${i - 1}: the change ${keep ? "helped" : "did not help"}; the step count, not the model size, limits a 3 s run`, source: "model", experiment: i - 1 });
      memory.push({ at: ts, kind: "idea", text: `${IDEAS[i % IDEAS.length]} (variant ${i})`, source: "model", experiment: i });
    }
    const kept = history.filter((r) => r.status === "keep");
    return {
      iteration: n + 1, trainPath: "train.js", trainText: readFileSync(join(EXAMPLE, "train.js"), "utf8"),
      readonlyFiles: [{ path: "prepare.js", text: readFileSync(join(EXAMPLE, "prepare.js"), "utf8") }], readme: readFileSync(join(EXAMPLE, "README.md"), "utf8"),
      metric: { name: "val_bpb", direction: "min" }, history, rejected: [], baseline: history[0], best: kept[kept.length - 1], failureStreak: 2,
      platform: { kind: "cpu", label: "CPU", device: "cpu", os: "linux", detail: "2 cores", source: "os", adjustments: adjustmentsFor("cpu") },
      scope: ["architecture", "hyperparameters", "optimizer", "training"],
      run: { budgetSec: 3, timeoutSec: 13, maxIterations: null, spentUsd: n * 0.03, keepRule: "a change is kept when its one run's metric is better than the best so far by any margin." },
      memory,
    };
  };
  // The fastest of 5 batches: the machine is shared, and the minimum is the least disturbed.
  const time = (ctx, reps) => {
    let best = Number.POSITIVE_INFINITY;
    for (let batch = 0; batch < 5; batch++) {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) buildPrompt(ctx);
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    return best;
  };
  const empty = context(0);
  time(empty, 20);
  const baseMs = time(empty, 50);
  const emptyChars = (({ system, user }) => system.length + user.length)(buildPrompt(empty));
  console.log(`budget ${DEFAULT_PROMPT_MAX_CHARS.toLocaleString()} characters (about ${Math.round(DEFAULT_PROMPT_MAX_CHARS / 4).toLocaleString()} tokens); with no history: ${emptyChars.toLocaleString()} characters, built in ${baseMs.toFixed(2)} ms (the baseline)`);
  console.log("experiments | characters | ~tokens | of budget | table rows shown | collapsed | findings/dead ends/ideas shown | recent in detail | build time vs baseline");
  for (const n of counts) {
    const ctx = context(n);
    const { system, user } = buildPrompt(ctx);
    const chars = system.length + user.length;
    const rows = user.split("\n").filter((l) => /^\d+ \| (keep|discard|crash) \|/.test(l)).length;
    const collapsed = /Experiments #1–#\d+ \((\d+)\)/.exec(user)?.[1] ?? "0";
    const count = (label) => Number(new RegExp(`${label} \\(last (\\d+)\\)`).exec(user)?.[1] ?? 0);
    const ideas = user.split("Ideas backlog")[1]?.split("\n\n")[0].split("\n").filter((l) => l.startsWith("- ")).length ?? 0;
    const detail = /Recent experiments in detail \(last (\d+)\)/.exec(user)?.[1] ?? "0";
    const ms = time(ctx, n >= 1000 ? 3 : 10);
    console.log(
      `${n} | ${chars.toLocaleString()} | ${Math.round(chars / 4).toLocaleString()} | ${((chars / DEFAULT_PROMPT_MAX_CHARS) * 100).toFixed(0)}% | ${rows} | ${collapsed} | ${count("Findings")}/${count("Dead ends")}/${ideas} | ${detail} | ${(ms / baseMs).toFixed(1)}x`,
    );
    if (chars > DEFAULT_PROMPT_MAX_CHARS) {
      console.error(`over budget at ${n} experiments`);
      process.exitCode = 1;
    }
  }
}

// --- a real session's next brief --------------------------------------------------------------

async function briefFrom(root) {
  const paths = sessionPaths(root);
  if (!existsSync(paths.session)) throw new Error(`no session in ${root}`);
  const info = JSON.parse(readFileSync(paths.session, "utf8"));
  const ledger = new Ledger(paths, join(root, info.config.results), info.config.metric);
  const history = ledger.experiments();
  const session = { root, paths, info, ledger, history, invocationStartedAt: new Date(info.startedAt) };
  const deps = { git: new Git(root), proposer: { name: "brief" }, now: () => new Date(history.at(-1)?.finishedAt ?? info.startedAt) };
  const ctx = await buildContext(session, deps, history.length);
  const { system, user } = buildPrompt(ctx);
  const notes = readMemory(paths.memory).length;
  return `<!-- the brief for iteration ${history.length} of ${root}: ${system.length + user.length} characters, ${history.length - 1} experiments, ${notes} notes -->\n\n${system}\n\n${user}\n`;
}

// --- a real run on the demo project ----------------------------------------------------------

// A scripted coding agent: each call applies the next constant change that is still possible,
// writes what the last result taught (read from the history table of its prompt) and an idea.
const AGENT = `import { readFileSync, writeFileSync } from "node:fs";
const TWEAKS = [
  ["const BATCH_SIZE = 32;", "const BATCH_SIZE = 64;", "BATCH_SIZE 32 -> 64", "hyperparameters", "larger batches give smoother gradients on this tiny corpus", "try BATCH_SIZE 128 if 64 helps"],
  ["const LEARNING_RATE = 0.06;", "const LEARNING_RATE = 0.1;", "LEARNING_RATE 0.06 -> 0.1", "hyperparameters", "the loss is still falling fast when the budget ends", "a shorter warmdown with the higher rate"],
  ["const HIDDEN_DIM = 96;", "const HIDDEN_DIM = 128;", "HIDDEN_DIM 96 -> 128", "architecture", "more capacity if the step count allows", "HIDDEN_DIM 64 to buy more steps"],
  ["const CONTEXT = 4;", "const CONTEXT = 6;", "CONTEXT 4 -> 6", "architecture", "longer context helps character models", "CONTEXT 8 with a smaller embedding"],
  ["const WEIGHT_DECAY = 0.0;", "const WEIGHT_DECAY = 0.01;", "WEIGHT_DECAY 0 -> 0.01", "optimizer", "a little regularisation for a small corpus", "weight decay 0.05"],
  ["const WARMUP_STEPS = 0;", "const WARMUP_STEPS = 50;", "WARMUP_STEPS 0 -> 50", "training", "a short warmup stabilises the first steps", "warmup 100 steps"],
  ["const DEPTH = 1;", "const DEPTH = 2;", "DEPTH 1 -> 2", "architecture", "a second hidden layer for more expressiveness", "DEPTH 0 (log-linear) for speed"],
  ["const EMBED_DIM = 12;", "const EMBED_DIM = 16;", "EMBED_DIM 12 -> 16", "architecture", "richer character embeddings", "EMBED_DIM 24"],
  ["const GRAD_CLIP = 1.0;", "const GRAD_CLIP = 0.5;", "GRAD_CLIP 1.0 -> 0.5", "optimizer", "tighter clipping with the higher learning rate", "no clipping at all"],
  ["const WARMDOWN_RATIO = 0.3;", "const WARMDOWN_RATIO = 0.5;", "WARMDOWN_RATIO 0.3 -> 0.5", "training", "a longer warmdown settles the final weights", "warmdown 0.2"],
  ["const INIT_SCALE = 1.0;", "const INIT_SCALE = 0.7;", "INIT_SCALE 1.0 -> 0.7", "architecture", "smaller initial weights for tanh layers", "init scale 0.5"],
  ["const FINAL_LR_FRAC = 0.1;", "const FINAL_LR_FRAC = 0.0;", "FINAL_LR_FRAC 0.1 -> 0", "training", "decay the rate to zero at the end", "final fraction 0.05"],
  ["const BATCH_SIZE = 64;", "const BATCH_SIZE = 128;", "BATCH_SIZE 64 -> 128", "hyperparameters", "batch 64 helped: one more doubling", "batch 256"],
];
const prompt = readFileSync(process.env.AUTORESEARCH_PROMPT_FILE, "utf8");
const train = readFileSync("train.js", "utf8");
const tried = new Set([...prompt.matchAll(/^\\d+ \\| \\w+ \\| [^|]* \\| [^|]* \\| [^|]* \\| \\w+ \\| ([^|]+?) \\|/gm)].map((m) => m[1]));
const next = TWEAKS.find(([from, , description]) => train.includes(from) && !tried.has(description));
if (!next) process.exit(1);
const [from, to, description, category, rationale, idea] = next;
writeFileSync("train.js", train.replace(from, to));
const rows = [...prompt.matchAll(/^(\\d+) \\| (keep|discard|crash) \\| ([^|]*) \\| ([^|]*) \\| [^|]* \\| \\w+ \\| ([^|]+?) \\|/gm)];
const last = rows.at(-1);
const learned = last ? last[5] + (last[2] === "keep" ? " helped (delta " + last[4].trim() + ")" : last[2] === "crash" ? " crashed" : " did not help (delta " + last[4].trim() + ")") : "";
writeFileSync(process.env.AUTORESEARCH_PROPOSAL_FILE, JSON.stringify({ description, category, rationale, direction: category, learned, ideas: [idea], expected_delta: -0.01 }));
`;

async function realRun(dir) {
  if (existsSync(dir)) throw new Error(`${dir} exists: give a new directory`);
  mkdirSync(dir, { recursive: true });
  cpSync(EXAMPLE, dir, { recursive: true });
  const agentPath = join(dir, "..", `${dir.split(/[\\/]/).pop()}-agent.mjs`);
  writeFileSync(agentPath, AGENT);
  const git = (...a) => run("git", a, dir);
  await git("init", "--quiet", "--initial-branch=main");
  await git("add", "-A");
  await git("-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "--quiet", "-m", "tinylm");
  const runArgs = [BIN, "run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "3s", "--metric", "val_bpb", "--direction", "min", "--command", "node train.js",
    "--max-iterations", "12", "--proposer", "agent", "--agent", `node ${agentPath}`, "--tag", "brief", "--yes", "--json"];
  const loop = run(process.execPath, runArgs, dir, { GIT_AUTHOR_NAME: "bench", GIT_AUTHOR_EMAIL: "bench@localhost", GIT_COMMITTER_NAME: "bench", GIT_COMMITTER_EMAIL: "bench@localhost" });
  // The user steers mid-run: a note once four experiments are decided.
  let noted = false;
  while (!noted) {
    await new Promise((r) => setTimeout(r, 500));
    const records = existsSync(join(dir, ".git/autoresearch/current")) && existsSync(join(recordsDir(dir), "experiments.jsonl")) ? readFileSync(join(recordsDir(dir), "experiments.jsonl"), "utf8").trim().split("\n").length : 0;
    if (records >= 5) {
      await run(process.execPath, [BIN, "note", "try a learning-rate warmup together with the larger batch"], dir);
      noted = true;
    }
  }
  await loop;
}

function run(cmd, argv, cwd, env = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
    child.on("close", (code) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${argv.join(" ")} exited ${code}`))));
  });
}

// --- main (last: the scripted agent above must be defined first) -----------------------------

const args = process.argv.slice(2);
if (args[0] === "--from") {
  process.stdout.write(await briefFrom(resolve(args[1] ?? ".")));
} else if (args[0] === "--real") {
  const dir = resolve(args[1] ?? "brief-demo");
  await realRun(dir);
  // The brief the agent was actually sent for the last experiment.
  process.stdout.write(readFileSync(join(recordsDir(dir), "agent", "prompt.md"), "utf8"));
} else {
  sizes(args.length > 0 ? args.map(Number) : [12, 100, 1000]);
}
