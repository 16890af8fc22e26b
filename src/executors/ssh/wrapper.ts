/**
 * The remote wrapper: a POSIX sh script sent inline over ssh that runs one experiment on the
 * host. Killing sshd's session does not kill a command that has no terminal, so the wrapper owns
 * the run's lifetime there:
 *  - it reads the commit's file list (blob ids) from its input, checks the repo's git state is the
 *    tool's, checks the pushed commit out (detached, no index kept) and cleans the tree, keeping
 *    the paths the user prepared on the host (data/, .venv ...), with git's hooks, fsmonitor,
 *    filters and system/global config off, and compares the tree with the commit by content;
 *  - the command runs in bubblewrap when the host can run it (system and .git read-only, its
 *    own pid namespace: a daemon dies with the run); the rules are the local sandbox's, in sh;
 *  - after the run it compares the tree and the git state again and prints one violation line
 *    per difference (a changed repo is made again);
 *  - it starts the command in a process group of its own (setsid on Linux; perl's setpgrp where
 *    there is no setsid, e.g. macOS: dash and sh without a terminal refuse `set -m`), with the
 *    run's variables exported in that process only, and writes the group id to a file so a
 *    second connection can kill it;
 *  - it kills the whole group (TERM, grace, KILL) when its standard input closes (the connection
 *    dropped, the orchestrator died or closed it on purpose) and at its own deadline (the hard
 *    timeout plus a margin: a last line of defence when the orchestrator cannot reach it);
 *  - after the command exits it kills what is left of the group, and on Linux any process that
 *    still carries the run's marker (a daemon that left the group), then prints one status line
 *    with a per-run nonce, so the orchestrator can tell "the run ended" from "the connection died".
 */
import { shQuote } from "./ssh-command.js";

export interface WrapperOptions {
  /** Absolute path of the worker's repo on the host. */
  dir: string;
  /** The experiment commit, already pushed there. */
  sha: string;
  command: string;
  /** Exported for the command only (already filtered for the host). */
  env: Record<string, string>;
  runId: string;
  /** Where the group id is written (outside the repo, so a run cannot see or clean it). */
  pidFile: string;
  /** Seconds after which the wrapper kills the run by itself. */
  deadlineSec: number;
  /** Seconds between TERM and KILL. */
  graceSec: number;
  /** Random per run: only the wrapper knows it, so a run's own output cannot fake the status line. */
  nonce: string;
  /** Repo-relative paths `git clean` keeps (the user's data and environments on the host). */
  keep: readonly string[];
  /** auto: in bubblewrap when the host can run it; off: never (the default is auto). */
  sandbox?: "auto" | "off";
}

export const EXIT_MARKER = "autoresearch-exit";
/** Prefix of a line the wrapper prints for each thing the run did that it was not allowed to (with the nonce). */
export const VIOLATION_MARKER = "autoresearch-violation";

/**
 * bubblewrap as the wrapper and doctor probe it on a host: it must be installed AND able to make
 * its namespaces there (some kernels or containers forbid unprivileged user namespaces).
 */
export const BWRAP_PROBE = "command -v bwrap >/dev/null 2>&1 && bwrap --ro-bind / / --dev-bind /dev /dev --proc /proc --unshare-pid --die-with-parent true >/dev/null 2>&1";

/**
 * The git config of a worker repo on a host, byte for byte: anything else there (a planted
 * fsmonitor, filter, hooksPath, include, alternate refs command) makes the repo untrusted, and it
 * is recreated. No reflogs and no automatic gc, so nothing but a push and a checkout change it.
 */
export const REMOTE_GIT_CONFIG = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n[gc]\n\tauto = 0\n[receive]\n\tautogc = false";

/**
 * Shell functions shared by the prepare command and the wrapper (POSIX sh, run in the worker's repo):
 *  - sgit: git as the tool runs it on a host: no system or global config, no global attributes,
 *    no hooks, no fsmonitor (a run cannot make the tool's next git command run its code);
 *  - canonical: whether .git is exactly what the tool makes (its config byte for byte, HEAD, the
 *    one ref it pushes, objects and packs, the index, nothing else, no links); prints what is off;
 *  - recreate: a fresh .git with that config (the worker's files and the user's data stay).
 */
