/**
 * An experiment's change moved onto another best: what a proposal that waited (or a stale
 * candidate) runs once the best it was built on is no longer the best.
 */
import { applyPatch, structuredPatch } from "diff";
import { type ApplyResult, applyProposal } from "../proposers/apply.js";
import type { Proposal } from "../types.js";

/**
 * `from` -> `to` (the proposal applied to its parent's script) applied to `onto` (the current
 * best's script). A proposal given as edits is applied again as edits (exact search/replace);
 * otherwise (a whole new text: a model, an agent) its diff is applied as a patch, with its context
 * lines exact: a change that touched lines the best has changed since does not apply.
 */
export function rebaseChange(from: string, to: string, onto: string, proposal: Pick<Proposal, "edits">): ApplyResult {
  if (from === onto) return { ok: true, text: to };
  if (proposal.edits?.length) {
    const again = applyProposal(onto, { description: "", category: "other", edits: proposal.edits });
    if (again.ok) return again;
  }
  const patch = structuredPatch("a", "b", from, to);
  const text = applyPatch(onto, patch);
  if (text === false) return { ok: false, reason: "the lines it changes (or their neighbours) were changed by the experiment kept since" };
  return { ok: true, text };
}
