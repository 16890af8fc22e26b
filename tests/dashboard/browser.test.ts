import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Dashboard, startDashboard } from "../../src/dashboard/server.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { type Browser, browserAvailable, launchBrowser, openDashboard } from "../helpers/browser.js";
import { BIN } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE } from "../helpers/repo.js";
import { buildRecords, REALISTIC_SPECS, removeDir, sessionInfo, tempDir, writeSessionFiles } from "../helpers/session-fixture.js";
import { treeRecords } from "../helpers/tree-fixture.js";

// A training script that takes about 1.5 s and prints as it goes, so a page can watch it run.
const SLOW_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DROPOUT = 0.1;

const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05 + DROPOUT * 0.2;
let step = 0;
const timer = setInterval(() => {
  console.log("step " + step + " loss " + (loss + 1 / (step + 1)).toFixed(4));
  if (++step === 8) {
    clearInterval(timer);
    console.log("---");
    console.log("val_loss: " + loss.toFixed(6));
  }
}, 180);
`;

const RUN_ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--command", "node train.js", "--budget", "2s", "--metric", "val_loss", "--direction", "min", "--proposer", "builtin", "--yes", "--tag", "web"];

/** Starts the CLI and resolves with the dashboard URL it prints. */
function startCli(cwd: string, args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string; exit: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    const exit = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const onData = (d: Buffer) => {
      out += d;
      const url = /Dashboard: (http:\/\/\S+)/.exec(out)?.[1];
      if (url) resolve({ child, url, output: () => out, exit });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exit.then((code) => reject(new Error(`exited ${code} before printing the URL:\n${out}`)));
  });
}

const rows = (page: Page) => page.locator("table.results tbody tr");

const enabled = browserAvailable("dashboard browser tests");

describe.skipIf(!enabled)("dashboard in a real browser (headless chromium)", () => {
  let browser: Browser;
  const dirs: string[] = [];
  const servers: Dashboard[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  it("follows a running session live: a newly decided experiment and the run's log appear without reloading", async () => {
    const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# slow\n" });
    dirs.push(root);
    const run = await startCli(root, [...RUN_ARGS, "--max-iterations", "4", "--dashboard"]);
    children.push(run.child);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(run.url);
    await page.locator("h2", { hasText: "autoresearch/web" }).waitFor({ timeout: 30_000 });
    // Marks this document: a reload would lose it.
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const before = await rows(page).count();
    // The run in flight streams its log into the page.
    await page.locator(".live .live-log", { hasText: "step 3" }).first().waitFor({ timeout: 30_000 });
    await expect.poll(() => rows(page).count(), { timeout: 30_000, interval: 100 }).toBeGreaterThan(before);
    await page.locator(".summary", { hasText: "Session ended" }).waitFor({ timeout: 60_000 });
    expect(await rows(page).count()).toBe(5);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(errors).toEqual([]);
    expect(await run.exit).toBe(0);
    await page.close();
  }, 120_000);

  it("the experiment page shows the diff and the log, and the log is searchable (served by `autoresearch dashboard`)", async () => {
    const root = createRepo({ "train.js": SLOW_TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# slow\n" });
    dirs.push(root);
    const done = spawn(process.execPath, [BIN, ...RUN_ARGS, "--max-iterations", "2"], { cwd: root, stdio: "ignore" });
    expect(await new Promise((r) => done.on("close", r))).toBe(0);
    const served = await startCli(root, ["dashboard", "--port", "0"]);
    children.push(served.child);
    const page = await browser.context.newPage();
    await page.goto(`${served.url}#/exp/1`);
    const diff = page.locator("pre.diff");
    await diff.waitFor();
    expect(await diff.locator(".line.add").count()).toBeGreaterThan(0);
    expect(await diff.locator(".line.del").count()).toBeGreaterThan(0);
    expect(await diff.textContent()).toMatch(/\+const (LEARNING_RATE|WIDTH|DROPOUT) = /);
    const log = page.locator("pre.log");
    await expect.poll(() => log.textContent()).toContain("val_loss:");
    expect(await log.textContent()).toContain("step 7 loss");
    await page.getByLabel("search the log").fill("val_loss");
    await expect.poll(() => log.locator(".hit").count()).toBe(1);
    // Back to the overview: chart and table.
    await page.getByText("← all experiments").click();
    await rows(page).first().waitFor();
    expect(await page.locator(".chart-card canvas").count()).toBeGreaterThan(0);
    expect(await rows(page).count()).toBe(3);
    served.child.kill("SIGINT");
    expect(await served.exit).toBe(0);
    await page.close();
  });

  it("renders hostile text from a model or a training script as text: no script runs", async () => {
    const root = tempDir("ar-dash-xss-");
    dirs.push(root);
    const hostile = ['<script>window.__pwned = "script"</script>', '<img src=x onerror="window.__pwned = \'img\'">', "<svg onload=\"window.__pwned='svg'\"></svg>"];
    const records = buildRecords(1.0, [
      { description: hostile[0] as string, metric: 0.99, direction: hostile[2] },
      { description: hostile[1] as string, metric: null, detail: hostile[2] },
      ...REALISTIC_SPECS.slice(0, 3),
    ]);
    const first = records[1];
    if (first) first.rationale = hostile[1];
    writeSessionFiles(root, records, sessionInfo());
    const paths = legacyPaths(root);
    mkdirSync(paths.runs, { recursive: true });
    mkdirSync(paths.patches, { recursive: true });
    writeFileSync(paths.runLog(1), `loading ${hostile[1]}\nval_bpb: 0.99\n`);
    writeFileSync(paths.patch(1), `--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-x = 1\n+x = "${hostile[0]}"\n`);
    const d = await startDashboard({ root, host: "127.0.0.1", port: 0 });
    servers.push(d);
    const page = await browser.context.newPage();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(d.url);
    await rows(page).first().waitFor();
    const table = await page.locator("table.results").textContent();
    expect(table).toContain(hostile[0]);
    expect(table).toContain(hostile[1]);
    // The only svg is the page's own research tree (drawn from text nodes, never parsed markup).
    expect(await page.locator("#app img, #app script, #app svg:not(.tree)").count()).toBe(0);
    await page.goto(`${d.url}#/exp/1`);
    await page.locator("pre.diff").waitFor();
    await expect.poll(() => page.locator("pre.log").textContent()).toContain(hostile[1]);
    expect(await page.locator(".desc-title").textContent()).toBe(hostile[0]);
    expect(await page.locator("pre.diff").textContent()).toContain(hostile[0]);
    // The only svg is the page's own research tree (drawn from text nodes, never parsed markup).
    expect(await page.locator("#app img, #app script, #app svg:not(.tree)").count()).toBe(0);
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it("the table sorts and filters; the chart shows an experiment on hover", async () => {
    const root = tempDir("ar-dash-table-");
    dirs.push(root);
    writeSessionFiles(root, buildRecords(1.0, REALISTIC_SPECS), sessionInfo());
    const { page } = await openDashboard(browser, servers, root);
    await rows(page).first().waitFor();
    const firstCells = async () => (await rows(page).first().locator("td").allTextContents()).map((t) => t.trim());
    expect((await firstCells())[0]).toBe(String(REALISTIC_SPECS.length)); // newest first
    await page.getByRole("button", { name: "metric" }).click();
    // The best first (direction min), marked as the head; these records measured no noise floor, so the keep says it was never re-measured.
    expect((await firstCells()).slice(0, 3)).toEqual(["14", "keep best ⚠ never re-measured", "0.961200"]);
    await page.getByLabel("status").selectOption("crash");
    expect(await rows(page).count()).toBe(REALISTIC_SPECS.filter((s) => s.metric === null).length);
    await page.getByLabel("status").selectOption("");
    await page.getByLabel("category").selectOption("architecture");
    expect(await rows(page).count()).toBe(REALISTIC_SPECS.filter((s) => s.category === "architecture").length);
    await page.getByLabel("filter text").fill("attention");
    expect(await rows(page).count()).toBe(1);
    expect(await rows(page).first().textContent()).toContain("Sliding window attention (1024)");

    // Every legend entry that shows has a name (an unnamed series reads "Value").
    const legend = (await page.locator(".u-legend .u-series:visible .u-label").allTextContents()).map((t) => t.trim());
    expect(legend).toContain("kept");
    expect(legend).not.toContain("Value");
    expect(legend).not.toContain("");

    const over = await page.locator(".u-over").boundingBox();
    if (!over) throw new Error("no chart");
    // Experiments 0..20 span the plot's width: the middle is experiment 10.
    await page.mouse.move(over.x + over.width / 2, over.y + over.height / 2);
    const tip = page.locator(".chart-tip");
    await tip.waitFor();
    expect(await tip.textContent()).toContain("#10");
    expect(await tip.textContent()).toContain("Dropout 0.1");
    await page.close();
  });

  it("several workers: the live panel shows every run with its worker (one queued), the pipeline; an experiment page where it ran", async () => {
    const root = tempDir("ar-dash-workers-");
    dirs.push(root);
    const records = buildRecords(1.0, REALISTIC_SPECS.slice(0, 2)).map((r) => ({ ...r, worker: r.id % 2, device: String(r.id % 2), host: "gpu2" }));
    Object.assign(records[2] as object, { rebaseOf: 1, pendingSec: 75 });
    writeSessionFiles(root, records, sessionInfo());
    const paths = legacyPaths(root);
    // A live loop (this process holds the lock) with two runs in flight, one still in the cluster's queue.
    writeFileSync(paths.lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    const at = new Date().toISOString();
    const events = [
      { type: "run-start", iteration: 3, description: "Wider MLP", commit: "abcdef1", budgetSec: 300, timeoutSec: 600, worker: 0, device: "0", host: "gpu2", at },
      { type: "run-start", iteration: 4, description: "Lower LR", commit: "abcdef2", budgetSec: 300, timeoutSec: 600, worker: 1, device: "1", host: "gpu2", at },
      { type: "run-pending", iteration: 4, worker: 1, job: "4242", at },
      { type: "run-metric", iteration: 3, value: 0.987654, worker: 0, at },
      { type: "pipeline", proposing: 1, ready: 1, running: 2, workers: 2, at },
    ];
    writeFileSync(join(paths.dir, "events.jsonl"), events.map((e) => `${JSON.stringify(e)}\n`).join(""));
    const { dashboard: d, page } = await openDashboard(browser, servers, root);
    const runs = page.locator(".live .run");
    await runs.first().waitFor();
    expect(await runs.count()).toBe(2);
    expect(await page.locator(".live .run[data-worker='0'] .run-head").textContent()).toMatch(/^w0 \[gpu2:0\] #3 Wider MLP/);
    expect(await page.locator(".live .run[data-worker='0']").textContent()).toContain("0.987654");
    expect(await page.locator(".live .run[data-worker='1'] .run-head").textContent()).toMatch(/^w1 \[gpu2:1\] #4 Lower LR/);
    expect(await page.locator(".live .run[data-worker='1'] .pending").textContent()).toContain("pending in queue (job 4242)");
    expect(await page.locator(".live .run[data-worker='1'] .bar").count()).toBe(0);
    expect(await page.locator(".live .pipeline").textContent()).toBe("proposing 1 · ready 1 · running 2/2");
    await page.goto(`${d.url}#/exp/2`);
    const fields = page.locator("article.experiment dl.fields");
    await fields.waitFor();
    const text = await fields.textContent();
    expect(text).toContain("workerw0");
    expect(text).toContain("device0");
    expect(text).toContain("hostgpu2");
    expect(text).toContain("pending in queue1m15s");
    await fields.locator("a", { hasText: "#1" }).click();
    await page.locator(".desc-title", { hasText: REALISTIC_SPECS[0]?.description as string }).waitFor();
    await page.close();
  });

  it("the research tree: every node, coloured by status, the best's lineage marked, a click opens the experiment; header and table name the head", async () => {
    const root = tempDir("ar-dash-tree-");
    dirs.push(root);
    writeSessionFiles(root, treeRecords(), sessionInfo());
    const { page, errors } = await openDashboard(browser, servers, root);
    const nodes = page.locator(".tree-card svg.tree g.node");
    await nodes.first().waitFor();
    const ids = async (selector: string) => (await page.locator(selector).evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-id"))))).sort((a, b) => a - b);
    expect(await ids(".tree-card g.node")).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(await ids(".tree-card g.node.keep")).toEqual([0, 1, 2, 4, 5]);
    expect(await ids(".tree-card g.node.discard")).toEqual([3]);
    expect(await ids(".tree-card g.node.crash")).toEqual([6]);
    // The best's lineage #0 -> #2 -> #4, its edges drawn thick; the head ringed.
    expect(await ids(".tree-card g.node.lineage")).toEqual([0, 2, 4]);
    expect(await ids(".tree-card g.node.head")).toEqual([4]);
    expect((await page.locator(".tree-card path.edge.lineage").evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-to"))))).sort()).toEqual([2, 4]);
    // Different colours by status, as the browser computes them.
    const fillOf = (id: number) => page.locator(`.tree-card g.node[data-id="${id}"] .dot`).evaluate((el) => getComputedStyle(el).fill);
    expect(new Set([await fillOf(1), await fillOf(3), await fillOf(6)]).size).toBe(3);
    // Children sit under their parent: #3 and #4 below #2, #5 below #1.
    const rowOf = async (id: number) => (await page.locator(`.tree-card g.node[data-id="${id}"]`).boundingBox())?.y ?? -1;
    expect(await rowOf(5)).toBeGreaterThan(await rowOf(1));
    expect(await rowOf(2)).toBeGreaterThan(await rowOf(5));
    // Header and table: the best is the head #4, not the last keep #5.
    expect(await page.locator(".stat", { hasText: "best val_bpb" }).locator(".value").textContent()).toBe("0.960000 (#4)");
    expect(await page.locator("table.results tbody tr.head").getAttribute("data-id")).toBe("4");
    // A click on a node opens its experiment.
    await page.locator('.tree-card g.node[data-id="5"]').click();
    await page.locator(".desc-title", { hasText: "warmup 200 steps" }).waitFor();
    expect(page.url()).toMatch(/#\/exp\/5$/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the session picker opens an archived session", async () => {
    const root = tempDir("ar-dash-picker-");
    dirs.push(root);
    writeSessionFiles(root, buildRecords(1.0, REALISTIC_SPECS), sessionInfo());
    const archived = join(legacyPaths(root).dir, "archive", "feb1");
    mkdirSync(archived, { recursive: true });
    writeFileSync(join(archived, "session.json"), JSON.stringify(sessionInfo({ tag: "feb1", branch: "autoresearch/feb1" })));
    writeFileSync(join(archived, "experiments.jsonl"), `${buildRecords(2.0, REALISTIC_SPECS.slice(0, 2)).map((r) => JSON.stringify(r)).join("\n")}\n`);
    const { page } = await openDashboard(browser, servers, root);
    await rows(page).first().waitFor();
    expect(await rows(page).count()).toBe(REALISTIC_SPECS.length + 1);
    await page.getByLabel("session").selectOption("archive/feb1");
    await page.locator("h2", { hasText: "autoresearch/feb1" }).waitFor();
    expect(await rows(page).count()).toBe(3);
    expect(await page.locator(".badge").textContent()).toBe("archived");
    await page.close();
  });

  it("bound beyond loopback without a token in the URL, the page is refused; with it, it works", async () => {
    const root = tempDir("ar-dash-token-");
    dirs.push(root);
    writeSessionFiles(root, buildRecords(1.0, REALISTIC_SPECS), sessionInfo());
    const d = await startDashboard({ root, host: "0.0.0.0", port: 0 });
    servers.push(d);
    expect(d.token).not.toBeNull();
    const page = await browser.context.newPage();
    const refused = await page.goto(`http://127.0.0.1:${d.port}/`);
    expect(refused?.status()).toBe(401);
    expect(await page.locator("table").count()).toBe(0);
    const api = await page.goto(`http://127.0.0.1:${d.port}/api/session`);
    expect(api?.status()).toBe(401);
    const ok = await page.goto(d.url);
    expect(ok?.status()).toBe(200);
    await rows(page).first().waitFor();
    expect(await rows(page).count()).toBe(REALISTIC_SPECS.length + 1);
    await page.close();
  });
});

