/**
 * The branches finalize leaves for review, each on the session's base commit:
 * `autoresearch/<tag>-final` (the smallest set when it held, else every kept change) and
 * `autoresearch/<tag>-change-<n>` for each change that matters, holding it alone, or with the
 * changes it cannot exist without (earlier changes that wrote its lines; changes it only helps
 * together with), named in its commits. Beside the research branch, never under it (a ref cannot
 * sit under the branch `autoresearch/<tag>`), and never moving it. One commit per change, oldest
 * first, each written by fast-import without touching the user's checkout.
 */
import type { FinalizeBranches } from "../../ledger/finalize-records.js";
import { cleanField } from "../../ledger/results-tsv.js";
import type { ResearchRepo } from "../../workspace/research-repo.js";
import type { Git } from "../../workspace/git.js";
import { baseDependencies, type ChangeSet, onBase } from "./changes.js";
import { changeBranch, finalBranch, researchBranch } from "../../workspace/branch-names.js";

export interface BranchInput {
  git: Git;
  repo: ResearchRepo;
  set: ChangeSet;
  baseCommit: string;
  train: string;
  mode: string;
  now: () => Date;
  /** The final code's changes and its exact text (what was measured). */
  final: { holds: number[]; text: string; what: string };
  /** Each change that matters, and the changes it was measured to help only together with. */
  matters: { change: number; together: number[] }[];
  /** Tags of the repository's sessions: a branch named like another session's research branch is never written. */
  sessionTags: readonly string[];
}


/** Commits `holds` one by one on the base commit as `branch`; the last commit's text is `target` when given (one commit with it when the changes one by one do not get there). */
async function writeBranch(input: BranchInput, branch: string, holds: readonly number[], note: string, target?: string): Promise<string | null> {
  const ref = `refs/heads/${branch}`;
  const ordered = input.set.changes.filter((c) => holds.includes(c.id));
  const steps: { text: string; message: string }[] = [];
  let text = input.set.baseText;
  for (const change of ordered) {
    const next = onBase({ ...input.set, baseText: text }, [change.id]);
    if (next === null) {
      steps.length = 0;
      break;
    }
    text = next;
    steps.push({ text, message: `#${change.id}: ${cleanField(change.description).slice(0, 200)}\n\n${note}\n` });
  }
  if (target !== undefined && (steps.length === 0 || steps.at(-1)?.text !== target)) {
    steps.length = 0;
    steps.push({ text: target, message: `${ordered.map((c) => `#${c.id}`).join(" ")}: ${note}\n\n${ordered.map((c) => `#${c.id}: ${cleanField(c.description).slice(0, 200)}`).join("\n")}\n` });
  }
  if (steps.length === 0) return null;
  let parent = input.baseCommit;
  for (const step of steps) parent = await input.repo.commitAt(ref, parent, input.train, input.mode, step.text, step.message, input.now());
  return parent;
}

/**
 * Writes the branches. A branch the user has checked out is not moved (their checkout would no
 * longer match it): it is listed as skipped with why.
 */
export async function writeBranches(input: BranchInput): Promise<FinalizeBranches> {
  const current = await input.git.currentBranch();
  const out: FinalizeBranches = { final: null, changes: [], skipped: [] };
  const { tag } = input.repo;
  // autoresearch/<tag>-final is also what a session tagged "<tag>-final" would call its research branch.
  const another = (branch: string) => input.sessionTags.some((t) => researchBranch(t) === branch);
  const final = finalBranch(tag);
  if (current !== final && !another(final)) {
    const commit = await writeBranch(input, final, input.final.holds, `autoresearch finalize: ${input.final.what}`, input.final.text);
    if (commit) out.final = { branch: final, commit, holds: input.final.holds };
  }
  for (const { change, together } of input.matters) {
    const branch = changeBranch(tag, change);
    if (current === branch) {
      out.skipped.push({ change, reason: `${branch} is checked out in your checkout; switch away and run finalize again` });
      continue;
    }
    if (another(branch)) {
      out.skipped.push({ change, reason: `${branch} is the research branch of another session` });
      continue;
    }
    const deps = baseDependencies(input.set, change);
    if (deps === null) {
      out.skipped.push({ change, reason: "it does not apply on the base commit, even with the changes kept before it" });
      continue;
    }
    const holds = [...new Set([change, ...deps, ...together])];
    // What it needs on the base, for each change it holds: the earlier changes that wrote its lines.
    for (const extra of together) for (const d of baseDependencies(input.set, extra) ?? []) if (!holds.includes(d)) holds.push(d);
    const others = holds.filter((h) => h !== change).sort((a, b) => a - b);
    const note = others.length ? `autoresearch finalize: change #${change}, with ${others.map((o) => `#${o}`).join(", ")} it cannot exist without` : `autoresearch finalize: change #${change} alone`;
    const commit = await writeBranch(input, branch, holds, note);
    if (!commit) {
      out.skipped.push({ change, reason: `it does not apply on the base commit together with ${others.map((o) => `#${o}`).join(", ") || "nothing else"}` });
      continue;
    }
    out.changes.push({ change, branch, commit, holds: input.set.changes.map((c) => c.id).filter((id) => holds.includes(id)) });
  }
  return out;
}
