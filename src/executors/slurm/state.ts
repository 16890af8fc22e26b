/**
 * What SLURM says about a job, parsed from the text its commands print, and what a final state
 * means for the run. Pure functions over recorded text: the parsing is unit-tested on real output.
 */
import { constants } from "node:os";

/** One job as squeue, scontrol or sacct describes it. Times are ms since the epoch, null when not known. */
export interface JobInfo {
  /** PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, NODE_FAIL ... (without sacct's "by <uid>"). */
  state: string;
  /** The batch script's exit code and the signal that ended it (`ExitCode=N:S`), once it ended. */
  exitCode: number | null;
  signal: number | null;
  /** Why it is pending or how it ended (`Reason=`, squeue's %r); null for None. */
  reason: string | null;
  submitMs: number | null;
  startMs: number | null;
  /**
   * Whether the job was ever given a node (it ran, however briefly), null when the source does not
   * say. A job cancelled while pending has a StartTime (the cancel time) but no node.
   */
  ran: boolean | null;
}

/** States in which the job has not started: time here is queue time, never run time. */
const PENDING_STATES = new Set(["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"]);
/** States after which nothing of the job runs any more. */
const FINAL_STATES = new Set(["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "SPECIAL_EXIT", "REVOKED"]);

export function isPending(state: string): boolean {
  return PENDING_STATES.has(state);
}

export function isFinal(state: string): boolean {
  return FINAL_STATES.has(state);
}

/** squeue's and scontrol's local times (`2026-11-27T18:52:30`), or null for Unknown / N/A / None. */
export function parseSlurmTime(text: string | undefined): number | null {
  if (!text || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) return null;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : null;
}

function parseExitCode(text: string | undefined): { exitCode: number | null; signal: number | null } {
  const m = /^(\d+):(\d+)$/.exec(text ?? "");
  return m ? { exitCode: Number(m[1]), signal: Number(m[2]) } : { exitCode: null, signal: null };
}

function reasonOf(text: string | undefined): string | null {
  return text && text !== "None" && text !== "(null)" ? text : null;
}

/** sacct writes `CANCELLED by 0`; scontrol may write `CANCELLED+`. */
function normalizeState(text: string): string {
  return (text.trim().split(/\s+/)[0] ?? "").replace(/\+$/, "").toUpperCase();
}

/** The squeue format this module reads: state, start time, submit time, reason. */
export const SQUEUE_FORMAT = "%T|%S|%V|%r";

/** `squeue -h -j ID -o "%T|%S|%V|%r"`: null when the job is not in the queue (finished or unknown). */
export function parseSqueue(stdout: string): JobInfo | null {
  const line = stdout.split("\n").find((l) => l.trim() !== "");
  if (!line) return null;
  const [state = "", start, submit, ...reason] = line.trim().split("|");
  const normalized = normalizeState(state);
  return { state: normalized, exitCode: null, signal: null, reason: reasonOf(reason.join("|")), submitMs: parseSlurmTime(submit), startMs: parseSlurmTime(start), ran: !isPending(normalized) };
}

/**
 * `scontrol show job -o ID`: one line of `Key=Value` pairs. Values have no spaces except a few
 * (Command=, WorkDir=, Comment= may): only the keys read here are taken, each ending at the next ` Key=`.
 */
export function parseScontrol(stdout: string): JobInfo | null {
  const line = stdout.split("\n").find((l) => /\bJobState=/.test(l));
  if (!line) return null;
  const field = (key: string): string | undefined => {
    const m = new RegExp(`(?:^|\\s)${key}=(.*?)(?=\\s+[A-Za-z_/:]+=|\\s*$)`).exec(line);
    return m?.[1];
  };
  return {
    state: normalizeState(field("JobState") ?? ""),
    ...parseExitCode(field("ExitCode")),
    reason: reasonOf(field("Reason")),
    submitMs: parseSlurmTime(field("SubmitTime")),
    startMs: parseSlurmTime(field("StartTime")),
    ran: field("BatchHost") === undefined && field("NodeList") === undefined ? null : nodeAssigned(field("BatchHost")) || nodeAssigned(field("NodeList")),
  };
}

/** A node list naming a node: scontrol prints an empty one, sacct `None assigned`, for a job never started. */
function nodeAssigned(text: string | undefined): boolean {
  return text !== undefined && text !== "" && text !== "(null)" && !/^None/i.test(text);
}

/** The sacct columns this module reads (`sacct -n -P -X -j ID -o ...`). */
export const SACCT_FORMAT = "State,ExitCode,Reason,Submit,Start,NodeList";

/** `sacct -n -P -X -o State,ExitCode,Reason,Submit,Start,NodeList -j ID`: the allocation's line; null when sacct does not know it. */
export function parseSacct(stdout: string): JobInfo | null {
  const line = stdout.split("\n").find((l) => l.includes("|"));
  if (!line) return null;
  const [state = "", exit, reason, submit, start, nodes] = line.trim().split("|");
  return { state: normalizeState(state), ...parseExitCode(exit), reason: reasonOf(reason), submitMs: parseSlurmTime(submit), startMs: parseSlurmTime(start), ran: nodes === undefined ? null : nodeAssigned(nodes) };
}

/** sacct's answer when the cluster keeps no accounting: then scontrol is the only source. */
export function accountingDisabled(output: string): boolean {
  return /accounting storage is disabled/i.test(output);
}

/** scontrol's and squeue's answer for a job id the controller does not know (any more). */
export function unknownJob(output: string): boolean {
  return /Invalid job id specified/i.test(output);
}

export function signalName(signal: number | null): string | null {
  if (!signal) return null;
  const found = Object.entries(constants.signals).find(([, n]) => n === signal);
  return found ? found[0] : `signal ${signal}`;
}

/** What a final state means for the run: its exit status, and the scheduler's reason when it was not the command's doing. */
export interface JobOutcome {
  exitCode: number | null;
  signal: string | null;
  oom: boolean;
  failure?: { reason: string; detail: string };
}

const SCHEDULER_FAILURES: Record<string, { reason: string; text: string }> = {
  TIMEOUT: { reason: "time-limit", text: "the cluster's time limit ended the job (sbatch --time)" },
  NODE_FAIL: { reason: "node-fail", text: "the compute node failed" },
  PREEMPTED: { reason: "preempted", text: "the job was preempted by the scheduler" },
  OUT_OF_MEMORY: { reason: "oom", text: "the job ran out of its memory allocation" },
  BOOT_FAIL: { reason: "boot-fail", text: "the compute node failed to boot" },
  DEADLINE: { reason: "deadline", text: "the job reached its deadline" },
  REVOKED: { reason: "revoked", text: "the job was revoked (federation)" },
  CANCELLED: { reason: "cancelled", text: "the job was cancelled outside autoresearch (scancel, an administrator or the scheduler)" },
};

/**
 * COMPLETED / FAILED: the command's own exit status. Anything else ended by the scheduler gets a
 * failure reason the decision records. `cancelledByUs`: the tool itself cancelled it (hard
 * timeout, abort, --max-pending), so CANCELLED is the expected end, not a failure of its own.
 */
export function jobOutcome(jobId: string, info: JobInfo, cancelledByUs: boolean): JobOutcome {
  const signal = signalName(info.signal);
  const base = { exitCode: info.signal ? null : info.exitCode, signal, oom: info.state === "OUT_OF_MEMORY" };
  if (info.state === "COMPLETED" || info.state === "FAILED" || info.state === "SPECIAL_EXIT") return base;
  if (info.state === "CANCELLED" && cancelledByUs) return { ...base, signal: signal ?? "SIGTERM" };
  const known = SCHEDULER_FAILURES[info.state];
  const reason = known?.reason ?? info.state.toLowerCase().replace(/_/g, "-");
  const why = info.reason ? ` (${info.reason})` : "";
  return { ...base, failure: { reason, detail: `SLURM job ${jobId} ended ${info.state}: ${known?.text ?? "ended by the scheduler"}${why}` } };
}
