import { setMaxListeners } from "node:events";

/**
 * How a session is asked to stop. First request: finish the current experiment, then stop.
 * Second request: abort the run in flight (its process tree is killed), record it, stop.
 */
export class StopControl {
  private readonly controller = new AbortController();
  private requests = 0;

  constructor() {
    // Every run, check and proposal in flight listens to it: with many workers that is more than Node's default 10.
    setMaxListeners(1000, this.controller.signal);
  }

  get stopRequested(): boolean {
    return this.requests > 0;
  }

  /** Aborted on the second request; passed to the executor and proposer. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Returns which kind of stop this request became. */
  request(): "graceful" | "abort" {
    this.requests++;
    if (this.requests >= 2) {
      this.controller.abort();
      return "abort";
    }
    return "graceful";
  }
}