export function gitSafetyFunctions(): string {
  return `
sgit() { env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_ATTR_NOSYSTEM=1 HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.attributesFile=/dev/null "$@"; }
canonical() {
  [ -d .git ] && [ ! -L .git ] || { echo "no .git"; return 1; }
  [ "$(cat .git/config 2>/dev/null)" = ${shQuote(REMOTE_GIT_CONFIG)} ] || { echo "changed .git/config"; return 1; }
  h=$(cat .git/HEAD 2>/dev/null)
  case $h in "ref: refs/heads/master") ;; ""|*[!0-9a-f]*) echo "changed .git/HEAD"; return 1;; esac
  r=$(cat .git/refs/autoresearch/run 2>/dev/null)
  case $r in *[!0-9a-f]*) echo "changed .git/refs/autoresearch/run"; return 1;; esac
  l=$(find .git -type l -print 2>/dev/null | head -n 1)
  [ -z "$l" ] || { echo "created $l"; return 1; }
  bad=$(find .git -print 2>/dev/null | while IFS= read -r f; do
    case $f in
      .git|.git/HEAD|.git/config|.git/index|.git/objects|.git/objects/info|.git/objects/pack|.git/refs|.git/refs/heads|.git/refs/tags|.git/refs/autoresearch|.git/refs/autoresearch/run) ;;
      .git/objects/pack/pack-*) [ -f "$f" ] || echo "$f";;
      .git/objects/[0-9a-f][0-9a-f]) [ -d "$f" ] || echo "$f";;
      .git/objects/[0-9a-f][0-9a-f]/*) case \${f#.git/objects/??/} in *[!0-9a-f]*) echo "$f";; *) [ -f "$f" ] || echo "$f";; esac;;
      *) echo "$f";;
    esac
  done | head -n 1)
  [ -z "$bad" ] || { echo "created $bad"; return 1; }
}
recreate() { rm -rf .git && sgit init -q --template= && printf '%s\\n' ${shQuote(REMOTE_GIT_CONFIG)} >.git/config; }
`;
}

/** The remote command line: the script passed to \`sh -c\` (the login shell only parses the quoting). */
export function wrapperCommand(options: WrapperOptions): string {
  return `exec sh -c ${shQuote(wrapperScript(options))} autoresearch-wrapper`;
}

/**
 * What the executor writes on the wrapper's standard input before anything else: one line
 * \`<blob id> <path>\` per tracked file of the commit (from the orchestrator's own clone, which the
 * host cannot touch), then the nonce on a line of its own. The list travels on stdin, not in the
 * command line, so a tree of any size fits.
 */
export function treeManifest(files: readonly { blob: string; path: string }[], nonce: string): string {
  return `${files.map((f) => `${f.blob} ${f.path}\n`).join("")}${nonce}\n`;
}

