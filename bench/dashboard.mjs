// Benchmark: the dashboard's first paint on a 10,000-experiment session with 100 MB of logs
// (target: under 2 s), against a 10-experiment session served and loaded the same way in the
// same run. Drives the real page in headless chromium (Debian's, via playwright-core).
// Then the live feed's backpressure: the dashboard's memory while a session writes 12 runs of
// logs, with 10 pages that connect and never read against none (target: within 50 MB).
// Build first: npm run build. Run: node bench/dashboard.mjs [experiments] [log MB]
// (`node bench/dashboard.mjs feed`: the backpressure part alone).
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { startDashboard } from "../dist/dashboard/index.js";

const FEED_ONLY = process.argv[2] === "feed";
const EXPERIMENTS = FEED_ONLY ? 10 : Number(process.argv[2] ?? 10_000);
const LOG_MB = Number(process.argv[3] ?? 100);
const REPEATS = 5;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const DESCRIPTIONS = [
  "increase learning rate to 0.04", "switch to GeLU activation", "ReLU² activation", "double model width",
  "warmup 200 steps", "weight decay 0.2", "batch size 2x with grad accumulation", "dropout 0.1",
  "value residual across layers", "sliding window attention", "Muon optimizer", "init std 0.01",
];
const CATEGORIES = ["architecture", "hyperparameters", "optimizer", "training"];

function sha(i) {
  return ((i * 2654435761) % 2 ** 32).toString(16).padStart(8, "0").repeat(5);
}

/** A session's records as the loop writes them: session.json, experiments.jsonl, events.jsonl, logs, patches. */
function makeSession(n, logBytesTotal) {
  const root = mkdtempSync(join(tmpdir(), "ar-bench-dash-"));
  const dir = join(root, ".autoresearch");
  mkdirSync(join(dir, "runs"), { recursive: true });
  mkdirSync(join(dir, "patches"), { recursive: true });
  const start = Date.parse("2025-03-08T22:00:00Z");
  const config = { train: "train.py", readonly: ["prepare.py"], budgetSec: 300, metric: "val_bpb", direction: "min", maxIterations: null, scope: CATEGORIES, tag: "bench", results: "results.tsv", command: "uv run train.py", timeoutSec: 600, proposer: "anthropic", model: "claude-sonnet-4-5", seed: 0, reportEvery: 10 };
  const platform = { kind: "cuda", label: "CUDA", device: "cuda", os: "linux", detail: "NVIDIA H100 80GB HBM3", source: "torch", adjustments: { compile: true, compileMode: null, attention: "flash", ampDtype: "bf16", batchScale: 1, castOptimizerStateFp32: false, notes: [] } };
  const session = { version: 1, tag: "bench", branch: "autoresearch/bench", baseBranch: "main", baseCommit: sha(0), startedAt: new Date(start).toISOString(), config, platform, guardedHashes: {} };
  writeFileSync(join(dir, "session.json"), JSON.stringify(session, null, 2));
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const experiments = openSync(join(dir, "experiments.jsonl"), "w");
  const events = openSync(join(dir, "events.jsonl"), "w");
  writeSync(events, `${JSON.stringify({ type: "session-start", session, resumed: false, at: session.startedAt })}\n`);
  const logLine = "step 00123 | loss 3.141593 | lr 1.00e-3 | dt 123ms | tok/sec 123,456 | mfu 42.0% | epoch 1 |\n";
  const perLog = Math.max(1, Math.floor(logBytesTotal / n / logLine.length));
  const logText = logLine.repeat(perLog);
  let best = 1;
  let baseline = null;
  for (let id = 0; id < n; id++) {
    const crash = id > 0 && rand() < 0.04;
    const metric = id === 0 ? 1 : crash ? null : best + (rand() - 0.03) * 0.01;
    const keep = id === 0 || (metric !== null && metric < best);
    const record = {
      id, commit: sha(id + 1), parent: sha(id), trainHash: sha(id + 7), description: id === 0 ? "Baseline — no modifications" : `${DESCRIPTIONS[id % DESCRIPTIONS.length]} (variant ${id})`,
      category: id === 0 ? "baseline" : CATEGORIES[id % 4], status: crash ? "crash" : keep ? "keep" : "discard", reason: crash ? "oom" : keep ? "improved" : "regression",
      detail: crash ? "OOM: CUDA out of memory" : undefined, metric, memGb: crash ? null : 40 + rand() * 8, params: 124_000_000, bestBefore: id === 0 ? null : best,
      startedAt: new Date(start + id * 330_000).toISOString(), finishedAt: new Date(start + (id + 1) * 330_000).toISOString(), durationSec: 330, proposer: "anthropic",
      direction: "learning-rate sweep", rationale: "Because the loss curve flattens early, a larger step size may help.", usage: { inputTokens: 12000, outputTokens: 800 }, costUsd: 0.05, lines: 300,
    };
    if (keep && metric !== null) best = metric;
    if (id === 0) baseline = record;
    writeSync(experiments, `${JSON.stringify(record)}\n`);
    const at = record.finishedAt;
    writeSync(events, `${JSON.stringify({ type: "run-start", iteration: id, description: record.description, commit: record.commit, budgetSec: 300, timeoutSec: 600, at })}\n`);
    writeSync(events, `${JSON.stringify({ type: "experiment", record, best: record, baseline, at })}\n`);
    writeFileSync(join(dir, "runs", `${id}.log`), logText);
    writeFileSync(join(dir, "patches", `${id}.patch`), `--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-LR = 0.02\n+LR = 0.04\n`);
  }
  closeSync(experiments);
  closeSync(events);
  return root;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Time from navigation to the chart and the table drawn, and the browser's first contentful paint. */
async function firstPaint(context, url) {
  const page = await context.newPage();
  const t0 = performance.now();
  await page.goto(url);
  await page.waitForSelector("table.results tbody tr");
  await page.waitForSelector(".chart-card canvas");
  // One more frame: what was built is on screen.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(null))));
  const ready = performance.now() - t0;
  const fcp = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null);
  await page.close();
  return { ready, fcp };
}

