import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LocalExecutor } from "../../src/executors/index.js";
import { type FinalizeRun, finalizeAttempts, readFinalizeEntries } from "../../src/ledger/finalize-records.js";
import { type FinalizeOutcome, finalizeSession } from "../../src/loop/finalize/finalize.js";
import { sanitizeEnv } from "../../src/runner/run-env.js";
import { StopControl } from "../../src/search/stop.js";
import { Git } from "../../src/workspace/git.js";
import { BASE_CONSTANTS, changesOf, constantsAt, expectedVerdict, finalizeSessionOf, NO_EFFECT, NO_EFFECT_CONSTANTS, PARTNER, REAL, REAL_CONSTANTS, TOGETHER } from "../helpers/finalize-fixture.js";
import { git, recordPath } from "../helpers/repo.js";

/** The session's research branch, records and results.tsv, byte for byte: finalize must change none of them. */
function sessionSnapshot(root: string): string {
  return JSON.stringify({
    branch: git(root, "rev-parse", "refs/heads/autoresearch/t1"),
    experiments: readFileSync(recordPath(root, "experiments.jsonl"), "utf8"),
    results: readFileSync(join(root, "results.tsv"), "utf8"),
    head: git(root, "symbolic-ref", "HEAD"),
    status: git(root, "status", "--porcelain"),
  });
}

async function finalize(root: string, costs: unknown[] = []): Promise<FinalizeOutcome> {
  return finalizeSession(
    root,
    {
      confirm: async (cost) => {
        costs.push(cost);
        return true;
      },
    },
    { git: new Git(root), executorFor: () => new LocalExecutor(), now: () => new Date(), stop: new StopControl(), baseEnv: sanitizeEnv(process.env), graceMs: 200 },
  );
}

/** The fixture session (the loop really run on the plan), then finalize on it. */
async function finalized(workers: number): Promise<{ root: string; before: string; outcome: FinalizeOutcome; costs: unknown[] }> {
  // The session is one worker's (each kept change one plan step, in order); finalize then has the
  // workers asked for, as a session that had them would (session.json's slots). A session run with two
  // workers may combine plan steps that won side by side into one change, depending on which runs
  // shared a wave: finalize measures such a change as one, which is right, but not the shape named here.
  const root = await finalizeSessionOf({ workers: 1 });
  if (workers > 1) {
    const file = recordPath(root, "session.json");
    const info = JSON.parse(readFileSync(file, "utf8"));
    info.config.workers = workers;
    info.slots = Array.from({ length: workers }, (_, worker) => ({ worker, device: null }));
    writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
  }
  const before = sessionSnapshot(root);
  const costs: unknown[] = [];
  const outcome = await finalize(root, costs);
  return { root, before, outcome, costs };
}

