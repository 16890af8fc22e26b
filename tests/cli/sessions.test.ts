import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { fakeProject, git } from "../helpers/repo.js";
import { createGitSession } from "../helpers/session-fixture.js";
import { hasScript, KEY, terminal } from "../helpers/terminal.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes"];

interface Listed {
  id: string;
  tag: string;
  state: string;
  current: boolean;
  experiments: number;
  kept: number;
  baseline: number | null;
  best: number | null;
  resumable: boolean;
}

function sessions(root: string): Listed[] {
  const result = cli(root, ["sessions", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Listed[];
}

function home(root: string, ...parts: string[]): string {
  return join(root, ".git", "autoresearch", ...parts);
}

/** A repo with session `a` (3 experiments, the builtin proposer keeps some) and session `b` (baseline only, current). */
function twoSessions(): string {
  const root = fakeProject();
  const a = cli(root, [...RUN, "--tag", "a", "--max-iterations", "3"]);
  expect(a.code, a.stderr).toBe(0);
  const b = cli(root, [...RUN, "--tag", "b", "--max-iterations", "0", "--budget", "7s"]);
  expect(b.code, b.stderr).toBe(0);
  return root;
}

describe("sessions you can find again", () => {
  it("lists every session with its state, experiments and best vs baseline, and report/show/compare reach an earlier one", () => {
    const root = twoSessions();
    const listed = sessions(root);
    expect(listed.map((s) => [s.id, s.state, s.current])).toEqual([
      ["a", "finished", false],
      ["b", "finished", true],
    ]);
    const a = listed[0] as Listed;
    expect(a.experiments).toBe(3);
    expect(a.kept).toBeGreaterThan(0);
    expect(a.best).toBeLessThan(a.baseline as number);
    const text = cli(root, ["sessions"]);
    expect(text.stdout).toMatch(/^\* b\s+finished\s+autoresearch\/b\s+0 \(0 kept\)/m);
    expect(text.stdout).toMatch(/^ {2}a\s+finished\s+autoresearch\/a\s+3 \(\d kept\)\s+val_loss \d\.\d{6} \(baseline 1\.\d{6}, -0\.\d{6}\)/m);

    // report --tag a summarises a's records, not the current session's; the checkout's results.tsv (b's) is untouched.
    const resultsBefore = readFileSync(join(root, "results.tsv"), "utf8");
    const report = cli(root, ["report", "--tag", "a"]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/autoresearch\/a/);
    expect(report.stdout).not.toMatch(/autoresearch\/b/);
    // Its suggested commands name it: without --tag they act on the current session, b (a merge of b, a resume of b).
    expect(report.stdout).toMatch(/autoresearch merge --tag a --squash/);
    expect(report.stdout).not.toMatch(/autoresearch (resume|confirm|merge|show|finalize)(?! --tag a)\b/);
    expect(cli(root, ["report"]).stdout).not.toMatch(/--tag b/);
    expect(readFileSync(join(root, "results.tsv"), "utf8")).toBe(resultsBefore);
    const missing = cli(root, ["report", "--tag", "nope"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no autoresearch session "nope"/);

    const show = cli(root, ["show", "3", "--tag", "a", "--json"]);
    expect(show.code, show.stderr).toBe(0);
    const shown = JSON.parse(show.stdout);
    expect(shown.record.id).toBe(3);
    // Its place in the research tree travels with it.
    expect(shown.parent.commit).toBe(shown.record.parent);
    expect(Array.isArray(shown.children)).toBe(true);

    // compare within a session: the script diff and the delta; across sessions: the differing settings.
    const within = cli(root, ["compare", "a:0", "a:1", "--json"]);
    expect(within.code, within.stderr).toBe(0);
    const w = JSON.parse(within.stdout);
    expect(w.diff).toMatch(/^-.*\n\+/m);
    expect(w.delta).toBeCloseTo(w.b.record.metric - w.a.record.metric, 9);
    expect(w.configDiff).toEqual([]);
    const across = cli(root, ["compare", "a:0", "0"]);
    expect(across.code, across.stderr).toBe(0);
    expect(across.stdout).toMatch(/delta \(B - A\): \+0\.000000/);
    expect(across.stdout).toMatch(/budgetSec: 5 -> 7/);
    expect(across.stdout).toMatch(/The training scripts are identical/);
    const bad = cli(root, ["compare", "a:x", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not an experiment/);

    // merge --tag a shows a's final metric and kept commits (its records, not the current session's), then merges a.
    const merged = cli(root, ["merge", "--squash", "--yes", "--tag", "a"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toMatch(/^Merge autoresearch\/a into main \(squash\)/m);
    expect(merged.stdout).toMatch(new RegExp(`^Final metric: val_loss ${(a.best as number).toFixed(6)} \\(iteration \\d`, "m"));
    expect(merged.stdout).toContain(`Kept experiments (${a.kept}):`);
  });

  it("a failed new run (typo in the metric name) leaves the previous session current, resumable and reported", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "good", "--max-iterations", "1"]).code).toBe(0);
    const resultsBefore = readFileSync(join(root, "results.tsv"), "utf8");
    const failed = cli(root, [...RUN, "--tag", "typo", "--max-iterations", "1", "--metric", "val_los"]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/--metric val_loss/);
    expect(readFileSync(home(root, "current"), "utf8").trim()).toBe("good");
    expect(readFileSync(join(root, "results.tsv"), "utf8")).toBe(resultsBefore);
    expect(git(root, "branch", "--list", "autoresearch/*")).toBe("autoresearch/good");
    const listed = sessions(root);
    expect(listed.map((s) => [s.tag, s.state, s.current])).toEqual([
      ["good", "finished", true],
      ["typo", "failed", false],
    ]);
    expect(cli(root, ["report"]).stdout).toMatch(/autoresearch\/good/);
    const resumed = cli(root, ["resume", "--max-iterations", "2", "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sessions(root).find((s) => s.tag === "good")?.experiments).toBe(2);
  });

  it("resume never touches the checkout: an uncommitted edit and an untracked file survive it", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "r", "--max-iterations", "1"]).code).toBe(0);
    writeFileSync(join(root, "train.js"), `${readFileSync(join(root, "train.js"), "utf8")}// my own edit, not committed\n`);
    writeFileSync(join(root, "notes.txt"), "mine\n");
    git(root, "add", "notes.txt");
    const before = repoSnapshot(root);
    const edited = readFileSync(join(root, "train.js"), "utf8");
    const resumed = cli(root, ["resume", "--max-iterations", "3", "--json"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(sessions(root)[0]?.experiments).toBe(3);
    expect(readFileSync(join(root, "train.js"), "utf8")).toBe(edited);
    // Only the projections (results.tsv, summary, chart: ignored files) and the research refs may differ.
    const strip = (snapshot: string) => {
      const s = JSON.parse(snapshot);
      s.files = s.files.filter((f: string) => !/^(results\.tsv|autoresearch-summary\.md|progress\.(svg|png)):/.test(f));
      s.refs = s.refs.split("\n").filter((r: string) => !/refs\/(heads\/autoresearch|autoresearch)\//.test(r));
      s.status = s.status.split("\n").filter((l: string) => !/results\.tsv|autoresearch-summary|progress\./.test(l));
      return s;
    };
    expect(strip(repoSnapshot(root))).toEqual(strip(before));
    expect(git(root, "status", "--porcelain")).toBe("A  notes.txt\n M train.js");
  });

  it("clean: prints the plan and exits 2 without a terminal, refuses a running session, keeps unmerged kept work without --yes", () => {
    const root = twoSessions();
    expect(git(root, "for-each-ref", "refs/autoresearch/a/")).not.toBe("");
    const before = repoSnapshot(root);
    const noTty = cli(root, ["clean", "--tag", "a"]);
    expect(noTty.code).toBe(2);
    expect(noTty.stdout).toMatch(/branch autoresearch\/a/);
    expect(noTty.stdout).toMatch(/ref\(s\) refs\/autoresearch\/a\/\*/);
    expect(noTty.stdout).toMatch(/kept commit\(s\) on autoresearch\/a are in no other branch: this is kept work/);
    expect(noTty.stderr).toMatch(/kept work that no other branch contains/);
    // The merge it asks for names the session (a plain `merge` would merge the current one).
    expect(noTty.stderr).toMatch(/fix: Merge it first \(autoresearch merge --tag a\)/);
    expect(noTty.stderr).toMatch(/pass --yes/);
    expect(repoSnapshot(root)).toBe(before);
    expect(existsSync(home(root, "a"))).toBe(true);

    // b is "running": a live loop (this test process) holds the repo's lock.
    writeFileSync(home(root, "lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    expect(sessions(root).find((s) => s.id === "b")?.state).toBe("running");
    const running = cli(root, ["clean", "--tag", "b", "--yes"]);
    expect(running.code).toBe(2);
    expect(running.stdout).toMatch(/keep {3}b: it is running/);
    expect(git(root, "branch", "--list", "autoresearch/b")).not.toBe("");

    // --all-finished --yes removes a (b is running): its branch, refs and folder; nothing else.
    const cleaned = cli(root, ["clean", "--all-finished", "--yes"]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect(cleaned.stdout).toMatch(/Removed a\./);
    expect(git(root, "branch", "--list", "autoresearch/a")).toBe("");
    expect(git(root, "for-each-ref", "refs/autoresearch/a/")).toBe("");
    expect(existsSync(home(root, "a"))).toBe(false);
    expect(existsSync(home(root, "b", "records", "session.json"))).toBe(true);
    expect(git(root, "rev-parse", "--abbrev-ref", "HEAD")).toBe("main");
    expect(sessions(root).map((s) => s.id)).toEqual(["b"]);
  });

  it("clean removes a finished session whose work is merged without --yes being needed for kept work", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "m", "--max-iterations", "2"]).code).toBe(0);
    git(root, "merge", "--quiet", "--ff-only", "autoresearch/m");
    const plan = cli(root, ["clean", "--tag", "m"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/^remove m \(finished, 2 experiments\)/m);
    expect(plan.stdout).not.toMatch(/kept work/);
    expect(cli(root, ["clean"]).stderr).toMatch(/--tag <tag>.*--all-finished or --leftovers/);
    expect(cli(root, ["clean", "--tag", "zz", "--yes"]).code).toBe(2);
  });

  it("clean calls a session merged with --squash merged, also when the target moved on after it", () => {
    const root = fakeProject();
    // The fake trainer improves with LEARNING_RATE: the session keeps work.
    expect(cli(root, [...RUN, "--tag", "sq", "--max-iterations", "2", "--keep-rule", "any", "--baseline-runs", "1"]).code).toBe(0);
    expect(git(root, "rev-list", "--count", "main..autoresearch/sq")).not.toBe("0");
    const merged = cli(root, ["merge", "--squash", "--yes"]);
    expect(merged.code, merged.stderr).toBe(0);
    writeFileSync(join(root, "README.md"), "# moved on\n");
    git(root, "commit", "--quiet", "-am", "later work");
    const plan = cli(root, ["clean", "--tag", "sq"]);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toMatch(/^remove sq /m);
    expect(plan.stdout).toMatch(/its work is in main: merged with --squash/);
    expect(plan.stdout).not.toMatch(/kept work/);
    // A later change to the same file on main: the squash commit still carries the session's patch.
    writeFileSync(join(root, "train.js"), `${readFileSync(join(root, "train.js"), "utf8")}// later\n`);
    git(root, "commit", "--quiet", "-am", "later change to train.js");
    expect(cli(root, ["clean", "--tag", "sq"]).stdout).toMatch(/its work is in main: merged with --squash/);
  });

  it("clean keeps a session whose work is in no branch, even as a copy", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "un", "--max-iterations", "2", "--keep-rule", "any", "--baseline-runs", "1"]).code).toBe(0);
    expect(cli(root, ["clean", "--tag", "un"]).stdout).toMatch(/this is kept work/);
  });

  it("clean never takes another session's research branch for a merge target: two sessions that kept the same change are both kept work", () => {
    const root = fakeProject();
    const args = [...RUN, "--max-iterations", "2", "--keep-rule", "any", "--baseline-runs", "1"];
    expect(cli(root, [...args, "--tag", "one"]).code).toBe(0);
    expect(cli(root, [...args, "--tag", "two"]).code).toBe(0);
    // The same search on the same code: the second session's work is a copy of the first's.
    expect(git(root, "diff", "autoresearch/one", "autoresearch/two")).toBe("");
    const plan = cli(root, ["clean", "--tag", "two"]);
    expect(plan.stdout).not.toMatch(/its work is in autoresearch\/one/);
    expect(plan.stdout).toMatch(/this is kept work/);
  });

  it("lists an old-layout session in the checkout and the archive it kept, and reports the archived one by its id", () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "old", "--max-iterations", "1"]).code).toBe(0);
    // The layout before records moved into the git dir: .autoresearch/ in the checkout, with archive/<name>/.
    renameSync(home(root, "old", "records"), join(root, ".autoresearch"));
    rmSync(home(root), { recursive: true });
    const archived = join(root, ".autoresearch", "archive", "night1");
    mkdirSync(archived, { recursive: true });
    cpSync(join(root, ".autoresearch", "experiments.jsonl"), join(archived, "experiments.jsonl"));
    const info = JSON.parse(readFileSync(join(root, ".autoresearch", "session.json"), "utf8"));
    writeFileSync(join(archived, "session.json"), JSON.stringify({ ...info, tag: "night1", branch: "autoresearch/night1", startedAt: "2020-01-01T00:00:00.000Z" }));
    const listed = sessions(root);
    expect(listed.map((s) => [s.id, s.state, s.current, s.resumable])).toEqual([
      ["archive/night1", "archived", false, false],
      [".autoresearch", "finished", true, true],
    ]);
    const report = cli(root, ["report", "--tag", "archive/night1"]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/autoresearch\/night1/);
    // Reading moved nothing: the old layout stays where it is until resume or report of the current session.
    expect(existsSync(join(root, ".autoresearch", "session.json"))).toBe(true);
  });

  it.skipIf(!hasScript)("clean in a terminal lists the plan and asks; no keeps everything, yes removes it", async () => {
    const root = fakeProject();
    expect(cli(root, [...RUN, "--tag", "t", "--max-iterations", "1"]).code).toBe(0);
    git(root, "merge", "--quiet", "--ff-only", "autoresearch/t"); // its kept work is merged: the prompt alone decides
    const before = repoSnapshot(root);
    const declined = terminal(root, ["clean", "--tag", "t"]);
    await declined.waitFor("Remove 1 session(s) as listed?");
    expect(declined.screen()).toMatch(/remove t \(finished, 1 experiments\)/);
    await declined.type(KEY.enter);
    expect(await declined.exited).toBe(0);
    expect(declined.screen()).toMatch(/Nothing removed/);
    expect(repoSnapshot(root)).toBe(before);
    const accepted = terminal(root, ["clean", "--tag", "t"]);
    await accepted.waitFor("Remove 1 session(s) as listed?");
    await accepted.type(KEY.up, KEY.enter);
    expect(await accepted.exited).toBe(0);
    expect(accepted.screen()).toMatch(/Removed t\./);
    expect(git(root, "branch", "--list", "autoresearch/t")).toBe("");
    expect(existsSync(home(root, "t"))).toBe(false);
  });
});

