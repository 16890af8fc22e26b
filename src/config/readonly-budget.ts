/**
 * A read-only script may fix its own time budget (Karpathy's prepare.py: `TIME_BUDGET = 300`).
 * When that disagrees with the chosen budget the user decides at setup: update it now, as one
 * setup commit before any hashes are taken, or keep it. It is never changed later.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { formatDuration } from "./duration.js";

export interface BudgetConstant {
  /** Path as given in the config (relative to the repo root). */
  path: string;
  /** 1-based line number. */
  line: number;
  name: string;
  /** The value as written: "300", "5 * 60". */
  valueText: string;
  /** Seconds per unit of the constant (60 for TIME_BUDGET_MIN). */
  unitSec: number;
  seconds: number;
}

export interface BudgetEdit {
  path: string;
  before: string;
  after: string;
  constants: BudgetConstant[];
  /** The setup commit's message. */
  message: string;
}

// `TIME_BUDGET = 300`, `TIME_BUDGET: int = 5 * 60  # seconds`, `export const TRAIN_TIME_BUDGET_S = 300;`
const ASSIGN =
  /^(\s*(?:export\s+)?(?:(?:const|let|var|final|static|public|private)\s+)*(?:[A-Za-z_][\w<>[\]]*\s+)?)([A-Za-z_]*TIME_BUDGET[A-Za-z0-9_]*)(\s*(?::\s*[A-Za-z_][\w[\]]*\s*)?=\s*)(\d[\d_]*(?:\.\d+)?(?:\s*\*\s*\d[\d_]*(?:\.\d+)?)*)(?=\s*(?:;|,|#|\/\/|$))/;

function unitOf(name: string, rest: string): number {
  if (/_(MIN|MINS|MINUTE|MINUTES)$/i.test(name) || /\bin minutes\b/i.test(rest)) return 60;
  if (/_(MS|MILLIS|MILLISECONDS)$/i.test(name)) return 0.001;
  if (/_(H|HR|HRS|HOUR|HOURS)$/i.test(name)) return 3600;
  return 1;
}

function evaluate(valueText: string): number {
  return valueText
    .split("*")
    .map((part) => Number(part.trim().replace(/_/g, "")))
    .reduce((a, b) => a * b, 1);
}

/** Every literal TIME_BUDGET-like constant in a script's text (reads of AUTORESEARCH_TIME_BUDGET are not constants). */
export function findTimeBudgets(path: string, text: string): BudgetConstant[] {
  const found: BudgetConstant[] = [];
  text.split("\n").forEach((raw, index) => {
    const match = ASSIGN.exec(raw);
    if (!match) return;
    const [, , name = "", , valueText = ""] = match;
    const unitSec = unitOf(name, raw.slice(match[0].length));
    const seconds = evaluate(valueText) * unitSec;
    if (Number.isFinite(seconds) && seconds > 0) found.push({ path, line: index + 1, name, valueText, unitSec, seconds });
  });
  return found;
}

/** The read-only scripts' budget constants that disagree with `budgetSec`. */
export function budgetConflicts(root: string, readonly: readonly string[], budgetSec: number): BudgetConstant[] {
  const conflicts: BudgetConstant[] = [];
  for (const path of readonly) {
    const full = join(root, path);
    if (!existsSync(full)) continue;
    let text: string;
    try {
      text = readFileSync(full, "utf8");
    } catch {
      continue;
    }
    conflicts.push(...findTimeBudgets(path, text).filter((c) => Math.abs(c.seconds - budgetSec) > 1e-6));
  }
  return conflicts;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
}

export function budgetCommitMessage(budgetSec: number): string {
  return `autoresearch: set TIME_BUDGET to ${formatNumber(budgetSec)} for this session`;
}

/** The edit that sets every conflicting constant of one file to `budgetSec` (in the constant's unit). */
export function budgetEdit(root: string, path: string, constants: BudgetConstant[], budgetSec: number): BudgetEdit {
  const before = readFileSync(join(root, path), "utf8");
  const lines = before.split("\n");
  for (const c of constants) {
    const raw = lines[c.line - 1] as string;
    const match = ASSIGN.exec(raw);
    if (!match) continue;
    const [whole, lead = "", name = "", eq = ""] = match;
    lines[c.line - 1] = `${lead}${name}${eq}${formatNumber(budgetSec / c.unitSec)}${raw.slice(whole.length)}`;
  }
  return { path, before, after: lines.join("\n"), constants, message: budgetCommitMessage(budgetSec) };
}

export function describeConflict(c: BudgetConstant, budgetSec: number): string {
  return `${c.path}:${c.line} sets ${c.name} = ${c.valueText} (${formatDuration(c.seconds)}), but the chosen time budget is ${formatDuration(budgetSec)}`;
}
