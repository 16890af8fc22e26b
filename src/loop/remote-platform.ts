/**
 * DESIGN "the platform is probed on the compute host": with a remote executor (ssh, slurm) the
 * session's platform (its table line, AUTORESEARCH_DEVICE and the other run variables, the
 * adjustments and the proposer's platform notes) comes from the machine the runs run on, not
 * from the orchestrator's. The probe is one small run through the session's own executor, in
 * worker 0's clone, so every executor gets it the same way; its output is parsed by the
 * platform layer. A probe that fails leaves the orchestrator's platform in place, with a warning.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { kindOf, probesRemotePlatform } from "../executors/registry.js";
import { parseRemoteProbe, platformFromRemoteProbe, remoteProbeCommand } from "../platform/remote.js";
import type { PlatformInfo } from "../types.js";
import { sessionRunEnv } from "../search/run-environment.js";
import type { LoopDeps, SessionState, Worker } from "../search/session.js";

/** The probe's hard timeout: a first `uv run` on a fresh host may have to build its environment. */
export const REMOTE_PROBE_TIMEOUT_SEC = 180;

/** The probe's log, beside the runs' logs (kept for reading when the probe went wrong). */
export const PROBE_LOG = "platform-probe.log";

/**
 * The platform of the host worker 0 runs on, probed through `deps.executor`; null for the local
 * executor (its platform was probed here already) or when the probe failed (a warning says why).
 */
export async function probeRemotePlatform(session: SessionState, deps: LoopDeps, worker: Worker): Promise<PlatformInfo | null> {
  if (!probesRemotePlatform(deps.executor)) return null;
  const kind = kindOf(deps.executor);
  const { config } = session.info;
  const where = worker.slot.host ?? `a ${kind} node`;
  const logPath = join(session.paths.runs, PROBE_LOG);
  const fallBack = (why: string): null => {
    deps.emit({ type: "warning", message: `the platform probe on ${where} failed (${why}): the platform is this machine's (${session.info.platform.label}); see ${logPath}` });
    return null;
  };
  let text: string;
  try {
    const result = await deps.executor.run(
      {
        cwd: worker.clone.dir,
        command: remoteProbeCommand(config.command),
        // Every device of the host visible (no worker's CUDA_VISIBLE_DEVICES): the platform counts them all.
        env: sessionRunEnv(session.info, deps, 0, 0),
        budgetSec: REMOTE_PROBE_TIMEOUT_SEC,
        hardTimeoutSec: REMOTE_PROBE_TIMEOUT_SEC,
        graceMs: 2000,
        logPath,
        metric: { name: "autoresearch_probe" },
        runId: `probe-${randomUUID()}`,
        worker: worker.slot.worker,
        ...(worker.slot.host !== undefined && { host: worker.slot.host }),
      },
      deps.stop.signal,
    );
    if (result.failure) return fallBack(`${result.failure.reason}: ${result.failure.detail}`);
    if (result.timedOut) return fallBack(`timed out after ${REMOTE_PROBE_TIMEOUT_SEC}s`);
    text = readFileSync(logPath, "utf8");
  } catch (error) {
    return fallBack((error as Error).message);
  }
  const probe = parseRemoteProbe(text);
  if (!probe) return fallBack("its output was cut short");
  const platform = await platformFromRemoteProbe(config.command, probe, session.root);
  return { ...platform, host: worker.slot.host ?? probe.hostname };
}
