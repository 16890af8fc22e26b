/**
 * Where a worker's tree lives on an ssh host: a persistent git repository per worker,
 * `<remoteDir>/<repo-key>/<tag>/w<k>`, made with `git init` the first time. Each experiment's
 * commit is pushed into it (only objects the host lacks travel), then checked out by the wrapper.
 * A repo whose git state is not exactly what the tool makes (a run planted a hook, an fsmonitor,
 * a filter, a ref ...) is made again before anything is pushed into it.
 */
import { shQuote } from "./ssh-command.js";
import { gitSafetyFunctions } from "./wrapper.js";

/** Where trees live on a host unless --remote-dir says otherwise (the remote user's home). */
export const DEFAULT_REMOTE_DIR = "~/.cache/autoresearch";

export interface RemoteLayout {
  /** The user's setting (`~/...` allowed: expanded by the remote shell). */
  remoteDir: string;
  /** Names the user's repository: `<name>-<hash of its path>`. */
  repoKey: string;
  tag: string;
  worker: number;
}

/** Exit status of the prepare script when git is not installed on the host. */
export const NO_GIT = 3;

/**
 * A remote command that creates the worker's repo if needed (or again, when its git state is not
 * the tool's: see gitSafetyFunctions) and prints two lines: the absolute
 * remoteDir and the absolute repo path (the push and the wrapper need absolute paths).
 */
export function prepareCommand(layout: RemoteLayout): string {
  const sub = `${layout.repoKey}/${layout.tag}/w${layout.worker}`;
  const script = [
    `d=${shQuote(layout.remoteDir)}`,
    `case $d in "~") d=$HOME;; "~/"*) d=$HOME/\${d#"~/"};; esac`,
    `command -v git >/dev/null 2>&1 || { echo "git is not installed on $(hostname)" >&2; exit ${NO_GIT}; }`,
    `mkdir -p "$d/runs" "$d"/${shQuote(sub)} || exit 4`,
    `cd "$d"/${shQuote(sub)} || exit 4`,
    gitSafetyFunctions(),
    "if [ -e .git ] || [ -L .git ]; then canonical >/dev/null || recreate || exit 4; else recreate || exit 4; fi",
    `cd "$d" && pwd -P && cd ${shQuote(sub)} && pwd -P`,
  ].join("\n");
  return `exec sh -c ${shQuote(script)}`;
}

export interface PreparedRepo {
  remoteDir: string;
  repoDir: string;
}

export function parsePrepared(stdout: string): PreparedRepo | null {
  const lines = stdout.split("\n").map((l) => l.trim()).filter(Boolean);
  if (lines.length < 2) return null;
  const [remoteDir, repoDir] = lines.slice(-2) as [string, string];
  return remoteDir.startsWith("/") && repoDir.startsWith("/") ? { remoteDir, repoDir } : null;
}

/** The ref the experiment commit is pushed to (not a branch: nothing on the host checks it out by name). */
export const PUSH_REF = "refs/autoresearch/run";

/** git's scp-like address of the repo for a push over ssh. */
export function pushUrl(host: string, repoDir: string): string {
  return `${host}:${repoDir}`;
}
