import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { ExperimentRecord } from "../../src/types.js";
import {
  KARPATHY_RESULTS,
  REALISTIC_SPECS,
  TRAIN_PY,
  buildRecords,
  createGitSession,
  git,
  removeDir,
  sessionInfo,
  tempDir,
  writeSessionFiles,
} from "../helpers/session-fixture.js";

// The commands from the built dist (tests/global-setup.ts builds it), run as a user would.
const HARNESS = fileURLToPath(new URL("./cli-harness.mjs", import.meta.url));

function cli(cwd: string, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [HARNESS, ...args], { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
function dir(prefix?: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

function sessionDir(): string {
  const root = dir();
  writeSessionFiles(root, buildRecords(1.0023, REALISTIC_SPECS), sessionInfo());
  return root;
}

describe("autoresearch report", () => {
  it("prints the summary of the session here", () => {
    const root = sessionDir();
    const { code, stdout } = cli(root, "report");
    expect(code).toBe(0);
    expect(stdout.startsWith("# AutoResearch Summary\n")).toBe(true);
    expect(stdout).toContain("| Baseline metric | Best metric | Improvement | Best commit |");
    expect(stdout).not.toContain("## Progress Chart"); // no chart files were written
  });

  it("--out writes the summary with progress.svg and progress.png beside it", () => {
    const root = sessionDir();
    const { code, stdout } = cli(root, "report", "--out", "night/summary.md");
    expect(code).toBe(0);
    expect(stdout).toContain("Wrote night/summary.md, night/progress.svg, night/progress.png");
    expect(readFileSync(join(root, "night", "summary.md"), "utf8")).toContain("![progress](progress.png)");
    expect(readFileSync(join(root, "night", "progress.png")).subarray(1, 4).toString()).toBe("PNG");
  });

  it("summarises a Karpathy-format file whose commits exist nowhere", () => {
    const root = dir();
    writeFileSync(join(root, "old-results.tsv"), KARPATHY_RESULTS);
    const { code, stdout } = cli(root, "report", "old-results.tsv");
    expect(code).toBe(0);
    expect(stdout).toContain("| 0.997900 | 0.985500 | -0.012400 (-1.24%) | a7b8c9d |");
    expect(stdout).toContain("**Total iterations:** 9 (3 kept, 4 discarded, 2 crashed)");
  });

  it("usage errors exit 2", () => {
    const root = dir();
    expect(cli(root, "report", "missing.tsv").code).toBe(2);
    writeFileSync(join(root, "bad.tsv"), "hello\n");
    const bad = cli(root, "report", "bad.tsv");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("not a results file");
    expect(cli(root, "report").code).toBe(2);
    writeFileSync(join(root, "results.tsv"), KARPATHY_RESULTS);
    expect(cli(root, "report", "--direction", "up").code).toBe(2);
    expect(cli(root, "report", "--direction", "max").code).toBe(0);
  });
});

describe("autoresearch status", () => {
  it("prints the progress report and that the loop is not running", () => {
    const root = sessionDir();
    const { code, stdout } = cli(root, "status");
    expect(code).toBe(0);
    expect(stdout).toContain("## AutoResearch Progress — Iteration 20");
    expect(stdout).toContain("**Iterations:** 20 / 100");
    // Finished session: elapsed runs from the start to the last experiment (21:58 -> 23:55).
    expect(stdout).toContain("**Time elapsed:** 01:57:30");
    expect(stdout).toContain("**Loop:** not running (no lock)");
  });

  it("sees a live loop from its lock, and the experiment in flight; --json too", () => {
    const root = sessionDir();
    writeFileSync(join(root, ".autoresearch", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2025-03-08T21:58:00.000Z" }));
    writeFileSync(
      join(root, ".autoresearch", "state.json"),
      JSON.stringify({ id: 21, phase: "running", parent: "x", proposal: { description: "SwiGLU MLP", category: "architecture" }, startedAt: "2025-03-08T23:56:00.000Z" }),
    );
    const text = cli(root, "status");
    expect(text.stdout).toContain(`**Loop:** running (pid ${process.pid} on ${hostname()}`);
    expect(text.stdout).toContain("**Now:** experiment 21 (running since 2025-03-08T23:56:00.000Z): SwiGLU MLP");
    const json = JSON.parse(cli(root, "status", "--json").stdout);
    expect(json.loop.state).toBe("running");
    expect(json.inFlight).toMatchObject({ id: 21, description: "SwiGLU MLP" });
    expect(json.progress).toMatchObject({ iteration: 20, completed: 20, maxIterations: 100, best: { metric: 0.9612, iteration: 14 } });
    expect(json.markdown).toContain("## AutoResearch Progress — Iteration 20");
  });

  it("with several workers: every run in flight with its worker, device, state and time; idle workers; --json per worker", () => {
    const root = dir();
    const slots = [{ worker: 0, device: "0" }, { worker: 1, device: "1" }, { worker: 2, device: "0", host: "gpu2" }, { worker: 3, device: "1", host: "gpu2" }];
    writeSessionFiles(root, buildRecords(1.0023, REALISTIC_SPECS.slice(0, 3)), sessionInfo({ slots }));
    writeFileSync(join(root, ".autoresearch", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2025-03-08T21:58:00.000Z" }));
    const ago = (sec: number) => new Date(Date.now() - sec * 1000).toISOString();
    const proposal = (description: string) => ({ description, category: "architecture" });
    const runs = [
      { id: 4, phase: "running", parent: "x", worker: 0, device: "0", proposal: proposal("SwiGLU MLP"), startedAt: ago(4000), runStartedAt: ago(3725) },
      { id: 5, phase: "running", parent: "x", worker: 2, device: "0", host: "gpu2", proposal: proposal("Wider | MLP"), rebaseOf: 3, startedAt: ago(30) },
      { id: 6, phase: "running", parent: "x", worker: 1, device: "1", proposal: proposal("Queued job"), handle: { kind: "slurm", id: "4242", queues: true }, startedAt: ago(65) },
      { id: 7, phase: "ready", parent: "x", proposal: proposal("Next idea"), queuedAt: ago(5), startedAt: ago(5) },
    ];
    writeFileSync(join(root, ".autoresearch", "state.json"), JSON.stringify({ runs }));
    const text = cli(root, "status").stdout;
    expect(text).toContain("**In flight (4):**");
    expect(text).toMatch(/\| w0 \| 0 \| #4 \| running for 01:02:0[5-9] \| SwiGLU MLP \|/);
    expect(text).toMatch(/\| w2 \| gpu2:0 \| #5 \| running for 00:00:[3-4]\d \| Wider \\\| MLP \(re-run of #3\) \|/);
    expect(text).toMatch(/\| w1 \| 1 \| #6 \| pending in queue for 00:01:\d\d \(job 4242\) \| Queued job \|/);
    expect(text).toMatch(/\| — \| — \| #7 \| ready, waiting for a worker for 00:00:\d\d \| Next idea \|/);
    expect(text).toContain("_In flight each goes by the order it started in; experiments are numbered when decided, in the order they end, so `show` may find it under another number then._");
    expect(text).toContain("**Idle:** w3");
    expect(text).not.toContain("**Now:**");
    const json = JSON.parse(cli(root, "status", "--json").stdout);
    expect(json.inFlight).toMatchObject({ id: 4, worker: 0 });
    expect(json.inFlightAll.map((r: { id: number; state: string }) => [r.id, r.state])).toEqual([
      [4, "running"],
      [5, "running"],
      [6, "pending"],
      [7, "ready"],
    ]);
    expect(json.workers).toEqual([
      expect.objectContaining({ worker: 0, device: "0", experiment: 4, state: "running" }),
      expect.objectContaining({ worker: 1, device: "1", experiment: 6, state: "pending" }),
      expect.objectContaining({ worker: 2, device: "0", host: "gpu2", experiment: 5, state: "running" }),
      { worker: 3, device: "1", host: "gpu2", experiment: null, state: "idle", forSec: null },
    ]);
    // Once the loop has stopped, nothing is in flight and no worker is listed as idle.
    rmSync(join(root, ".autoresearch", "lock"));
    const stopped = cli(root, "status").stdout;
    expect(stopped).not.toContain("In flight");
    expect(stopped).not.toContain("**Idle:**");
  });

  it("a stale lock (dead pid) is reported as not running", () => {
    const root = sessionDir();
    writeFileSync(join(root, ".autoresearch", "lock"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: "x" }));
    expect(cli(root, "status").stdout).toContain("**Loop:** not running (stale lock of pid");
  });

  it("before the first experiment is decided: iteration 0, nothing yet", () => {
    const root = dir();
    writeSessionFiles(root, [], sessionInfo());
    const { code, stdout } = cli(root, "status");
    expect(code).toBe(0);
    expect(stdout).toContain("## AutoResearch Progress — Iteration 0");
    expect(stdout).toContain("**Best so far:** —");
    expect(stdout).toContain("| — | — | — | — | no experiments yet |");
  });

  it("exits 2 where there is no session", () => {
    expect(cli(dir(), "status").code).toBe(2);
  });
});

describe("autoresearch export", () => {
  it("writes each format; unknown formats exit 2", () => {
    const root = sessionDir();
    const csv = cli(root, "export", "--format", "csv");
    expect(csv.code).toBe(0);
    expect(csv.stdout.trimEnd().split("\r\n")).toHaveLength(22);
    expect(JSON.parse(cli(root, "export", "--format", "json").stdout).experiments).toHaveLength(21);
    expect(cli(root, "export").stdout.split("\n")[0]).toContain("| Iter | Commit |");
    const tex = cli(root, "export", "--format", "latex", "--out", "table.tex");
    expect(tex.stdout).toContain("Wrote table.tex (21 experiments, latex)");
    expect(readFileSync(join(root, "table.tex"), "utf8")).toContain("\\begin{longtable}");
    expect(cli(root, "export", "--format", "xlsx").code).toBe(2);
  });

  it("--tag picks the session as in every other command (compare's bare numbers too); an unknown tag exits 2", () => {
    const root = dir("ar-export-tag-");
    createGitSession(root);
    git(root, "checkout", "--quiet", "main");
    const csv = cli(root, "export", "--format", "csv", "--tag", "mar8");
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toContain("0.965000");
    const unknown = cli(root, "export", "--tag", "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no autoresearch session "nope"');
    const compared = cli(root, "compare", "0", "1", "--tag", "mar8");
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/^mar8:0 /m);
    expect(cli(root, "compare", "0", "1", "--tag", "nope").code).toBe(2);
  });
});

describe("autoresearch merge", () => {
  it("needs --yes without a terminal, refuses two strategies, a dirty tree and a running loop", () => {
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    expect(cli(root, "merge", "--squash").code).toBe(2);
    expect(cli(root, "merge", "--squash").stderr).toContain("Pass --yes");
    expect(cli(root, "merge", "--squash", "--rebase", "--yes").code).toBe(2);
    writeFileSync(join(root, "train.py"), `${TRAIN_PY}# dirty\n`);
    const dirty = cli(root, "merge", "--squash", "--yes");
    expect(dirty.code).toBe(2);
    expect(dirty.stderr).toContain("uncommitted changes");
    git(root, "checkout", "--", "train.py");
    writeFileSync(join(root, ".autoresearch", "lock"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "now" }));
    const running = cli(root, "merge", "--squash", "--yes");
    expect(running.code).toBe(2);
    expect(running.stderr).toContain("still running");
    expect(git(root, "rev-parse", "main")).toBe(s.baseCommit);
  });

  it("--squash --yes lists the kept commits and the final metric, merges, pushes nothing", () => {
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    const { code, stdout } = cli(root, "merge", "--squash", "--yes");
    expect(code).toBe(0);
    expect(stdout).toContain("Merge autoresearch/mar8 into main (squash)");
    expect(stdout).toContain("Final metric: val_bpb 0.965000 (iteration 4");
    expect(stdout).toContain("Kept experiments (3):");
    for (const sha of s.keptCommits) expect(stdout).toContain(sha.slice(0, 7));
    expect(stdout).toContain("Nothing was pushed; autoresearch/mar8 is unchanged.");
    // No remote: no push command to a remote that is not there.
    expect(stdout).not.toContain("git push");
    expect(stdout).toContain("no remote");
    expect(git(root, "rev-parse", "main^")).toBe(s.baseCommit);
    expect(git(root, "rev-parse", s.branch)).toBe(s.keptCommits[2]);
    // A second squash finds nothing left to change.
    git(root, "checkout", "--quiet", s.branch);
    expect(cli(root, "merge", "--squash", "--yes").stdout).toContain("already has these changes");
  });

  it("--tag names the session to merge as every other command does; an unknown tag or --tag with --branch is refused (exit 2)", () => {
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    git(root, "checkout", "--quiet", "main");
    const unknown = cli(root, "merge", "--squash", "--yes", "--tag", "nope");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no autoresearch session "nope"');
    expect(cli(root, "merge", "--squash", "--yes", "--tag", "mar8", "--branch", s.branch).code).toBe(2);
    expect(git(root, "rev-parse", "main")).toBe(s.baseCommit);
    const { code, stdout, stderr } = cli(root, "merge", "--squash", "--yes", "--tag", "mar8");
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("Merge autoresearch/mar8 into main (squash)");
    // The session named is the one whose records are read: its final metric and kept commits.
    expect(stdout).toContain("Final metric: val_bpb 0.965000 (iteration 4");
    expect(stdout).toContain("Kept experiments (3):");
    expect(git(root, "show", "main:train.py")).toBe(git(root, "show", `${s.branch}:train.py`));
  });

  it("warns before merging a best that could be luck: never re-measured, or within the noise floor of the baseline", () => {
    // The fixture's baseline ran once and no code ran twice: no noise floor.
    const unmeasured = dir("ar-merge-cli-");
    createGitSession(unmeasured);
    const plain = cli(unmeasured, "merge", "--squash", "--yes");
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("⚠ The best against the baseline: never re-measured, no noise floor. `autoresearch confirm best --runs 3` re-runs it first.");
    // Two baseline runs 0.03 apart (their mean the baseline's metric, 1.0, as a session records it): the best's 0.035 gain is 1.6× that noise floor.
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    const [baseline, ...rest] = s.records;
    const noisy = [{ ...(baseline as ExperimentRecord), runs: [{ seed: 0, metric: 0.985, durationSec: 1 }, { seed: 1, metric: 1.015, durationSec: 1 }] }, ...rest];
    writeSessionFiles(root, noisy, sessionInfo({ tag: "mar8", branch: s.branch, baseBranch: "main", baseCommit: s.baseCommit }, { tag: "mar8" }));
    const within = cli(root, "merge", "--squash", "--yes");
    expect(within.code).toBe(0);
    expect(within.stdout).toMatch(/⚠ The best against the baseline: 1\.\d× the noise floor, within noise: could be luck\./);
    // Each kept experiment under 2× the noise floor over the best before it is marked.
    expect(within.stdout).toMatch(/#1 .* 0\.980000 .*⚠ within noise/);
    expect(git(root, "rev-parse", "main^")).toBe(s.baseCommit);
  });

  it("a conflicting base: exit 1 with how to resolve, repo restored", () => {
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    git(root, "checkout", "--quiet", "main");
    writeFileSync(join(root, "train.py"), TRAIN_PY.replace("ACTIVATION = 'gelu'", "ACTIVATION = 'silu'"));
    git(root, "commit", "--quiet", "-am", "main moved");
    const mainTip = git(root, "rev-parse", "main");
    git(root, "checkout", "--quiet", s.branch);
    const { code, stderr, stdout } = cli(root, "merge", "--rebase", "--yes");
    expect(code).toBe(1);
    expect(stdout).toContain("main has moved since the session started and conflicts in: train.py.");
    expect(stderr).toContain("conflict in train.py");
    expect(stderr).toContain("Resolve by hand");
    expect(git(root, "rev-parse", "main")).toBe(mainTip);
    expect(git(root, "rev-parse", "--abbrev-ref", "HEAD")).toBe(s.branch);
    expect(git(root, "rev-parse", s.branch)).toBe(s.keptCommits[2]);
  });
});

describe("autoresearch merge, as its --help says", () => {
  it("--into defaults to the base recorded for THAT branch's session, never another session's; else main", () => {
    const root = dir("ar-merge-cli-");
    const s = createGitSession(root);
    // The recorded session (mar8) started from dev; autoresearch/other, from main, is another session.
    git(root, "branch", "dev", "main");
    const sessionFile = join(root, ".autoresearch", "session.json");
    writeFileSync(sessionFile, JSON.stringify({ ...JSON.parse(readFileSync(sessionFile, "utf8")), baseBranch: "dev" }));
    git(root, "checkout", "--quiet", "-b", "autoresearch/other", "main");
    writeFileSync(join(root, "README.md"), "# other\n");
    git(root, "commit", "--quiet", "-am", "other: docs");
    git(root, "remote", "add", "upstream", root);
    const other = cli(root, "merge", "--merge", "--yes");
    expect(other.code, other.stderr).toBe(0);
    expect(other.stdout).toContain("Push when ready: git push upstream main");
    expect(other.stdout).toContain("Merged autoresearch/other into main (merge)");
    expect(git(root, "rev-parse", "dev")).toBe(s.baseCommit);
    // The recorded session's own branch goes into its recorded base.
    const own = cli(root, "merge", "--squash", "--yes", "--branch", s.branch);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toContain(`Merged ${s.branch} into dev (squash)`);
  });

  it("--help describes the defaults and refusals the command has", () => {
    const { stdout } = cli(dir(), "merge", "--help");
    const help = stdout.replace(/\s+/g, " ");
    expect(help).toContain("the default with --yes; asked otherwise");
    expect(help).toContain("the base branch recorded for that research branch's session, else main, or master when only master exists");
    expect(help).toContain("a git merge or rebase is in progress");
    expect(help).toContain("nothing is pushed");
  });
});

describe("--help", () => {
  it("every command explains itself with examples", () => {
    const root = dir();
    for (const command of ["status", "report", "export", "merge"]) {
      const { code, stdout } = cli(root, command, "--help");
      expect(code).toBe(0);
      expect(stdout).toContain(`Usage: autoresearch ${command}`);
      expect(stdout).toContain("Examples:");
    }
  });
});

