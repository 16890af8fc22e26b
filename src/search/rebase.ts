/**
 * An experiment's change moved onto another best: what a proposal that waited (or a stale
 * candidate, or an out-of-memory retry) runs once the best it was built on is no longer the best.
 */
import { applyPatch, structuredPatch } from "diff";
import { type ApplyResult, applyProposal } from "../proposers/apply.js";
import type { Proposal } from "../types.js";

/**
 * `from` -> `to` (the proposal applied to its parent's script) applied to `onto` (the current
 * best's script), tried in this order:
 * 1. a proposal given as edits that are the whole change (they turn `from` into `to`) is applied
 *    again as edits (exact search/replace);
 * 2. its diff as a patch with its context lines exact;
 * 3. each block of lines it changes replaced where that block occurs, unchanged, exactly once in
 *    `onto` (and once in `from`): a change next to lines the best changed since (two constants on
 *    neighbouring lines) still applies; one that touches lines the best changed, or that only
 *    inserts lines (nothing to anchor it), does not. A block `onto` already has as the change
 *    makes it (the unchanged block gone, the changed one there exactly once) is left as it is:
 *    the same change made on both sides is no conflict (the result is `onto` itself when all of
 *    it is there already).
 * (An out-of-memory retry's edits apply to the crashed script, not to `from`: it takes 2 or 3.)
 */
export function rebaseChange(from: string, to: string, onto: string, proposal: Pick<Proposal, "edits">): ApplyResult {
  if (from === onto) return { ok: true, text: to };
  if (proposal.edits?.length && editsOf(from, proposal.edits) === to) {
    const again = applyProposal(onto, { description: "", category: "other", edits: proposal.edits });
    if (again.ok) return again;
  }
  const patched = applyPatch(onto, structuredPatch("a", "b", from, to));
  if (patched !== false) return { ok: true, text: patched };
  const replaced = replaceChangedLines(from, to, onto);
  if (replaced !== null) return { ok: true, text: replaced };
  return { ok: false, reason: "the lines it changes were changed by the experiment kept since" };
}

/** `text` with `edits` applied, or null when they do not apply. */
function editsOf(text: string, edits: NonNullable<Proposal["edits"]>): string | null {
  const applied = applyProposal(text, { description: "", category: "other", edits });
  return applied.ok ? applied.text : null;
}

const bare = (line: string) => line.replace(/\r$/, "");

/** Where `block` occurs in `lines` (compared without line ends), when it occurs exactly once. */
function uniqueAt(lines: readonly string[], block: readonly string[]): number | null {
  let found: number | null = null;
  for (let at = 0; at + block.length <= lines.length; at++) {
    if (block.every((line, i) => bare(lines[at + i] as string) === bare(line))) {
      if (found !== null) return null;
      found = at;
    }
  }
  return found;
}

/** Whether `block` occurs in `lines` at all (compared without line ends). */
function occurs(lines: readonly string[], block: readonly string[]): boolean {
  for (let at = 0; at + block.length <= lines.length; at++) if (block.every((line, i) => bare(lines[at + i] as string) === bare(line))) return true;
  return false;
}

/** Step 3 of rebaseChange: the change's blocks of lines (a diff without context) replaced by content, not position. */
function replaceChangedLines(from: string, to: string, onto: string): string | null {
  const { hunks } = structuredPatch("a", "b", from, to, undefined, undefined, { context: 0 });
  const fromLines = from.split("\n");
  const lines = onto.split("\n");
  for (const hunk of hunks) {
    const removed = hunk.lines.filter((l) => l.startsWith("-")).map((l) => l.slice(1));
    const added = hunk.lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1));
    if (removed.length === 0 || uniqueAt(fromLines, removed) === null) return null;
    if (replaceBlock(lines, removed, added)) continue;
    // A block of lines changed one for one (neighbouring constants): line by line, so a line the
    // best has already as the change makes it does not stop the others.
    if (removed.length !== added.length || removed.length === 1) return null;
    for (let i = 0; i < removed.length; i++) {
      const [was, now] = [removed[i] as string, added[i] as string];
      if (was === now) continue;
      if (uniqueAt(fromLines, [was]) === null || !replaceBlock(lines, [was], [now])) return null;
    }
  }
  return lines.join("\n");
}

/**
 * `removed` replaced by `added` where it occurs exactly once in `lines`; true too when it is gone
 * and `added` is there exactly once (the same change made already). False otherwise.
 */
function replaceBlock(lines: string[], removed: readonly string[], added: readonly string[]): boolean {
  const at = uniqueAt(lines, removed);
  if (at !== null) {
    lines.splice(at, removed.length, ...added);
    return true;
  }
  return added.length > 0 && !occurs(lines, removed) && uniqueAt(lines, added) !== null;
}