export function wrapperScript(o: WrapperOptions): string {
  const exports = Object.entries(o.env)
    .map(([name, value]) => `export ${name}=${shQuote(value)}`)
    .join("; ");
  const keep = o.keep.map((path) => `-e ${shQuote(`/${path.replace(/^\/+|\/+$/g, "")}`)}`).join(" ");
  const grace = Math.max(1, Math.ceil(o.graceSec));
  const deadline = Math.max(1, Math.ceil(o.deadlineSec));
  const sandbox = o.sandbox ?? "auto";
  return `
nonce=${shQuote(o.nonce)}; pidfile=${shQuote(o.pidFile)}; cmd=${shQuote(o.command)}; dir=${shQuote(o.dir)}
status_line() { printf '\\n%s %s %s %s\\n' ${EXIT_MARKER} "$nonce" "$1" "$2" >&2; }
violation() { printf '\\n%s %s %s\\n' ${VIOLATION_MARKER} "$nonce" "$1" >&2; }
${gitSafetyFunctions()}
# The commit's tracked files and their blob ids, sent by the orchestrator (ends with the nonce).
expect=$(while IFS= read -r l; do printf '%s\\n' "$l"; [ "$l" = "$nonce" ] && break; done)
case $expect in *"$nonce") expect=\${expect%"$nonce"};; *) echo "autoresearch: the file list of the commit did not arrive" >&2; status_line 127 setup; exit 0;; esac
# The tracked files that differ from the commit, hashed as stored (no filters): "modified p" / "deleted p".
tree_check() {
  hashes=$(printf '%s\\n' "$expect" | while IFS= read -r l; do [ -n "$l" ] || continue; p=\${l#* }; if [ -f "$p" ] && [ ! -L "$p" ]; then printf '%s\\n' "$dir/$p"; fi; done | sgit hash-object --no-filters --stdin-paths) || { echo "could not hash the tree"; return 0; }
  printf '%s\\n' "$expect" | { while IFS= read -r l; do
    [ -n "$l" ] || continue; b=\${l%% *}; p=\${l#* }
    if [ -f "$p" ] && [ ! -L "$p" ]; then IFS= read -r h <&4; [ "$h" = "$b" ] || echo "modified $p"; else echo "deleted $p"; fi
  done; } 4<<AUTORESEARCH_HASHES
$hashes
AUTORESEARCH_HASHES
}
exec 3<&0 </dev/null
cd "$dir" || { status_line 127 setup; exit 0; }
# The repo must be as the tool left it before its git runs there (a change since the push is a
# process of an earlier run at work): then it is dropped, and made again on the next try.
if ! why=$(canonical); then
  echo "autoresearch: the repo on the host was changed ($why): it is made again on the next try" >&2; rm -rf .git; status_line 127 setup; exit 0
fi
# No index: flags a run set there (assume-unchanged, skip-worktree) cannot hide a file from the checkout.
rm -f .git/index
if ! { sgit checkout -q --detach --force "${o.sha}" && sgit clean -q -ffdx ${keep}; }; then
  echo "autoresearch: could not check out ${o.sha.slice(0, 12)} in ${o.dir}" >&2; status_line 127 setup; exit 0
fi
bad=$(tree_check)
if [ -n "$bad" ]; then
  echo "autoresearch: the checked-out tree on the host differs from the commit ($(printf '%s' "$bad" | head -n 3 | tr '\\n' ' ')): its repo is made again on the next try" >&2
  rm -rf .git; status_line 127 setup; exit 0
fi
mkdir -p "$(dirname "$pidfile")"
tmpd="$pidfile.tmp"; rm -rf "$tmpd"; mkdir -p "$tmpd"
sandboxed=; ${sandbox === "off" ? ":" : `if ${BWRAP_PROBE}; then sandboxed=1; fi`}
(
  ${exports || ":"}
  # Bytecode into the run's tree, not beside shared modules; not where no bytecode is written at
  # all (a prefix then only hides the environment's own: see bytecodePrefixEnv).
  if [ -z "\${PYTHONDONTWRITEBYTECODE:-}" ]; then export PYTHONPYCACHEPREFIX="$dir/.autoresearch-pycache"; fi
  set -- sh -c "$cmd"
  if [ -n "$sandboxed" ]; then
    # The run sees the system read-only, its tree (and the data kept there) writable, its git dir
    # read-only, a private temp dir; in its own pid namespace, so no daemon outlives it.
    export TMPDIR="$tmpd"
    set -- bwrap --ro-bind / / --dev-bind /dev /dev --proc /proc --bind "$dir" "$dir" --ro-bind "$dir/.git" "$dir/.git" --bind "$tmpd" "$tmpd" --unshare-pid --die-with-parent --chdir "$dir" "$@"
  fi
  if command -v setsid >/dev/null 2>&1; then exec setsid "$@"; fi
  exec perl -e 'setpgrp(0, 0); exec { $ARGV[0] } @ARGV or die "autoresearch: cannot start: $!\\n"' "$@"
) 3<&- &
pg=$!
echo "$pg" >"$pidfile"
killtree() {
  kill -TERM -$pg 2>/dev/null || kill -TERM $pg 2>/dev/null
  i=0
  while [ $i -lt ${grace * 10} ] && kill -0 -$pg 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
  kill -KILL -$pg 2>/dev/null
  if [ -r /proc/self/environ ]; then
    for f in $(grep -alsF ${shQuote(`AUTORESEARCH_RUN_ID=${o.runId}`)} /proc/[0-9]*/environ); do
      p=\${f#/proc/}; kill -KILL "\${p%/environ}" 2>/dev/null
    done
  fi
}
( while IFS= read -r _ <&3; do :; done; killtree ) >/dev/null 2>&1 &
w1=$!
( i=0; while [ $i -lt ${deadline} ]; do sleep 1; i=$((i + 1)); done; echo "autoresearch: the wrapper's own deadline (${deadline}s) passed: killing the run" >&2; killtree ) 3<&- &
w2=$!
exec 3<&-
wait $pg; st=$?
kill $w1 $w2 2>/dev/null
killtree >/dev/null 2>&1
rm -f "$pidfile"; rm -rf "$tmpd"
# What the run did to what it does not own: the commit's files (the read-only ones and the
# training script among them), by content, and the repo's git state (made again when changed).
tree_check | while IFS= read -r v; do violation "$v"; done
if ! why=$(canonical); then violation "changed the git state of the repo on the host ($why); it was made again"; recreate >/dev/null 2>&1; fi
sig=-; [ $st -gt 128 ] && sig=$(kill -l $st 2>/dev/null || echo -)
status_line $st "\${sig:--}"
exit 0
`;
}

/** The kill a second connection sends: TERM to the run's group, KILL after the grace. */
export function killCommand(pidFile: string, graceSec: number): string {
  const script = `p=$(cat ${shQuote(pidFile)} 2>/dev/null) || exit 0; [ -n "$p" ] || exit 0; kill -TERM -$p 2>/dev/null || exit 0; sleep ${Math.max(1, Math.ceil(graceSec))}; kill -KILL -$p 2>/dev/null; exit 0`;
  return `exec sh -c ${shQuote(script)}`;
}

export interface ExitStatus {
  /** The command's exit status as the remote shell saw it (128 + n when killed by signal n). */
  code: number;
  /** "TERM", "KILL" ... when it was killed by a signal; "setup" when the tree could not be prepared. */
  signal: string | null;
  setup: boolean;
}

/** The wrapper's status line, if `line` is it (with this run's nonce). */
export function parseExitLine(line: string, nonce: string): ExitStatus | null {
  const parts = line.trim().split(" ");
  if (parts.length !== 4 || parts[0] !== EXIT_MARKER || parts[1] !== nonce) return null;
  const code = Number(parts[2]);
  if (!Number.isInteger(code)) return null;
  const word = parts[3] as string;
  return { code, signal: word === "-" || word === "setup" ? null : word, setup: word === "setup" };
}

/** The text of a violation line the wrapper printed for this run (with this run's nonce), or null. */
export function parseViolationLine(line: string, nonce: string): string | null {
  const prefix = `${VIOLATION_MARKER} ${nonce} `;
  const trimmed = line.trim();
  return trimmed.startsWith(prefix) ? trimmed.slice(prefix.length) : null;
}
