import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import type { FinalizeResult, FinalizeRun } from "../../src/ledger/finalize-records.js";
import { readFinalizeEntries } from "../../src/ledger/finalize-records.js";
import { cli } from "../helpers/cli.js";
import { BASE_CONSTANTS, changesOf, constantsAt, expectedVerdict, FINALIZE_TRAIN, finalizePlanFile } from "../helpers/finalize-fixture.js";
import { createRepo, git, recordPath } from "../helpers/repo.js";
import { describeSlurm } from "./cluster.js";

describeSlurm("finalize through the SLURM cluster", () => {
  it("a session with known effects on --executor slurm, finalized through the same executor on 2 workers: the verdicts, the pair, the smallest set, one branch per change", () => {
    const root = createRepo({ "train.js": FINALIZE_TRAIN, "prepare.js": "// read-only\n" });
    writeFileSync(join(root, "..", `plan-${process.pid}.jsonl`), finalizePlanFile());
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--timeout", "60s", "--metric", "val_loss", "--direction", "min"];
    args.push("--proposer", "plan", "--plan", join(root, "..", `plan-${process.pid}.jsonl`), "--keep-rule", "any", "--baseline-runs", "3", "--tag", "t1");
    // One worker's session (each kept change one plan step: two workers may combine steps that won side
    // by side, depending on which runs shared a wave); finalize then has two workers, as a session that
    // had them would (session.json's slots).
    args.push("--executor", "slurm", "--yes", "--json");
    const run = cli(root, args, {}, 600_000);
    expect(run.code, run.stderr).toBe(0);
    const file = recordPath(root, "session.json");
    const info = JSON.parse(readFileSync(file, "utf8"));
    info.config.workers = 2;
    info.slots = [0, 1].map((worker) => ({ worker, device: null }));
    writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
    const research = git(root, "rev-parse", "autoresearch/t1");

    const finalize = cli(root, ["finalize", "--yes", "--runs", "2", "--json"], {}, 900_000);
    expect(finalize.code, finalize.stderr).toBe(0);
    const result = JSON.parse(finalize.stdout) as FinalizeResult;
    const sets = changesOf(root, result.verdicts.map((v) => ({ id: v.change })));
    for (const v of result.verdicts) expect(v.verdict, `#${v.change} sets ${JSON.stringify(sets.get(v.change))}`).toBe(expectedVerdict(sets.get(v.change) ?? {}));
    const setting = (name: string) => [...sets].find(([, s]) => name in s)?.[0] as number;
    const [together, partner] = [setting("TOGETHER"), setting("MEDIUM")];
    expect(result.pairs.find((p) => p.dependent)?.changes).toEqual([partner, together].sort((a, b) => a - b));
    expect(result.smallestSet.accepted).toBe(true);
    expect(constantsAt(root, "autoresearch/t1-final")).toEqual({ ...BASE_CONSTANTS, BIG: 1, MEDIUM: 1, SMALL: 1, TOGETHER: 1 });
    expect(constantsAt(root, `autoresearch/t1-change-${setting("BIG")}`)).toEqual({ ...BASE_CONSTANTS, BIG: 1 });
    expect(constantsAt(root, `autoresearch/t1-change-${together}`)).toEqual({ ...BASE_CONSTANTS, MEDIUM: 1, TOGETHER: 1 });
    // Every run was a job of the cluster, on both workers; the research branch never moved.
    const runs = readFinalizeEntries(recordPath(root, "finalize.jsonl")).filter((e): e is FinalizeRun => e.type === "run");
    expect(new Set(runs.map((r) => r.worker))).toEqual(new Set([0, 1]));
    for (const r of runs) expect(readFileSync(recordPath(root, r.log), "utf8")).toMatch(/submitted as SLURM job \d+/);
    expect(git(root, "rev-parse", "autoresearch/t1")).toBe(research);
  }, 1_500_000);
});
