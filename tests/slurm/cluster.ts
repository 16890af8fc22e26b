import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

/**
 * Whether a SLURM cluster answers here (the one `scripts/ci/slurm.sh up` starts: export the
 * SLURM_CONF line it prints). Outside CI the SLURM tests skip with a visible message when it does
 * not; in CI (CI=true) they fail instead, so a broken cluster setup cannot pass as skipped tests.
 */
export function slurmReachable(): { ok: boolean; why: string } {
  const r = spawnSync("sinfo", ["-h", "-o", "%T"], { encoding: "utf8", timeout: 15_000 });
  if (r.error) return { ok: false, why: `sinfo: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `sinfo: ${(r.stderr || r.stdout).trim().split("\n")[0]}` };
  // A node finishing another test file's job is "completing" (or mixed/allocated while it runs one): it is up.
  if (!/idle|mix|alloc|completing/.test(r.stdout)) return { ok: false, why: `no node is up (sinfo: ${r.stdout.trim() || "nothing"})` };
  return { ok: true, why: "" };
}

const state = slurmReachable();
const inCi = process.env.CI === "true" || process.env.CI === "1";

/** describe() that runs only against a reachable cluster; skips visibly outside CI, fails in CI. */
export function describeSlurm(name: string, body: () => void): void {
  if (state.ok) {
    describe(name, body);
    return;
  }
  if (inCi) {
    describe(name, () => {
      it("needs a reachable SLURM cluster in CI", () => {
        throw new Error(`SLURM is not reachable (${state.why}); .ci/run starts one with scripts/ci/slurm.sh up`);
      });
    });
    return;
  }
  console.warn(`\n[skip] ${name}: SLURM is not reachable (${state.why}). Start one: eval "$(scripts/ci/slurm.sh up)"\n`);
  describe.skip(name, body);
}

/** Jobs the cluster still has queued or running (any state squeue lists), for "nothing left" checks. */
export function queuedJobs(ids: string[]): string[] {
  if (ids.length === 0) return [];
  const r = spawnSync("squeue", ["-h", "-j", ids.join(","), "-o", "%i %T"], { encoding: "utf8", timeout: 15_000 });
  return r.stdout.split("\n").filter((l) => l.trim() !== "");
}
