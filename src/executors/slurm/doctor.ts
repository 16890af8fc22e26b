/** What `doctor` checks for executor slurm: the client commands present, and the controller answering (squeue, sinfo). */
import { which } from "../../platform/which.js";
import type { Check, DoctorContext } from "../descriptor.js";
import { SLURM_MISSING_HINT } from "./commands.js";

export async function slurmChecks({ exec, root, env, os, timeoutMs }: DoctorContext): Promise<Check[]> {
  const checks: Check[] = [];
  const missing: string[] = [];
  for (const cli of ["sbatch", "squeue", "scancel", "sinfo"]) {
    const path = which(cli, env, os);
    if (path) checks.push({ name: cli, status: "ok", required: true, detail: path });
    else {
      missing.push(cli);
      checks.push({ name: cli, status: "missing", required: true, detail: "not on PATH, and the config's executor is slurm", fix: SLURM_MISSING_HINT });
    }
  }
  if (missing.length > 0) return checks;
  const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";
  const version = await exec(["squeue", "--version"], { cwd: root, timeoutMs, env });
  const cluster = await exec(["sinfo", "-h", "-o", "%P %a %D %T"], { cwd: root, timeoutMs, env });
  const answered = version.code === 0 && cluster.code === 0 && !cluster.timedOut;
  const partitions = cluster.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [partition, avail, nodes, state] = l.trim().split(/\s+/);
      return `${partition} (${avail}, ${nodes} ${state})`;
    });
  checks.push(
    answered
      ? { name: "slurm cluster", status: "ok", required: true, detail: `${firstLine(version.stdout)}; partitions: ${partitions.join(", ") || "none listed"}` }
      : {
          name: "slurm cluster",
          status: "missing",
          required: true,
          detail: `the controller does not answer: ${cluster.timedOut ? `sinfo timed out after ${timeoutMs / 1000}s` : firstLine(cluster.stderr || version.stderr || cluster.stdout) || `sinfo exit code ${cluster.code}`}`,
          fix: "Check that slurmctld runs and this machine can reach it (scontrol ping; SLURM_CONF points at the cluster's slurm.conf).",
        },
  );
  return checks;
}
