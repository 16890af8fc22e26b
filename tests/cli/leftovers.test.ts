/**
 * The demo's repositories in the system temp folder and a repository's failed starts: `sessions`
 * lists them with size and age, `clean --leftovers` removes them (asking first, or with --yes)
 * and nothing else. Real CLI runs, real git; the temp folder is one of the test's own (TMPDIR),
 * with things of the same names that the tool did not make beside the real leftovers.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.js";
import { fakeProject, git } from "../helpers/repo.js";
import { hasScript, KEY, terminal } from "../helpers/terminal.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes"];
const HOUR_AGO = new Date(Date.now() - 3600_000);

/** A temp folder of the test's own, with one real demo repository in it (made by `autoresearch demo`), settled an hour ago. */
function tmpWithDemo(): { tmp: string; demo: string; env: Record<string, string> } {
  const tmp = mkdtempSync(join(tmpdir(), "ar-leftovers-tmp-"));
  const env = { TMPDIR: tmp, TEMP: tmp, TMP: tmp };
  const made = cli(tmp, ["demo", "--iterations", "0", "--budget", "1s", "--json"], env);
  expect(made.code, made.stderr).toBe(0);
  const names = readdirSync(tmp).filter((n) => n.startsWith("autoresearch-demo-"));
  expect(names).toHaveLength(1);
  const demo = join(tmp, names[0] as string);
  return { tmp, demo, env };
}

/** Things named like a demo that the tool did not make (or must not touch): each must survive. */
function decoys(tmp: string, demo: string): string[] {
  const notARepo = join(tmp, "autoresearch-demo-aaaaaa");
  mkdirSync(notARepo);
  writeFileSync(join(notARepo, "train.js"), "// mine\n");
  const aFile = join(tmp, "autoresearch-demo-bbbbbb");
  writeFileSync(aFile, "not a folder\n");
  // A link to a demo-looking repository elsewhere: never followed.
  const elsewhere = mkdtempSync(join(tmpdir(), "ar-leftovers-elsewhere-"));
  cpSync(demo, join(elsewhere, "repo"), { recursive: true });
  const link = join(tmp, "autoresearch-demo-cccccc");
  symlinkSync(join(elsewhere, "repo"), link);
  // The right contents under a name `demo` never gives.
  const otherName = join(tmp, "autoresearch-demo-mine-for-keeps");
  cpSync(demo, otherName, { recursive: true });
  utimesSync(otherName, HOUR_AGO, HOUR_AGO);
  return [notARepo, aFile, link, join(elsewhere, "repo", "train.js"), otherName];
}

/** A repository with a finished session `good` and a failed start (a typo in the metric name). */
function repoWithFailedStart(): { root: string; failed: string } {
  const root = fakeProject();
  expect(cli(root, [...RUN, "--tag", "good", "--max-iterations", "1"]).code).toBe(0);
  const bad = cli(root, [...RUN, "--tag", "typo", "--max-iterations", "1", "--metric", "val_los"]);
  expect(bad.code).toBe(1);
  const failedDir = join(root, ".git", "autoresearch", "failed");
  const [name] = readdirSync(failedDir);
  return { root, failed: join(failedDir, name as string) };
}

