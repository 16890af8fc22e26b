/**
 * The remote wrapper: a POSIX sh script sent inline over ssh that runs one experiment on the
 * host. Killing sshd's session does not kill a command that has no terminal, so the wrapper owns
 * the run's lifetime there:
 *  - it checks the pushed commit out (detached) and cleans the tree, keeping the paths the user
 *    prepared on the host (data/, .venv ...);
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
}

export const EXIT_MARKER = "autoresearch-exit";

/** The remote command line: the script passed to `sh -c` (the login shell only parses the quoting). */
export function wrapperCommand(options: WrapperOptions): string {
  return `exec sh -c ${shQuote(wrapperScript(options))} autoresearch-wrapper`;
}

export function wrapperScript(o: WrapperOptions): string {
  const exports = Object.entries(o.env)
    .map(([name, value]) => `export ${name}=${shQuote(value)}`)
    .join("; ");
  const keep = o.keep.map((path) => `-e ${shQuote(`/${path.replace(/^\/+|\/+$/g, "")}`)}`).join(" ");
  const grace = Math.max(1, Math.ceil(o.graceSec));
  const deadline = Math.max(1, Math.ceil(o.deadlineSec));
  return `
nonce=${shQuote(o.nonce)}; pidfile=${shQuote(o.pidFile)}; cmd=${shQuote(o.command)}
status_line() { printf '\\n%s %s %s %s\\n' ${EXIT_MARKER} "$nonce" "$1" "$2" >&2; }
exec 3<&0 </dev/null
cd ${shQuote(o.dir)} || { status_line 127 setup; exit 0; }
if ! { git -c core.hooksPath=/dev/null checkout -q --detach --force ${shQuote(o.sha)} && git clean -q -ffdx ${keep}; }; then
  echo "autoresearch: could not check out ${o.sha.slice(0, 12)} in ${o.dir}" >&2; status_line 127 setup; exit 0
fi
mkdir -p "$(dirname "$pidfile")"
(
  ${exports || ":"}
  if command -v setsid >/dev/null 2>&1; then exec setsid sh -c "$cmd"; fi
  exec perl -e 'setpgrp(0, 0); exec { $ARGV[0] } @ARGV or die "autoresearch: cannot start: $!\\n"' sh -c "$cmd"
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
rm -f "$pidfile"
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
