import type { Proposal } from "../types.js";

export type ApplyResult = { ok: true; text: string } | { ok: false; reason: string };

function countOccurrences(text: string, search: string): number {
  let count = 0;
  for (let at = text.indexOf(search); at !== -1; at = text.indexOf(search, at + 1)) count++;
  return count;
}

function preview(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

/** Applies a proposal's edits in order; each search text must occur exactly once. */
export function applyProposal(current: string, proposal: Proposal): ApplyResult {
  if (proposal.newText !== undefined) {
    return proposal.newText === current ? { ok: false, reason: "the proposal leaves the training script unchanged" } : { ok: true, text: proposal.newText };
  }
  const edits = proposal.edits ?? [];
  if (edits.length === 0) return { ok: false, reason: "the proposal has no edits" };
  let text = current;
  for (const [index, edit] of edits.entries()) {
    if (edit.search === "") return { ok: false, reason: `edit ${index + 1}: empty search text` };
    const count = countOccurrences(text, edit.search);
    if (count !== 1) {
      const where = count === 0 ? "was not found" : `was found ${count} times`;
      return { ok: false, reason: `edit ${index + 1}: search text "${preview(edit.search)}" ${where}; it must match exactly once` };
    }
    text = text.replace(edit.search, () => edit.replace);
  }
  if (text === current) return { ok: false, reason: "the proposal leaves the training script unchanged" };
  return { ok: true, text };
}

/** Non-empty lines: what the simplicity principle compares. */
export function countLines(text: string): number {
  return text.split(/\r?\n/).filter((line) => line.trim() !== "").length;
}