describe("an unknown --tag", () => {
  it("an unknown --tag gets the same answer from every command that takes one: the tag named, and where the tags are listed", () => {
    const root = mkdtempSync(join(tmpdir(), "ar-unknown-tag-"));
    createGitSession(root);
    // status once said "no autoresearch session or results file" and told to pass a results file; show and note "Start one with autoresearch run".
    for (const args of [["status"], ["show", "1"], ["note", "an idea"], ["report"], ["resume"], ["finalize", "--yes"], ["clean", "--yes"], ["confirm"]]) {
      const result = cli(root, [...args, "--tag", "nope"]);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toContain(`no autoresearch session "nope" in ${root}`);
      expect(result.stderr, args.join(" ")).toMatch(/fix: `autoresearch sessions` lists the sessions of this repo and their tags/);
    }
  });
});

describe("no session at all", () => {
  it("status, report and export in a repository with no session say so, with a fix each of them can follow", () => {
    const root = fakeProject();
    for (const command of ["status", "report", "export"]) {
      const result = cli(root, [command]);
      expect(result.code, command).toBe(2);
      expect(result.stderr, command).toContain(`no autoresearch session or results file in ${root}`);
      // Not "pass a results file" to status, which takes none.
      expect(result.stderr, command).toMatch(/fix: Run it in the repo where `autoresearch run` ran \(or pass --dir\); a results file alone is read by `autoresearch report path\/to\/results\.tsv`\./);
    }
    // Only a failed start: said, with where its baseline's log is (not "no session or results file"); `sessions` shows
    // no branch for it (the start deleted it, and the name may be another session's since).
    const failed = fakeProject();
    expect(cli(failed, [...RUN, "--metric", "val_los"]).code).toBe(1);
    const status = cli(failed, ["status"]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(`no autoresearch session in ${failed}: one start failed before a baseline was kept`);
    expect(status.stderr).toMatch(/fix: The last one's baseline log is in \S+\/\.git\/autoresearch\/failed\/[^/]+\/runs: fix what it shows/);
    expect(cli(failed, ["sessions"]).stdout).toMatch(/^ {2}failed\/\S+ +failed +— +0 \(0 kept\)/m);
    const missing = cli(root, ["export", "nope.tsv"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/results file not found: \S*nope\.tsv\n.*fix: Pass the path of an existing results\.tsv/);
  });
});

describe("sessions outside a repository", () => {
  it("says the folder is not a git repository (it said \"No autoresearch sessions in this repo\"), and still lists the machine's leftovers", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-no-repo-"));
    const result = cli(dir, ["sessions"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`No autoresearch sessions: ${dir} is not a git repository (run it in a session's repo, or pass --dir).`);
    expect(cli(fakeProject(), ["sessions"]).stdout).toContain("No autoresearch sessions in this repo.");
  });
});
