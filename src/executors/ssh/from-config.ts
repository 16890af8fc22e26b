/**
 * The ssh executor as a session uses it: the worker repos on the hosts are named after the
 * user's repository and the session's tag, `git clean` there keeps the same paths the local
 * clones share (data/, .venv ...: prepared on each host by the user), and --pass-env names
 * travel. git belongs to the workspace layer, so the push is handed in from here.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { ResearchConfig } from "../../config/options.js";
import { SshExecutor } from "./executor.js";
import { DEFAULT_REMOTE_DIR } from "./remote-repo.js";
import { cloneHead, pushHead } from "../../workspace/push.js";
import { DEFAULT_SHARE } from "../../workspace/shared.js";

/** `<repo name>-<8 hex of its absolute path>`: readable on the host, distinct for two checkouts of one project. */
export function remoteRepoKey(root: string): string {
  const name = basename(root).replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40) || "repo";
  return `${name}-${createHash("sha256").update(root).digest("hex").slice(0, 8)}`;
}

export function createSshExecutor(config: ResearchConfig, root: string, env: NodeJS.ProcessEnv = process.env): SshExecutor {
  return new SshExecutor({
    remoteDir: config.remoteDir ?? DEFAULT_REMOTE_DIR,
    repoKey: remoteRepoKey(root),
    tag: config.tag,
    keep: config.share === false ? [] : [...DEFAULT_SHARE, ...(config.share ?? [])],
    passEnv: config.passEnv ?? [],
    env,
    push: pushHead,
    head: cloneHead,
  });
}
