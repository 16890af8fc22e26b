import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fakeProject } from "../helpers/repo.js";
import { startCli } from "../reliability/helpers.js";

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe("the summary and chart are projections of the ledger", () => {
  it("are made again after each decision while the session runs, and come back when deleted", async () => {
    const root = fakeProject();
    const summary = join(root, "autoresearch-summary.md");
    const svg = join(root, "progress.svg");
    // Each run takes a second, so the session is still running while the files are checked.
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
    args.push("--command", "sleep 1.5 && node train.js", "--max-iterations", "4", "--proposer", "builtin", "--json", "--yes");
    const live = startCli(root, args);
    const first = await live.waitFor((e) => e.type === "experiment" && e.record?.id === 1, 60_000);
    expect(await waitFor(() => existsSync(summary) && readFileSync(summary, "utf8").includes(first.record?.description ?? "?"))).toBe(true);
    expect(existsSync(svg)).toBe(true);
    expect(live.events.some((e) => e.type === "session-end")).toBe(false);
    // Deleting a projection loses nothing: the next decision writes it again.
    rmSync(summary);
    rmSync(svg);
    // The next decision (not necessarily #2: a proposal made ahead may be refused when its turn comes).
    const second = await live.waitFor((e) => e.type === "experiment" && (e.record?.id ?? 0) > (first.record?.id ?? 0), 60_000);
    expect(await waitFor(() => existsSync(summary) && readFileSync(summary, "utf8").includes(second.record?.description ?? "?"))).toBe(true);
    expect(existsSync(svg)).toBe(true);
    const exit = await live.exited;
    expect(exit.code, live.stderr()).toBe(0);
    // The final one is complete: every experiment is in it.
    expect(readFileSync(summary, "utf8")).toMatch(/\*\*Total iterations:\*\* 4 \(/);
  }, 120_000);
});
