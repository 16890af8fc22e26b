import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { toResultsRow } from "../../src/ledger/ledger.js";
import { headOf } from "../../src/ledger/tree.js";
import { parseInFlight } from "../../src/ledger/read.js";
import { formatRow, parseResults, resultsHeader } from "../../src/ledger/results-tsv.js";
import type { ExperimentRecord } from "../../src/types.js";
import { BIN } from "../helpers/cli.js";
import { git, recordPath } from "../helpers/repo.js";
import { mulberry32 } from "../../src/proposers/builtin/random.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function sha256File(path: string): string | null {
  return existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : null;
}

export function hashes(root: string, files: string[]): Record<string, string | null> {
  return Object.fromEntries(files.map((f) => [f, sha256File(join(root, f))]));
}

/** One NDJSON event of `--json` output. */
export interface CliEvent {
  type: string;
  iteration?: number;
  record?: ExperimentRecord;
  reason?: string;
  message?: string;
  mode?: string;
  [key: string]: unknown;
}

/** The CLI started as a user would start it, in its own process group (so a test can kill the group like a terminal). */
export interface LiveCli {
  child: ChildProcess;
  pid: number;
  events: CliEvent[];
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(match: (e: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>;
}

export function startCli(cwd: string, args: string[], env: Record<string, string> = {}): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  let err = "";
  let pending = "";
  const events: CliEvent[] = [];
  const waiters: { match: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    out += chunk;
    pending += chunk;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
      if (!line.startsWith("{")) continue;
      try {
        const event = JSON.parse(line) as CliEvent;
        events.push(event);
        for (const w of [...waiters]) {
          if (w.match(event)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(event);
          }
        }
      } catch {}
    }
  });
  child.stderr?.on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: child.pid as number,
    events,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(match, timeoutMs = 30_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(", ")}\nstderr: ${err}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          const late = events.find(match);
          if (late) resolve(late);
          else reject(new Error(`the CLI exited before a matching event; events: ${events.map((e) => e.type).join(", ")}\nstderr: ${err}`));
        });
      });
    },
  };
}

function isZombie(pid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** Live processes (not zombies) whose environment holds `NAME=value`. */
export function processesWithEnv(name: string, value: string): { pid: number; cmd: string }[] {
  const needle = Buffer.from(`${name}=${value}\0`);
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let env: Buffer;
    try {
      env = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue;
    }
    const at = env.indexOf(needle);
    if (at < 0 || (at > 0 && env[at - 1] !== 0)) continue;
    if (isZombie(entry)) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {}
    out.push({ pid: Number(entry), cmd });
  }
  return out;
}

/** Live processes whose command line contains `text`. */
export function processesWithCmd(text: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    if (cmd.includes(text) && !isZombie(entry)) out.push({ pid: Number(entry), cmd });
  }
  return out;
}

/** Waits until `list()` is empty; returns what was still there after `timeoutMs`. */
export async function waitGone<T>(list: () => T[], timeoutMs: number): Promise<T[]> {
  const end = Date.now() + timeoutMs;
  let left = list();
  while (left.length > 0 && Date.now() < end) {
    await sleep(50);
    left = list();
  }
  return left;
}

export function readJsonl<T>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

export interface InvariantOptions {
  base: string;
  tag: string;
  train?: string;
  metric?: string;
  /** The metric's direction (default min): which kept node is the head. */
  direction?: "min" | "max";
  /** Guarded files and their hashes at setup. */
  guarded: Record<string, string | null>;
  /** Untracked files (besides the tool's own) the test itself put in the repo. */
  allowUntracked?: string[];
  /** The user's branch and head (default: main at `base`). */
  userBranch?: string;
  userHead?: string;
  /** userRefs() before the session: the user's branches and tags must be exactly these after it. */
  refsBefore?: string[];
}

/**
 * DESIGN.md's invariants on a session at rest (no experiment in flight): every experiment once
 * in experiments.jsonl with ids 0..n-1, results.tsv exactly its rows in order, head = last
 * kept commit, a clean tree, only the training script changed, guarded files as at setup,
 * discarded commits reachable, no in-flight state, no lock, no temp files.
 */
