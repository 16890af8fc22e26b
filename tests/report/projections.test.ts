import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { fakeProject, git } from "../helpers/repo.js";
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

describe("projections never replace a file the user tracks", () => {
  it("with progress.png and autoresearch-summary.md tracked, a session writes its own beside them and leaves the checkout clean", () => {
    // A tracked PNG of the user's own (bytes of no chart) and a summary they wrote.
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const root = fakeProject({ "autoresearch-summary.md": "# my own notes\n" });
    writeFileSync(join(root, "progress.png"), png);
    git(root, "add", "progress.png");
    git(root, "commit", "--quiet", "-m", "my chart");
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
    const result = cli(root, [...args, "--command", "node train.js", "--max-iterations", "2", "--proposer", "builtin", "--yes"]);
    expect(result.code, result.stderr).toBe(0);

    // Nothing of the user's is modified, and nothing new shows as untracked.
    expect(git(root, "status", "--porcelain", "--untracked-files=all")).toBe("");
    expect(readFileSync(join(root, "progress.png"))).toEqual(png);
    expect(readFileSync(join(root, "autoresearch-summary.md"), "utf8")).toBe("# my own notes\n");
    // The run said where its projections went, and they are there.
    const output = result.stdout + result.stderr;
    expect(output).toContain("progress.png is tracked by git: it is left alone, and autoresearch writes progress.autoresearch.png instead");
    expect(output).toContain("autoresearch-summary.md is tracked by git: it is left alone, and autoresearch writes autoresearch-summary.autoresearch.md instead");
    const summary = readFileSync(join(root, "autoresearch-summary.autoresearch.md"), "utf8");
    expect(summary).toMatch(/\*\*Total iterations:\*\* 2 \(/);
    expect(summary).toContain("progress.autoresearch.png");
    expect(readFileSync(join(root, "progress.autoresearch.png")).subarray(1, 4).toString()).toBe("PNG");
    // An untracked name is used as before.
    expect(existsSync(join(root, "progress.svg"))).toBe(true);
  }, 120_000);
});
