import { rmSync } from "node:fs";
import type { Git } from "./git.js";

/** What a session left in the repository that `clean` takes away. */
export interface SessionTraces {
  /** The research branch, when it still exists. */
  branch: string | null;
  /** refs/autoresearch/<tag>/* (the discarded and crashed experiments' commits). */
  refs: readonly string[];
  /** Folders under <git dir>/autoresearch: the session's records and experiment clones. */
  dirs: readonly string[];
  /** The branches `finalize` left beside the research branch (autoresearch/<tag>-final, -change-<n>). */
  finalizeBranches?: readonly string[];
}

/**
 * Deletes a session's refs, then its branch, then its folders. The refs go first: should the
 * branch deletion fail, nothing is left that names commits of a session whose records are gone.
 */
export async function removeSessionTraces(git: Git, traces: SessionTraces): Promise<void> {
  for (const ref of traces.refs) await git.deleteRef(ref);
  for (const branch of traces.finalizeBranches ?? []) await git.deleteBranch(branch);
  if (traces.branch) await git.deleteBranch(traces.branch);
  for (const dir of traces.dirs) rmSync(dir, { recursive: true, force: true });
}
