import { Git, type GitResult } from "./git.js";

/**
 * Pushes the commit checked out in a worker clone to a repository over ssh, by URL: git writes
 * nothing in the clone's git dir for that (no remote in its config, no remote-tracking ref, no
 * FETCH_HEAD), so the inspection after the run sees the clone exactly as the tool left it. The
 * clone's git runs hardened and isolated (no hooks, no user config); only objects the host does
 * not have yet travel, negotiated from the refs it advertises. `env` carries GIT_SSH_COMMAND (and
 * the ssh agent's socket, which the tool's git environment otherwise drops with the secrets).
 */
export async function pushHead(cloneDir: string, url: string, ref: string, env: Record<string, string>, receivePack?: string): Promise<GitResult> {
  const remote = receivePack === undefined ? [] : [`--receive-pack=${receivePack}`];
  return new Git(cloneDir, true).raw(["push", "--quiet", "--force", "--no-verify", ...remote, url, `HEAD:${ref}`], { env });
}

/**
 * The tracked regular files of the commit a clone has checked out, with their blob ids, read
 * from the clone (which the remote host cannot touch): what a host's tree is compared with.
 * Links and submodules are left out; so are paths with a newline (they cannot travel as lines).
 */
export async function trackedBlobs(cloneDir: string): Promise<{ blob: string; path: string }[]> {
  const out = await new Git(cloneDir, true).run(["ls-tree", "-r", "-z", "--full-tree", "HEAD"]);
  const files: { blob: string; path: string }[] = [];
  for (const entry of out.split("\0")) {
    const m = /^(100644|100755) blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (m && !m[3]?.includes("\n")) files.push({ blob: m[2] as string, path: m[3] as string });
  }
  return files;
}

/** The commit a worker clone has checked out. */
export async function cloneHead(cloneDir: string): Promise<string> {
  return new Git(cloneDir, true).head();
}
