import { Git, type GitResult } from "./git.js";

/**
 * Pushes the commit checked out in a worker clone to a repository over ssh, by URL: git writes
 * nothing in the clone's git dir for that (no remote in its config, no remote-tracking ref, no
 * FETCH_HEAD), so the inspection after the run sees the clone exactly as the tool left it. The
 * clone's git runs hardened and isolated (no hooks, no user config); only objects the host does
 * not have yet travel, negotiated from the refs it advertises. `env` carries GIT_SSH_COMMAND (and
 * the ssh agent's socket, which the tool's git environment otherwise drops with the secrets).
 */
export async function pushHead(cloneDir: string, url: string, ref: string, env: Record<string, string>): Promise<GitResult> {
  return new Git(cloneDir, true).raw(["push", "--quiet", "--force", "--no-verify", url, `HEAD:${ref}`], { env });
}

/** The commit a worker clone has checked out. */
export async function cloneHead(cloneDir: string): Promise<string> {
  return new Git(cloneDir, true).head();
}
