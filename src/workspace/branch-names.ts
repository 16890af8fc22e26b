/**
 * The branches the tool writes, named in one place: the research branch of a session, and the
 * branches `finalize` leaves beside it (a ref cannot sit under the branch `autoresearch/<tag>`
 * itself, so they are its siblings).
 */

/** The research branch: the best node's lineage. */
export function researchBranch(tag: string): string {
  return `autoresearch/${tag}`;
}

/** Whether `branch` is one the tool writes (any session's research or finalize branch): never a place a user merges work into. */
export function isToolBranch(branch: string): boolean {
  return branch.startsWith(researchBranch(""));
}

/** Where finalize leaves the smallest set (the final code). */
export function finalBranch(tag: string): string {
  return `${researchBranch(tag)}-final`;
}

/** Where finalize leaves one change that matters, alone on the base commit. */
export function changeBranch(tag: string, change: number): string {
  return `${researchBranch(tag)}-change-${change}`;
}

/** Where finalize keeps the commits of the code it measures: under the session's experiment refs, removed with them. */
export function finalizeRefPrefix(tag: string): string {
  return `refs/autoresearch/${tag}/finalize/`;
}

/** Whether `branch` is one of the branches finalize writes for session `tag`. */
export function isFinalizeBranchOf(tag: string, branch: string): boolean {
  if (branch === finalBranch(tag)) return true;
  const prefix = `${researchBranch(tag)}-change-`;
  return branch.startsWith(prefix) && /^[0-9]+$/.test(branch.slice(prefix.length));
}
