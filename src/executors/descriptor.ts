/**
 * What the rest of the tool needs to know about an executor, said by the executor itself: how it
 * is built from the config, which settings it checks, its worker slots, what `doctor` checks for
 * it, whether its runs can be followed again after a restart, whether the platform is probed where
 * its runs run, and how a run of it shows while it waits. The registry (registry.ts) lists them;
 * nothing outside src/executors/ names an executor.
 */
import type { ConfigInput, ExecutorKind, OptionKey, ResearchConfig } from "../config/options.js";
import type { Exec } from "../platform/exec.js";
import type { Executor, PlatformInfo, WorkerSlot } from "../types.js";

export interface ExecutorDeps {
  /** The orchestrator's environment (ssh: AUTORESEARCH_SSH and the ssh agent's socket). */
  env?: NodeJS.ProcessEnv;
  /** The user's repository (ssh: names the worker repos on the hosts). */
  root?: string;
}

export interface ResolvedSlots {
  slots: WorkerSlot[];
  /** Said once at the start (runs that will compete for one device). */
  warnings: string[];
}

export type SlotsConfig = Pick<ResearchConfig, "workers" | "devices" | "executor" | "hosts">;
export type SlotsPlatform = Pick<PlatformInfo, "kind" | "gpuCount">;

/** ok; missing: required and not there (or broken); absent: optional and not there; warn: works, with a caveat. */
export type CheckStatus = "ok" | "missing" | "absent" | "warn";

/** One line of `autoresearch doctor`. */
export interface Check {
  name: string;
  status: CheckStatus;
  /** Needed for `autoresearch run` with this repo and config; the others serve some options only. */
  required: boolean;
  detail: string;
  /** What to do about it (missing / warn). */
  fix?: string;
}

/** What an executor's doctor checks get: the settings as given (doctor reports, it never refuses), and how to look. */
export interface DoctorContext {
  input: ConfigInput;
  root: string;
  env: NodeJS.ProcessEnv;
  exec: Exec;
  os: NodeJS.Platform;
  timeoutMs: number;
  /** The experiment command a run would use. */
  command: string;
}

export interface ExecutorDescriptor {
  readonly kind: ExecutorKind;
  create(config: ResearchConfig, deps: ExecutorDeps): Executor;
  /**
   * Settings only this executor reads: given with another executor they would be ignored
   * silently, so the config is refused instead.
   */
  readonly ownOptions: readonly OptionKey[];
  /** Its settings checked before anything changes; throws a UsageError naming the problem and the fix. */
  checkConfig?(config: ResearchConfig): void;
  /** The worker slots of a new session; throws a UsageError (exit 2) for a combination that cannot work. */
  slots(config: SlotsConfig, platform: SlotsPlatform): ResolvedSlots;
  /**
   * The fix for a run it could not start or finish (RunResult.failure's reason: a host it could not
   * reach, a job the cluster refused), not the script's doing; null for reasons it does not know.
   */
  failureHint?(reason: string, config: ResearchConfig): string | null;
  /** What `doctor` checks for it, beyond what every run needs. */
  doctorChecks?(context: DoctorContext): Promise<Check[]>;
  /** Its runs outlive the orchestrator and `attach` follows them again (the instance says so too: Executor.reattachable). */
  readonly reattachable: boolean;
  /** Its runs run on another machine, whose platform a new session probes (src/loop/remote-platform.ts). */
  readonly remotePlatform: boolean;
  /** A run of it may wait in a queue before it starts: shown as pending until it does. */
  readonly queues: boolean;
  /** The id of a run's handle is worth showing beside it (a job id, a remote run). */
  readonly showsHandle: boolean;
}