export function checkInvariants(root: string, o: InvariantOptions): ExperimentRecord[] {
  const train = o.train ?? "train.js";
  const metric = o.metric ?? "val_loss";
  const branch = `autoresearch/${o.tag}`;
  const jsonl = readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl"));
  expect(jsonl.length).toBeGreaterThan(0);
  // Experiments are numbered when decided: 0..n-1 in decision order (the file's order), whatever
  // order several workers finish in; a refused proposal or one dropped before it ran takes none.
  expect(jsonl.map((e) => e.id)).toEqual(jsonl.map((_, i) => i));
  // A re-run of a stale candidate names it, and comes after it.
  for (const e of jsonl) {
    if (e.rebaseOf === undefined) continue;
    expect(jsonl.find((r) => r.id === e.rebaseOf)?.reason, `#${e.id} re-runs #${e.rebaseOf}`).toBe("rebased");
    expect(e.rebaseOf).toBeLessThan(e.id);
  }
  const tsv = readFileSync(join(root, "results.tsv"), "utf8");
  expect(tsv).toBe(resultsHeader(metric) + jsonl.map((e) => formatRow(toResultsRow(e))).join(""));
  for (const line of tsv.trimEnd().split("\n")) expect(line.split("\t")).toHaveLength(5);
  const rows = parseResults(tsv).rows;
  expect(rows.map((r) => r.commit)).toEqual(jsonl.map((e) => e.commit.slice(0, 7)));
  expect(rows.map((r) => r.status)).toEqual(jsonl.map((e) => e.status));

  // The user's checkout stays on its own branch at its own commit, clean; the research branch is the best.
  expect(git(root, "branch", "--show-current")).toBe(o.userBranch ?? "main");
  expect(git(root, "rev-parse", "HEAD")).toBe(o.userHead ?? o.base);
  // The research branch is the head: the best kept node (the last kept one in a chain).
  expect(git(root, "rev-parse", branch)).toBe(headOf(jsonl, o.direction ?? "min").commit);
  // No node is kept on a measurement of code other than its parent plus its change: each
  // experiment's commit is a child of the commit it was decided against.
  for (const e of jsonl.filter((r) => r.id !== 0)) expect(git(root, "rev-parse", `${e.commit}^`), `#${e.id}`).toBe(e.parent);
  expect(git(root, "status", "--porcelain", "--untracked-files=no")).toBe("");
  const untracked = git(root, "status", "--porcelain", "--untracked-files=all")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(3));
  expect(untracked.filter((f) => !(o.allowUntracked ?? []).includes(f))).toEqual([]);
  const changed = git(root, "diff", "--name-only", o.base, branch).split("\n").filter(Boolean);
  expect(changed.filter((f) => f !== train)).toEqual([]);
  expect(hashes(root, Object.keys(o.guarded))).toEqual(o.guarded);
  // No other branch or tag of the user's moved or appeared.
  if (o.refsBefore) {
    const now = git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags").split("\n").filter((l) => l && !l.startsWith(`refs/heads/${branch} `));
    expect(now).toEqual(o.refsBefore);
  }

  for (const e of jsonl.filter((r) => r.id !== 0)) {
    expect(git(root, "rev-parse", `refs/autoresearch/${o.tag}/${e.id}`)).toBe(e.commit);
    expect(existsSync(recordPath(root, `patches/${e.id}.patch`))).toBe(true);
  }
  for (const e of jsonl) expect(existsSync(recordPath(root, `runs/${e.id}.log`))).toBe(true);
  const state = recordPath(root, "state.json");
  if (existsSync(state)) expect(parseInFlight(readFileSync(state, "utf8"))).toEqual([]);
  // Nothing in flight: no experiment is left under its key (its commit, its log) without its number.
  expect(git(root, "for-each-ref", "--format=%(refname)", `refs/autoresearch/${o.tag}/`).split("\n").filter((r) => r.includes("/pending-"))).toEqual([]);
  const runsDir = recordPath(root, "runs");
  if (existsSync(runsDir)) expect(readdirSync(runsDir).filter((f) => f.startsWith("pending-"))).toEqual([]);
  expect(existsSync(join(root, ".git/autoresearch/lock"))).toBe(false);
  // The clones are removed when the loop ends (resume makes them again).
  expect(readdirSync(join(root, ".git/autoresearch", o.tag)).filter((f) => /^(w\d+|p)$/.test(f))).toEqual([]);
  const temps = [...readdirSync(root), ...readdirSync(recordPath(root)).map((f) => `records/${f}`)].filter((f) => f.endsWith(".tmp"));
  expect(temps).toEqual([]);
  return jsonl;
}

/** The user's branches and tags as checkInvariants compares them (the research branch left out). */
export function userRefs(root: string): string[] {
  return git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags").split("\n").filter((l) => l && !l.startsWith("refs/heads/autoresearch/"));
}

/** A small deterministic RNG, so a failing chaos round can be replayed from its seed. */
export const rng = mulberry32;
