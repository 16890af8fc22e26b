import { AutoresearchError } from "../errors.js";

/** The command's work ended because nothing was left to wait for, not because it finished. */
export class UnfinishedWork extends AutoresearchError {
  constructor() {
    super(
      "the command stopped before its work was done: it was left waiting on something that can no longer happen (an internal error)",
      1,
      "Nothing was lost: run `autoresearch resume` (or the same command again) to continue, and report this as a bug.",
    );
  }
}

/**
 * Settles with `work`, or, when Node's event loop runs dry while `work` is still pending (an
 * await on a timer or handle that does not keep the process alive), with UnfinishedWork: a
 * process that would otherwise end with exit code 0 having done nothing gets a message and exit 1.
 */
export async function guardUnfinished<T>(work: Promise<T>): Promise<T> {
  let onDry: (() => void) | null = null;
  const dry = new Promise<never>((_, reject) => {
    onDry = () => reject(new UnfinishedWork());
    // beforeExit fires only when nothing keeps the loop alive; rejecting schedules the report, so the process goes on.
    process.once("beforeExit", onDry);
  });
  try {
    return await Promise.race([work, dry]);
  } finally {
    if (onDry) process.removeListener("beforeExit", onDry);
  }
}