describe("leftovers: the demo's repositories and failed starts", () => {
  it("sessions lists them with size and age; clean --leftovers asks (exit 2 without a terminal), then removes them and nothing else", () => {
    const { tmp, demo, env } = tmpWithDemo();
    const { root, failed } = repoWithFailedStart();
    const kept = decoys(tmp, demo);
    // A demo whose loop is running (a live lock: this test process).
    const busy = join(tmp, "autoresearch-demo-dddddd");
    cpSync(demo, busy, { recursive: true });
    writeFileSync(join(busy, ".git", "autoresearch", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    utimesSync(busy, HOUR_AGO, HOUR_AGO);

    // Just made (the demo may still be starting in it): listed, but clean leaves it alone.
    const young = cli(root, ["sessions"], env);
    expect(young.code, young.stderr).toBe(0);
    expect(young.stdout).toContain(`demo repo ${demo} (`);
    expect(young.stdout).toMatch(/in use: it was made moments ago/);
    utimesSync(demo, HOUR_AGO, HOUR_AGO);
    utimesSync(failed, HOUR_AGO, HOUR_AGO);

    const listed = cli(root, ["sessions"], env);
    expect(listed.code, listed.stderr).toBe(0);
    const section = listed.stdout.slice(listed.stdout.indexOf("Leftovers"));
    expect(section).toMatch(/^Leftovers \(`autoresearch clean --leftovers` removes them; it asks first\):$/m);
    const failedId = `failed/${failed.split("/").pop()}`;
    expect(section).toMatch(new RegExp(`^ {2}failed start ${failedId} \\(\\d+(\\.\\d)? (B|KiB|MiB), 60 min old\\) in ${failed}$`, "m"));
    expect(section).toMatch(new RegExp(`^ {2}demo repo ${demo} \\(\\d+(\\.\\d)? (KiB|MiB), 60 min old\\)$`, "m"));
    expect(section).toContain(`demo repo ${busy} (`);
    expect(section).toMatch(/in use: its loop is running \(stop it first\)/);
    // Only what the tool made.
    expect(section.split("\n").filter((l) => l.startsWith("  "))).toHaveLength(3);
    for (const path of kept) expect(section).not.toContain(path);

    // Without a terminal and without --yes: the plan, exit 2, nothing removed.
    const asked = cli(root, ["clean", "--leftovers"], env);
    expect(asked.code).toBe(2);
    expect(asked.stdout).toContain(`remove demo repo ${demo} (`);
    expect(asked.stdout).toContain(`remove failed start ${failedId} (`);
    expect(asked.stdout).toContain(`keep   ${busy}: its loop is running`);
    expect(asked.stderr).toMatch(/run it again with --yes/);
    expect(existsSync(demo) && existsSync(failed)).toBe(true);

    const cleaned = cli(root, ["clean", "--leftovers", "--yes"], env);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toContain(`Removed ${failedId}, ${demo}.`);
    expect(existsSync(demo)).toBe(false);
    expect(existsSync(failed)).toBe(false);
    expect(existsSync(join(busy, "train.js"))).toBe(true);
    for (const path of kept) expect(existsSync(path), path).toBe(true);
    // The repository's session is untouched: its branch, its records, still current.
    expect(git(root, "branch", "--list", "autoresearch/good")).toBe("autoresearch/good");
    expect(readFileSync(join(root, ".git", "autoresearch", "current"), "utf8").trim()).toBe("good");
    const after = cli(root, ["sessions", "--json"], env);
    expect((JSON.parse(after.stdout) as { id: string }[]).map((s) => s.id)).toEqual(["good"]);
    expect(cli(root, ["sessions"], env).stdout).not.toContain("failed start");
  }, 180_000);

  it("the demo repository you are in is listed but never removed; with nothing else left, clean says so (exit 2)", () => {
    const { demo, env } = tmpWithDemo();
    utimesSync(demo, HOUR_AGO, HOUR_AGO);
    const listed = cli(demo, ["sessions"], env);
    expect(listed.stdout).toMatch(/^\* demo\s+finished/m);
    expect(listed.stdout).toContain(`demo repo ${demo} (`);
    expect(listed.stdout).toContain("in use: it is the repository you are in");
    const refused = cli(demo, ["clean", "--leftovers", "--yes"], env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain(`keep   ${demo}: it is the repository you are in`);
    expect(refused.stderr).toMatch(/nothing to remove/);
    expect(existsSync(join(demo, "train.js"))).toBe(true);
  }, 120_000);

  it.skipIf(!hasScript)("in a terminal clean --leftovers lists them and asks; no keeps them, yes removes them", async () => {
    const { demo, env } = tmpWithDemo();
    utimesSync(demo, HOUR_AGO, HOUR_AGO);
    const root = fakeProject();
    const declined = terminal(root, ["clean", "--leftovers"], env);
    await declined.waitFor("Remove 1 leftover(s) as listed?");
    expect(declined.screen()).toContain(`remove demo repo ${demo} (`);
    await declined.type(KEY.enter);
    expect(await declined.exited).toBe(0);
    expect(declined.screen()).toMatch(/Nothing removed/);
    expect(existsSync(demo)).toBe(true);
    const accepted = terminal(root, ["clean", "--leftovers"], env);
    await accepted.waitFor("Remove 1 leftover(s) as listed?");
    await accepted.type(KEY.up, KEY.enter);
    expect(await accepted.exited).toBe(0);
    expect(existsSync(demo)).toBe(false);
  }, 120_000);
});
