/**
 * The one error family. Every failure the tool reports on purpose is an AutoresearchError;
 * `cli/main.ts` maps `exitCode` to the process exit code in one place.
 */
export class AutoresearchError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** What the user can do about it, printed under the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, bad config, a repo not fit to start in: exit 2, nothing changed. */
export class UsageError extends AutoresearchError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** Something went wrong while working (baseline crashed, git failed, provider auth): exit 1. */
export class RuntimeFailure extends AutoresearchError {
  constructor(message: string, hint?: string) {
    super(message, 1, hint);
  }
}

/** The user stopped the session (Ctrl-C / SIGTERM): exit 130. */
export class Interrupted extends AutoresearchError {
  constructor(message = "stopped by signal") {
    super(message, 130);
  }
}
