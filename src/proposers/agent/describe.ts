import { basename } from "node:path";
import { diffLines } from "diff";
import type { Category } from "../../types.js";

/** `NAME = value` (optionally annotated, with a trailing comment), the shape of most config lines. */
const ASSIGNMENT = /^\s*([A-Za-z_][\w.]*)\s*(?::\s*[^=]+)?=(?!=)\s*(.*?)\s*(?:#.*)?$/;

export interface LineChanges {
  added: string[];
  removed: string[];
}

export function changedLines(oldText: string, newText: string): LineChanges {
  const added: string[] = [];
  const removed: string[] = [];
  for (const part of diffLines(oldText, newText)) {
    if (!part.added && !part.removed) continue;
    const lines = part.value.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    (part.added ? added : removed).push(...lines);
  }
  return { added, removed };
}

/**
 * A one-line description of a change for agents that did not write one: changed assignments as
 * "LR 0.01 -> 0.02", else "edit train.py: +3 -1 lines".
 */
export function describeChange(trainPath: string, oldText: string, newText: string): string {
  const { added, removed } = changedLines(oldText, newText);
  const before = assignments(removed);
  const after = assignments(added);
  const pairs: string[] = [];
  for (const [name, value] of after) {
    const old = before.get(name);
    if (old !== undefined && old !== value) pairs.push(`${name} ${clip(old)} -> ${clip(value)}`);
  }
  const substantive = (lines: string[]) => lines.filter((l) => l.trim() !== "" && !l.trim().startsWith("#")).length;
  const others = substantive(added) - pairs.length + (substantive(removed) - pairs.length);
  if (pairs.length > 0 && pairs.length <= 3 && others === 0) return pairs.join(", ");
  if (pairs.length > 0) {
    const shown = pairs.slice(0, 3).join(", ");
    return `${shown} (+${added.length} -${removed.length} lines in ${basename(trainPath)})`;
  }
  return `edit ${basename(trainPath)}: +${added.length} -${removed.length} lines`;
}

/** A best guess at the category of a change, for agents that did not name one. */
export function guessCategory(oldText: string, newText: string): Category {
  const { added, removed } = changedLines(oldText, newText);
  const lines = [...added, ...removed].filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  const text = lines.join("\n");
  if (/\b(optim|adam|adamw|sgd|muon|lion|momentum|betas?|weight_decay|eps)\b/i.test(text)) return "optimizer";
  if (lines.length > 0 && lines.every((l) => ASSIGNMENT.test(l) && /^[\s\w.]+=\s*[-+\w.'"eE]+\s*(#.*)?$/.test(l))) return "hyperparameters";
  if (/\b(class|nn\.|Linear|Conv\w*|Attention|attn|layers?|heads?|embed\w*|relu|gelu|silu|mlp|norm)\b/i.test(text)) return "architecture";
  return "training";
}

function assignments(lines: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of lines) {
    const m = ASSIGNMENT.exec(line);
    if (m?.[1] && m[2] !== undefined && m[2] !== "") out.set(m[1], m[2]);
  }
  return out;
}

function clip(value: string): string {
  return value.length > 30 ? `${value.slice(0, 29)}…` : value;
}