async function measure(context, root, label) {
  const dashboard = await startDashboard({ root, host: "127.0.0.1", port: 0 });
  try {
    await firstPaint(context, dashboard.url); // warm-up
    const runs = [];
    for (let i = 0; i < REPEATS; i++) runs.push(await firstPaint(context, dashboard.url));
    const result = { label, ready: median(runs.map((r) => r.ready)), fcp: median(runs.map((r) => r.fcp ?? Number.NaN)) };
    console.log(`${label.padEnd(34)} chart+table drawn ${result.ready.toFixed(0).padStart(5)} ms   first contentful paint ${result.fcp.toFixed(0).padStart(5)} ms   (median of ${REPEATS})`);
    return result;
  } finally {
    await dashboard.close();
  }
}

/**
 * The dashboard in a process of its own (as in `run --dashboard`, the orchestrator's memory is
 * what grows), sampling its RSS; 12 runs of `mbPerRun` MB of log each are written while `clients`
 * pages that never read are connected. Returns the peak RSS in MB.
 */
async function feedMemory(root, clients, mbPerRun) {
  const module = new URL("../dist/dashboard/index.js", import.meta.url).href;
  const code = `
    const { startDashboard } = await import(${JSON.stringify(module)});
    const d = await startDashboard({ root: process.argv[1], host: "127.0.0.1", port: 0 });
    let peak = 0;
    setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
    console.log(d.port);
    process.stdin.on("data", () => { peak = Math.max(peak, process.memoryUsage().rss); console.log(JSON.stringify({ peak, feeds: d.feeds() })); });
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code, root], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = [];
  let waiting = null;
  let buffer = "";
  child.stdout.on("data", (chunk) => {
    buffer += chunk;
    let end = buffer.indexOf("\n");
    while (end !== -1) {
      lines.push(buffer.slice(0, end));
      buffer = buffer.slice(end + 1);
      end = buffer.indexOf("\n");
    }
    waiting?.();
  });
  const nextLine = async () => {
    while (lines.length === 0) await new Promise((r) => (waiting = r));
    return lines.shift();
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const port = Number(await nextLine());
  const sockets = [];
  for (let i = 0; i < clients; i++) {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    socket.write("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    socket.pause();
    sockets.push(socket);
  }
  await sleep(500);
  const dir = join(root, ".autoresearch");
  const events = join(dir, "events.jsonl");
  const line = "step 00123 | loss 3.141593 | lr 1.00e-3 | dt 123ms | tok/sec 123,456 | mfu 42.0% | epoch 1 |\n";
  const block = line.repeat(Math.ceil((256 * 1024) / line.length));
  for (let id = 1000; id < 1012; id++) {
    appendFileSync(events, `${JSON.stringify({ type: "run-start", iteration: id, description: `run ${id}`, commit: sha(id), budgetSec: 300, timeoutSec: 600, at: new Date().toISOString() })}\n`);
    const log = join(dir, "runs", `${id}.log`);
    writeFileSync(log, "");
    await sleep(300);
    // Training output arrives as it is printed; the feed polls every 250 ms.
    for (let written = 0; written < mbPerRun * 1024 * 1024; written += block.length) {
      appendFileSync(log, block);
      await sleep(10);
    }
    await sleep(300);
    appendFileSync(events, `${JSON.stringify({ type: "warning", message: `run ${id} done`, at: new Date().toISOString() })}\n`);
  }
  await sleep(1000);
  child.stdin.write("\n");
  const report = JSON.parse(await nextLine());
  for (const socket of sockets) socket.destroy();
  child.kill();
  return { peakMb: report.peak / 1024 / 1024, dropped: report.feeds.dropped };
}

function logBytes(root) {
  const runs = join(root, ".autoresearch", "runs");
  return readdirSync(runs).reduce((total, name) => total + statSync(join(runs, name)).size, 0);
}

async function feedBench(root) {
  const mbPerRun = Number(process.env.FEED_MB_PER_RUN ?? 16);
  const none = await feedMemory(root, 0, mbPerRun);
  const stuck = await feedMemory(root, 10, mbPerRun);
  const diff = stuck.peakMb - none.peakMb;
  console.log(`live feed, 12 runs x ${mbPerRun} MB of log: peak RSS ${none.peakMb.toFixed(0)} MB with no page, ${stuck.peakMb.toFixed(0)} MB with 10 pages that never read (${stuck.dropped} dropped)`);
  console.log(`difference ${diff.toFixed(0)} MB   target: within 50 MB -> ${diff < 50 ? "met" : "NOT met"}`);
}

const small = makeSession(10, 100 * 1024);
if (FEED_ONLY) {
  try {
    await feedBench(small);
  } finally {
    rmSync(small, { recursive: true, force: true });
  }
  process.exit(0);
}
const large = makeSession(EXPERIMENTS, LOG_MB * 1024 * 1024);
const profile = mkdtempSync(join(tmpdir(), "ar-bench-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  console.log(`session: ${EXPERIMENTS} experiments, ${(logBytes(large) / 1024 / 1024).toFixed(0)} MB of logs, events.jsonl ${(statSync(join(large, ".autoresearch", "events.jsonl")).size / 1024 / 1024).toFixed(0)} MB`);
  const base = await measure(context, small, "baseline: 10 experiments");
  const big = await measure(context, large, `${EXPERIMENTS} experiments`);
  console.log(`ratio (large / baseline): ${(big.ready / base.ready).toFixed(2)}x   target: large under 2000 ms -> ${big.ready < 2000 ? "met" : "NOT met"}`);
  const web = new URL("../dist/web/", import.meta.url);
  for (const name of ["index.html", "app.js", "app.css"]) {
    const bytes = readFileSync(new URL(name, web));
    console.log(`bundle ${name.padEnd(10)} ${String(bytes.length).padStart(7)} bytes   ${String(gzipSync(bytes).length).padStart(6)} gzipped`);
  }
  await feedBench(small);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  for (const root of [small, large]) rmSync(root, { recursive: true, force: true });
}
