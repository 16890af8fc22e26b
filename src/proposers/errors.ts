import { AutoresearchError } from "../errors.js";
import type { TokenUsage } from "../types.js";

/**
 * One proposal attempt failed, but the session can go on: the agent exited non-zero, hung,
 * changed nothing, or the model kept replying with something unusable. The loop records it as
 * a rejected attempt (`reason`, `message`) and asks again or skips the iteration.
 * Distinct from RuntimeFailure (bad key, provider down), which stops the session.
 */
export class ProposalFailed extends AutoresearchError {
  constructor(
    /** Short machine-readable reason: agent-timeout, agent-exit, agent-no-change, agent-deleted-train, malformed-reply. */
    readonly reason: string,
    message: string,
    /** Files the agent touched outside the training script (already restored). */
    readonly violations: string[] = [],
    /** What the failed attempt cost, where the agent said: it counts towards --max-cost. */
    readonly spent: { usage?: TokenUsage; costUsd?: number } = {},
  ) {
    super(message, 1);
  }
}
