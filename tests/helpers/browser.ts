import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type Dashboard, startDashboard } from "../../src/dashboard/server.js";

/** Debian's chromium (installed by .ci/run); no browser is downloaded. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Browser tests run wherever chromium is installed, and always in CI (where a missing browser
 * must fail, not skip). Elsewhere they skip, saying so.
 */
export function browserAvailable(suite: string): boolean {
  const available = existsSync(CHROMIUM) || Boolean(process.env.CI);
  if (!available) console.warn(`\n  SKIPPED ${suite}: no ${CHROMIUM} (install it: apt-get install -y chromium; CI always runs these)\n`);
  return available;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, nothing reaching the network on its own. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "ar-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The dashboard served on `root` (127.0.0.1, a free port; pushed on `servers`, which the test's
 * afterEach closes) and a new page open at its URL, its uncaught errors collected in `errors`.
 */
export async function openDashboard(browser: Browser, servers: Dashboard[], root: string): Promise<{ dashboard: Dashboard; page: Page; errors: string[] }> {
  const dashboard = await startDashboard({ root, host: "127.0.0.1", port: 0 });
  servers.push(dashboard);
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(dashboard.url);
  return { dashboard, page, errors };
}
