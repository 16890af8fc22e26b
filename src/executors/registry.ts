/**
 * Every executor this build has, and the questions the rest of the tool asks about one: the
 * session's executor is chosen by `executor` in its config, the loop takes it as
 * LoopDeps.executor (tests inject their own) and the CLI builds it here. Nothing outside
 * src/executors/ compares an executor's kind by name; it asks here.
 */
import type { ResearchConfig } from "../config/options.js";
import { UsageError } from "../errors.js";
import { type Protection, protectionFor, type SandboxAvailability, sandboxAvailability } from "../sandbox/index.js";
import type { Executor, RunHandle } from "../types.js";
import type { ExecutorDeps, ExecutorDescriptor, ResolvedSlots, SlotsConfig, SlotsPlatform } from "./descriptor.js";
import { LOCAL } from "./local-describe.js";
import { SLURM } from "./slurm/describe.js";
import { SSH } from "./ssh/describe.js";

export type { ExecutorDeps } from "./descriptor.js";

/** In the order `--executor` lists them; the first is the default. */
export const EXECUTOR_DESCRIPTORS: readonly ExecutorDescriptor[] = [LOCAL, SLURM, SSH];

/** The executor of a config that names none. */
export const DEFAULT_EXECUTOR: ExecutorDescriptor = LOCAL;

/** The descriptor of a kind; undefined for a kind this build does not have (an older or newer tool's records). */
export function findExecutor(kind: string | undefined): ExecutorDescriptor | undefined {
  if (kind === undefined) return DEFAULT_EXECUTOR;
  return EXECUTOR_DESCRIPTORS.find((d) => d.kind === kind);
}

/** The descriptor of a config's executor; a kind this build does not have is a usage error. */
export function executorOf(config: Pick<ResearchConfig, "executor">): ExecutorDescriptor {
  const found = findExecutor(config.executor);
  if (!found) throw new UsageError(`executor ${config.executor} is not available in this build`, `Use --executor ${DEFAULT_EXECUTOR.kind}.`);
  return found;
}

/** The kind of an executor instance (injected ones may name none: they run here, as the default does). */
export function kindOf(executor: Pick<Executor, "kind">): string {
  return executor.kind ?? DEFAULT_EXECUTOR.kind;
}

export function createExecutor(config: ResearchConfig, deps: ExecutorDeps = {}): Executor {
  return executorOf(config).create(config, deps);
}


/** The worker slots of a new session, as its executor lays them out. */
export function executorSlots(config: SlotsConfig, platform: SlotsPlatform): ResolvedSlots {
  return executorOf(config).slots(config, platform);
}

/** Whether a new session probes the platform where this executor's runs run (one this build does not know: yes, it is not this machine). */
export function probesRemotePlatform(executor: Pick<Executor, "kind">): boolean {
  return findExecutor(kindOf(executor))?.remotePlatform ?? true;
}

/**
 * How a run in flight shows by its handle: the id shown beside it (a job, a remote run), and
 * whether, before its run starts, it waits in a queue. A kind this build does not know shows its
 * id and never queues.
 */
export function handleView(handle: RunHandle): { job: string | null; queues: boolean } {
  const descriptor = findExecutor(handle.kind);
  return { job: (descriptor?.showsHandle ?? true) ? handle.id : null, queues: descriptor?.queues ?? false };
}

/** Whether a kind's runs happen on this machine (so a sandbox here can confine them). */
export function runsOnThisMachine(kind: string | undefined): boolean {
  return findExecutor(kind)?.remotePlatform === false;
}

/** The protection a config's runs get: a sandbox for runs on this machine, where one runs; else the manifest check. */
export function sessionProtection(config: Pick<ResearchConfig, "executor" | "sandbox">, available: () => SandboxAvailability = sandboxAvailability): Protection {
  return protectionFor(config, runsOnThisMachine(config.executor), available);
}
