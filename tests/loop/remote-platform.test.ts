/**
 * The platform probed through the session's executor at setup (any executor but local): the
 * probe is a run of that executor in worker 0's clone; a probe that fails leaves the
 * orchestrator's platform with a warning. The executor here is the real LocalExecutor under
 * another kind's name (the ssh one is exercised in tests/ssh/session.test.ts).
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import type { SessionEvent } from "../../src/ledger/events.js";
import { PROBE_LOG } from "../../src/loop/remote-platform.js";
import { research } from "../../src/loop/research.js";
import { REMOTE_PROBE_MARK } from "../../src/platform/remote.js";
import { PlanProposer } from "../../src/proposers/plan.js";
import { LocalExecutor } from "../../src/executors/index.js";
import type { Executor, PlatformInfo, RunResult, RunSpec } from "../../src/types.js";
import { fakeProject, recordPath } from "../helpers/repo.js";
import { testConfig, testDeps } from "./deps.js";

/** What this (orchestrator) machine's probe said, made up so the host's answer is told apart. */
const ORCHESTRATOR: PlatformInfo = {
  kind: "cuda",
  label: "CUDA",
  device: "cuda",
  os: "linux",
  detail: "Orchestrator GPU",
  source: "torch",
  adjustments: { compile: false, compileMode: null, attention: "sdpa", ampDtype: "bf16", batchScale: 1, castOptimizerStateFp32: false, notes: [] },
};

class RemoteLike implements Executor {
  readonly kind = "slurm";
  readonly specs: RunSpec[] = [];
  private readonly local = new LocalExecutor();
  constructor(private readonly probeFails = false) {}
  async run(spec: RunSpec, signal?: AbortSignal): Promise<RunResult> {
    this.specs.push(spec);
    if (this.probeFails && spec.command.includes(REMOTE_PROBE_MARK)) {
      return { exitCode: null, signal: null, timedOut: false, durationSec: 0, metric: null, memGb: null, params: null, oom: false, tailLines: [], failure: { reason: "node-fail", detail: "the node died" } };
    }
    return this.local.run(spec, signal);
  }
}

async function start(executor: Executor) {
  const root = fakeProject();
  const events: SessionEvent[] = [];
  const deps = { ...testDeps(root, new PlanProposer([]), events), executor };
  await research(root, { kind: "new", config: testConfig(), platform: ORCHESTRATOR }, deps);
  const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")) as { platform: PlatformInfo & { notes: string[] } };
  return { root, events, platform: session.platform };
}

describe("the platform probed where runs run", () => {
  it("is one run of the session's executor in worker 0's clone, before the baseline; its answer is the session's platform", async () => {
    const executor = new RemoteLike();
    const { events, platform } = await start(executor);
    const [probe, baseline] = executor.specs;
    expect(probe?.command).toContain(REMOTE_PROBE_MARK);
    expect(probe?.cwd).toBe(baseline?.cwd);
    expect(probe?.logPath.endsWith(PROBE_LOG)).toBe(true);
    expect(baseline?.command).toBe("node train.js");
    // The "node" answered: its hostname, its CPU; node runs no Python.
    expect(platform.host).toBe(hostname());
    expect(platform.detail).not.toBe("Orchestrator GPU");
    expect(platform.notes.join("\n")).toMatch(/runs no Python/);
    // Its device reached the runs, and the session-start line.
    expect(baseline?.env.AUTORESEARCH_DEVICE).toBe(platform.device);
    const startEvent = events.find((e) => e.type === "session-start");
    expect(startEvent?.type === "session-start" && startEvent.session.platform.host).toBe(hostname());
    expect(events.filter((e) => e.type === "warning" && /platform probe/.test(e.message))).toEqual([]);
  });

  it("a probe that fails keeps this machine's platform and says so", async () => {
    const { events, platform } = await start(new RemoteLike(true));
    expect(platform).toMatchObject({ kind: "cuda", detail: "Orchestrator GPU" });
    expect(platform.host).toBeUndefined();
    const warning = events.find((e) => e.type === "warning" && /platform probe/.test(e.message));
    expect(warning?.type === "warning" && warning.message).toMatch(/the platform probe on a slurm node failed \(node-fail: the node died\): the platform is this machine's \(CUDA\)/);
  });

  it("the local executor probes nothing more", async () => {
    const executor = new LocalExecutor();
    const specs: RunSpec[] = [];
    const spying: Executor = {
      kind: "local",
      run: (spec, signal) => {
        specs.push(spec);
        return executor.run(spec, signal);
      },
    };
    const { platform } = await start(spying);
    expect(specs.map((s) => s.command)).toEqual(["node train.js"]);
    expect(platform.detail).toBe("Orchestrator GPU");
  });
});