for (const workers of [1, 2]) {
  describe(`finalize on a session with known effects (${workers} worker${workers > 1 ? "s" : ""})`, () => {
    let root: string;
    let before: string;
    let outcome: FinalizeOutcome;
    let costs: unknown[];
    let sets: Map<number, Record<string, number>>;
    /** The change that set NAME. */
    const setting = (name: string) => [...sets].find(([, s]) => name in s)?.[0] as number;
    beforeAll(async () => {
      ({ root, before, outcome, costs } = await finalized(workers));
      sets = changesOf(root, outcome.header.changes);
    }, 240_000);

    it("the session kept real, no-effect and paired changes for finalize to tell apart", () => {
      expect(outcome.state).toBe("finished");
      expect(outcome.header.workers).toBe(workers);
      const names = [...sets.values()].flatMap((s) => Object.keys(s));
      for (const name of [...REAL_CONSTANTS, "TOGETHER"]) expect(names, name).toContain(name);
      expect(names.filter((n) => NO_EFFECT_CONSTANTS.includes(n)).length).toBeGreaterThanOrEqual(2);
      // The plan's seven changes, each kept, in order.
      expect(outcome.header.changes.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      for (const id of REAL) expect(Object.keys(sets.get(id) ?? {}).some((n) => REAL_CONSTANTS.includes(n))).toBe(true);
      for (const id of NO_EFFECT) expect(Object.keys(sets.get(id) ?? {}).every((n) => NO_EFFECT_CONSTANTS.includes(n))).toBe(true);
      expect(sets.get(TOGETHER)).toEqual({ TOGETHER: 1 });
      expect(sets.get(PARTNER)).toEqual({ MEDIUM: 1 });
    });

    it("verdicts: the real changes matter, the no-ops are within noise, the pair is named as depending on each other", () => {
      const verdicts = new Map(outcome.result?.verdicts.map((v) => [v.change, v]));
      for (const [id, s] of sets) expect(verdicts.get(id)?.verdict, `#${id} sets ${JSON.stringify(s)}`).toBe(expectedVerdict(s));
      // TOGETHER does nothing alone: taking MEDIUM out of the best loses what MEDIUM gave when kept and what it gives with TOGETHER.
      const together = setting("TOGETHER");
      const partner = setting("MEDIUM");
      expect(verdicts.get(together)?.dependsOn).toEqual([partner]);
      expect(verdicts.get(partner)?.dependsOn).toEqual([together]);
      const pair = outcome.result?.pairs.find((p) => p.changes.join() === [partner, together].sort((a, b) => a - b).join());
      expect(pair).toMatchObject({ dependent: true, kind: "together" });
      // Other pairs measured (suspicious but not dependent) are named independent, and nothing else depends.
      for (const p of outcome.result?.pairs ?? []) if (p !== pair) expect(p.dependent, p.changes.join()).toBe(false);
      for (const id of sets.keys()) if (id !== partner && id !== together) expect(verdicts.get(id)?.dependsOn, `#${id}`).toBeUndefined();
      // Bigger real changes lose more when taken out (0.30 > 0.12 + 0.08 > 0.05).
      const loss = (id: number) => verdicts.get(id)?.loss?.mean as number;
      expect(loss(setting("BIG"))).toBeGreaterThan(loss(partner));
      expect(loss(partner)).toBeGreaterThan(loss(setting("SMALL")));
      expect(loss(setting("SMALL"))).toBeGreaterThan(0.03);
    });

    it("the smallest set takes the no-ops out and keeps the gain within noise; autoresearch/t1-final holds exactly it", () => {
      const s = outcome.result?.smallestSet;
      const noops = [...sets].filter(([, c]) => expectedVerdict(c) === "within noise").map(([id]) => id);
      expect(s?.removed).toEqual(noops);
      expect(s?.kept).toEqual([...sets.keys()].filter((id) => !noops.includes(id)));
      expect(s?.accepted).toBe(true);
      expect(Math.abs(s?.loss?.mean as number)).toBeLessThan(0.02);
      expect(outcome.result?.branches.final?.branch).toBe("autoresearch/t1-final");
      expect(constantsAt(root, "autoresearch/t1-final")).toEqual({ ...BASE_CONSTANTS, BIG: 1, TOGETHER: 1, MEDIUM: 1, SMALL: 1 });
      // On the session's base commit: one commit per change it holds, nothing else changed.
      const base = git(root, "rev-parse", "main");
      expect(git(root, "merge-base", "main", "autoresearch/t1-final")).toBe(base);
      expect(git(root, "rev-list", "--count", "main..autoresearch/t1-final")).toBe(String(s?.kept.length));
      expect(git(root, "diff", "--name-only", "main", "autoresearch/t1-final")).toBe("train.js");
    });

    it("one branch per change that matters, on the base commit, holding only it (the pair: both, named)", () => {
      const branches = new Map(outcome.result?.branches.changes.map((b) => [b.change, b]));
      const matters = [...sets].filter(([, c]) => expectedVerdict(c) === "matters").map(([id]) => id);
      expect([...branches.keys()].sort((a, b) => a - b)).toEqual(matters);
      const together = setting("TOGETHER");
      const partner = setting("MEDIUM");
      for (const id of matters) {
        const branch = `autoresearch/t1-change-${id}`;
        expect(branches.get(id)?.branch).toBe(branch);
        expect(git(root, "merge-base", "main", branch)).toBe(git(root, "rev-parse", "main"));
        if (id === together || id === partner) {
          expect(constantsAt(root, branch)).toEqual({ ...BASE_CONSTANTS, TOGETHER: 1, MEDIUM: 1 });
          expect(git(root, "log", "--format=%B", "-1", branch)).toContain(`with #${id === together ? partner : together} it cannot exist without`);
          continue;
        }
        expect(constantsAt(root, branch)).toEqual({ ...BASE_CONSTANTS, ...sets.get(id) });
        expect(git(root, "rev-list", "--count", `main..${branch}`)).toBe("1");
        expect(git(root, "log", "--format=%B", "-1", branch)).toContain(`change #${id} alone`);
      }
      // No branch for a change within noise.
      for (const id of [...sets.keys()].filter((x) => !matters.includes(x))) expect(git(root, "branch", "--list", `autoresearch/t1-change-${id}`)).toBe("");
    });

    it("never changes the research branch, the experiments' records or results.tsv; its runs are their own records", () => {
      expect(sessionSnapshot(root)).toBe(before);
      const attempt = finalizeAttempts(readFinalizeEntries(recordPath(root, "finalize.jsonl")))[0];
      const runs = attempt?.runs as FinalizeRun[];
      // Each run once; every variant of a round ran with that round's seed (the best's second run with its own), seeds the session never used (its baseline used 0-2).
      const keys = runs.map((r) => `${r.batch}/${r.kind}/${r.removed.join("+")}/${r.round}/${r.repeat ?? 0}`);
      expect(new Set(keys).size).toBe(runs.length);
      expect(runs.length).toBe(outcome.result?.runs);
      for (const r of runs) expect(r.seed).toBe(outcome.header.firstSeed + r.round + (r.repeat ? 100_000 : 0));
      expect(outcome.header.firstSeed).toBeGreaterThanOrEqual(3);
      expect(runs.every((r) => r.status === "ok")).toBe(true);
      // The `changes` batch: the best (twice a round), the baseline and the best without each change, N rounds each.
      const changes = runs.filter((r) => r.batch === "changes");
      expect(changes.length).toBe((3 + sets.size) * outcome.header.runsPerVariant);
      expect(outcome.header.runsPerVariant).toBeGreaterThanOrEqual(2);
      // Interleaved: in each round the best ran first and last, the other variants between (one worker runs them in that order).
      if (workers === 1) {
        for (const round of [0, 1]) {
          const of = changes.filter((r) => r.round === round);
          expect([of[0]?.kind, of[0]?.repeat]).toEqual(["best", undefined]);
          expect([of.at(-1)?.kind, of.at(-1)?.repeat]).toEqual(["best", 1]);
          expect(of.slice(1, -1).every((r) => r.kind !== "best")).toBe(true);
        }
      } else {
        expect(new Set(runs.map((r) => r.worker))).toEqual(new Set([0, 1]));
      }
      // The code each ran: the best without the change that set BIG is the best with BIG back at 0.
      const big = setting("BIG");
      const without = runs.find((r) => r.kind === "ablation" && r.removed.join() === String(big));
      expect(constantsAt(root, without?.commit as string)).toEqual({ ...constantsAt(root, "autoresearch/t1"), BIG: 0 });
      expect(readFileSync(recordPath(root, without?.log as string), "utf8")).toMatch(/val_loss: /);
      // The cost was said first: the `changes` batch, its wall time on these workers.
      expect(costs[0]).toMatchObject({ runs: changes.length, planned: changes.length, workers });
    });

    it("finalize again runs nothing and prints the same table from the records", async () => {
      const lines = readFileSync(recordPath(root, "finalize.jsonl"), "utf8");
      const again = await finalize(root);
      expect(again.state).toBe("finished");
      expect(again.cost.runs).toBe(0);
      expect(again.table).toBe(outcome.table);
      expect(readFileSync(recordPath(root, "finalize.jsonl"), "utf8")).toBe(lines);
      expect(readFileSync(recordPath(root, "finalize.md"), "utf8")).toContain(`| #${setting("TOGETHER")} TOGETHER 0 -> 1 |`);
    });

    if (workers === 1) {
      it("--budget: another budget is another attempt, its runs get that budget and a timeout scaled with it", async () => {
        const warnings: string[] = [];
        const onEvent = (e: { type: string; message?: string }) => void (e.type === "warning" && warnings.push(e.message as string));
        const again = await finalizeSession(
          root,
          { budgetSec: 2, runs: 2, confirm: async () => true },
          { git: new Git(root), executorFor: () => new LocalExecutor(), now: () => new Date(), stop: new StopControl(), baseEnv: sanitizeEnv(process.env), graceMs: 200, onEvent },
        );
        expect(again.state).toBe("finished");
        // Said before it runs: the finished table is replaced, and which budget prints it again (once it started over silently).
        expect(warnings).toEqual([expect.stringMatching(/^finalize attempt 1 finished at --budget 5s, but --budget 2s is not its 5s: this is attempt 2, its runs made afresh; its verdicts and branches are replaced once this one finishes \(--budget 5s prints its table again\)$/)]);
        expect(again.header).toMatchObject({ attempt: 2, budgetSec: 2, timeoutSec: 4, runsPerVariant: 2 });
        const second = finalizeAttempts(readFinalizeEntries(recordPath(root, "finalize.jsonl")))[1];
        const log = readFileSync(recordPath(root, second?.runs[0]?.log as string), "utf8");
        expect(log).toContain("budget: 2\n");
        expect(second?.runs.length).toBe(again.result?.runs);
        expect(sessionSnapshot(root)).toBe(before);
      }, 120_000);
    }
  });
}
