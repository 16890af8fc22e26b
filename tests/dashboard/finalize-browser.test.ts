import { appendFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Dashboard } from "../../src/dashboard/server.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { type Browser, browserAvailable, launchBrowser, openDashboard } from "../helpers/browser.js";
import { finalizeFixture, writeFinalize } from "../helpers/finalize-log-fixture.js";
import { buildRecords, REALISTIC_SPECS, removeDir, sessionInfo, tempDir, writeSessionFiles } from "../helpers/session-fixture.js";

// REALISTIC_SPECS' kept chain (val_bpb, min): #1, #3, #8, #12, #14 (the head).
const VERDICTS = {
  3: { verdict: "matters" as const, loss: 0.011 },
  14: { verdict: "matters" as const, loss: 0.0043, dependsOn: [12] },
  8: { verdict: "hurts" as const, loss: -0.003 },
};

const enabled = browserAvailable("dashboard finalize browser tests");

describe.skipIf(!enabled)("the dashboard's finalize panel in a real browser (headless chromium)", () => {
  let browser: Browser;
  const dirs: string[] = [];
  const servers: Dashboard[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) removeDir(d);
  });

  function session() {
    const root = tempDir("ar-dash-finalize-");
    dirs.push(root);
    const records = buildRecords(1.0, REALISTIC_SPECS);
    writeSessionFiles(root, records, sessionInfo());
    return { root, paths: legacyPaths(root), records };
  }

  it("a finalized session: the table with each verdict coloured, the notes, finalize.md; the experiment table marks each kept change's verdict", async () => {
    const { root, paths, records } = session();
    writeFinalize(paths, finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", verdicts: VERDICTS }).entries);
    const { page, errors } = await openDashboard(browser, servers, root);
    const panel = page.locator("section.finalize");
    await panel.locator("table.finalize-table tbody tr").first().waitFor();
    expect(await panel.locator(".finalize-line").textContent()).toBe("finalized 2025-03-09 07:22 UTC: 2 of 5 kept changes matter, table in .autoresearch/finalize.md");
    expect(await panel.locator(".headline").textContent()).toMatch(/^val_bpb: best 0\.961200 vs baseline 1\.000000 re-measured here\. 2 of 5 kept changes matter/);
    const rows = panel.locator("table.finalize-table tbody tr");
    expect(await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-change"), tr.getAttribute("data-verdict")]))).toEqual([
      ["1", "within noise"],
      ["3", "matters"],
      ["8", "hurts"],
      ["12", "within noise"],
      ["14", "matters"],
    ]);
    const cells = (await rows.nth(1).locator("td").allTextContents()).map((t) => t.trim());
    expect(cells).toEqual(["#3 ReLU² activation instead of GELU", "-0.011100", "+0.011000 ± 0.001000", "19.1 SE (>99.9%)", "matters", "28%"]);
    expect(await rows.nth(4).locator("td").nth(4).textContent()).toBe("matters with #12");
    // Each verdict has its own colour, as the browser computes it.
    const colour = (n: number) => rows.nth(n).locator(".verdict").evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(new Set([await colour(0), await colour(1), await colour(2)]).size).toBe(3);
    expect(await colour(1)).toBe(await colour(4));
    const notes = await panel.locator(".finalize-notes li").allTextContents();
    expect(notes[0]).toBe("Smallest set: #3 #14 (2 of 5 changes, without #1 #8 #12): as good as the best within noise");
    expect(notes.filter((n) => /^Change #(3|14): autoresearch\/mar8-change-\d+ \([0-9a-f]{7}\)$/.test(n))).toHaveLength(2);
    expect(await panel.locator("details pre").textContent()).toContain("| #3 ReLU² activation instead of GELU |");
    // The experiment table: a badge on each kept change finalize measured, none elsewhere.
    const badges = await page
      .locator("table.results:not(.finalize-table) tbody tr")
      .evaluateAll((trs) => trs.flatMap((tr) => (tr.querySelector(".verdict") ? [[Number(tr.getAttribute("data-id")), tr.querySelector(".verdict")?.textContent]] : [])));
    expect(badges.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [1, "within noise"],
      [3, "matters"],
      [8, "hurts"],
      [12, "within noise"],
      [14, "matters"],
    ]);
    // A change's link opens its experiment.
    await rows.nth(1).locator("a").click();
    await page.locator(".desc-title", { hasText: "ReLU² activation instead of GELU" }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a running finalize shows how far it is and follows its runs; a session never finalized shows no panel", async () => {
    const { root, paths, records } = session();
    const started = new Date(Date.now() - 3600_000);
    const partial = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", stopAfterRuns: 5, at: started }).entries;
    writeFinalize(paths, partial);
    // Finalize holds the repo's lock (this process stands in for it), taken when it started.
    writeFileSync(paths.lock, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: started.toISOString() }));
    const { page } = await openDashboard(browser, servers, root);
    const line = page.locator("section.finalize .finalize-line");
    await line.waitFor();
    expect(await line.textContent()).toBe("finalize running: 5 of 21 runs");
    expect(await page.locator("section.finalize table").count()).toBe(0);
    // Two more runs are recorded: the panel reads them without a reload.
    const more = finalizeFixture(records, { tag: "mar8", metric: "val_bpb", direction: "min", stopAfterRuns: 7, at: started }).entries.slice(partial.length);
    appendFileSync(paths.finalize, more.map((e) => `${JSON.stringify(e)}\n`).join(""));
    await expect.poll(() => line.textContent(), { timeout: 15_000, interval: 200 }).toBe("finalize running: 7 of 21 runs");
    await page.close();

    const plain = session();
    const { page: page2 } = await openDashboard(browser, servers, plain.root);
    await page2.locator("table.results tbody tr").first().waitFor();
    expect(await page2.locator("section.finalize").isHidden()).toBe(true);
    expect(await page2.locator("table.results .verdict").count()).toBe(0);
    await page2.close();
  }, 60_000);
});
