/**
 * What `autoresearch doctor` checks on each ssh host, in one connection: that ssh reaches it
 * without a prompt (BatchMode: a run at 3 a.m. cannot type a password), that git and python3
 * are there, that the remote dir can be written, how the wrapper will make a process group, and
 * whether runs there are sandboxed (bubblewrap installed and able to run).
 */
import type { Exec } from "../../platform/exec.js";
import { parseRemoteProbe, platformFromRemoteProbe, remoteProbeCommand } from "../../platform/remote.js";
import { shQuote, SSH_CONNECTION_FAILED, sshArgv } from "./ssh-command.js";
import { BWRAP_PROBE } from "./wrapper.js";

export interface HostCheck {
  name: string;
  status: "ok" | "missing" | "warn";
  required: boolean;
  detail: string;
  fix?: string;
}

function probeCommand(remoteDir: string): string {
  const script = [
    `d=${shQuote(remoteDir)}`,
    `case $d in "~") d=$HOME;; "~/"*) d=$HOME/\${d#"~/"};; esac`,
    'echo "git=$(git --version 2>/dev/null)"',
    'echo "python3=$(python3 --version 2>&1 | grep -i "^python")"',
    'if mkdir -p "$d" 2>/dev/null && t="$d/.autoresearch-doctor-$$" && : >"$t" 2>/dev/null && rm -f "$t"; then echo "dir=$(cd "$d" && pwd -P)"; else echo "dir="; fi',
    'if command -v setsid >/dev/null 2>&1; then echo group=setsid; elif command -v perl >/dev/null 2>&1; then echo group=perl; else echo group=; fi',
    `if ${BWRAP_PROBE}; then echo sandbox=bwrap; elif command -v bwrap >/dev/null 2>&1; then echo sandbox=broken; else echo sandbox=; fi`,
  ].join("\n");
  return `exec sh -c ${shQuote(script)}`;
}

export async function checkSshHost(host: string, options: { remoteDir: string; env: NodeJS.ProcessEnv; exec: Exec; cwd: string; timeoutMs: number; command?: string }): Promise<HostCheck[]> {
  const result = await options.exec(sshArgv(host, probeCommand(options.remoteDir), options.env), { cwd: options.cwd, timeoutMs: options.timeoutMs, env: options.env });
  const values = new Map(
    result.stdout
      .split("\n")
      .map((line) => line.split("=", 2) as [string, string?])
      .filter(([k, v]) => v !== undefined && /^(git|python3|dir|group|sandbox)$/.test(k))
      .map(([k, v]) => [k, (v as string).trim()]),
  );
  if (result.error || result.timedOut || result.code === SSH_CONNECTION_FAILED || !values.has("git")) {
    const why = result.error ? `ssh could not be started (${result.error})` : result.timedOut ? "timed out" : (result.stderr.trim().split("\n").pop() ?? `exit ${result.code}`);
    return [
      {
        name: `ssh ${host}`,
        status: "missing",
        required: true,
        detail: `not reachable without a prompt (ssh -o BatchMode=yes ${host} true): ${why}`,
        fix: `Make \`ssh -o BatchMode=yes ${host} true\` work: a key in your agent or ~/.ssh/config (ssh-copy-id ${host}); for a SkyPilot cluster, \`sky status\` and use its name. AUTORESEARCH_SSH overrides the ssh command.`,
      },
    ];
  }
  const checks: HostCheck[] = [{ name: `ssh ${host}`, status: "ok", required: true, detail: "reachable with BatchMode" }];
  const git = values.get("git") ?? "";
  checks.push(git ? { name: `${host} git`, status: "ok", required: true, detail: git } : { name: `${host} git`, status: "missing", required: true, detail: "git is not on the remote PATH", fix: `Install git on ${host} (e.g. sudo apt-get install -y git).` });
  const python = values.get("python3") ?? "";
  checks.push(
    python
      ? { name: `${host} python3`, status: "ok", required: true, detail: python }
      : { name: `${host} python3`, status: "missing", required: true, detail: "python3 is not on the remote PATH", fix: `Install Python 3 on ${host}, or make the experiment command name the interpreter it uses.` },
  );
  const dir = values.get("dir") ?? "";
  checks.push(
    dir
      ? { name: `${host} remote dir`, status: "ok", required: true, detail: `${dir} is writable` }
      : { name: `${host} remote dir`, status: "missing", required: true, detail: `cannot write in ${options.remoteDir}`, fix: `Fix its permissions on ${host}, or pass --remote-dir with a folder you own there.` },
  );
  const group = values.get("group") ?? "";
  checks.push(
    group
      ? { name: `${host} process groups`, status: "ok", required: true, detail: `runs get their own process group with ${group}` }
      : { name: `${host} process groups`, status: "missing", required: true, detail: "neither setsid nor perl is on the remote PATH", fix: `Install util-linux (setsid) or perl on ${host}.` },
  );
  checks.push(sandboxCheck(host, values.get("sandbox") ?? ""));
  if (options.command !== undefined) checks.push(await checkSshPlatform(host, options.command, options));
  return checks;
}

/**
 * The host's platform line (its Python, torch, device) from the same probe a session runs there
 * at setup, over a second connection so a slow interpreter (a first `uv run`) cannot make the
 * host look unreachable. It runs in the remote home: a relative interpreter (.venv/bin/python)
 * lives in the worker's tree, which only a session makes, so it is only a warning here.
 */
export async function checkSshPlatform(host: string, command: string, options: { env: NodeJS.ProcessEnv; exec: Exec; cwd: string; timeoutMs: number }): Promise<HostCheck> {
  const name = `${host} platform`;
  const result = await options.exec(sshArgv(host, `exec sh -c ${shQuote(remoteProbeCommand(command))}`, options.env), { cwd: options.cwd, timeoutMs: options.timeoutMs, env: options.env });
  const probe = parseRemoteProbe(result.stdout);
  if (!probe) {
    const why = result.timedOut ? "timed out" : (result.stderr.trim().split("\n").pop() ?? `exit ${result.code}`);
    return { name, status: "warn", required: false, detail: `the platform probe did not finish: ${why}`, fix: `Run \`ssh ${host} ${command.split(" ")[0] ?? "python3"} --version\` to see what the host says.` };
  }
  const platform = await platformFromRemoteProbe(command, probe, options.cwd);
  const device = `${platform.label}: ${platform.detail}`;
  if (platform.python === null) return { name, status: "ok", required: false, detail: `${device}; \`${command}\` runs no Python` };
  if (platform.pythonVersion === null) {
    const why = platform.notes.find((n) => n.includes(platform.python as string)) ?? "the Python probe failed";
    return { name, status: "warn", required: false, detail: `${device}; ${why}`, fix: `Install the interpreter the command uses on ${host} (\`${platform.python}\`; a relative one is looked up in the session's tree there).` };
  }
  const torch = platform.torch ? `torch ${platform.torch}` : "torch not installed";
  return { name, status: "ok", required: false, detail: `${device}; ${platform.python} -> Python ${platform.pythonVersion}, ${torch}` };
}

/** Whether runs on the host are sandboxed: not required (a host without it still runs, with fewer guarantees). */
function sandboxCheck(host: string, sandbox: string): HostCheck {
  const name = `${host} sandbox`;
  if (sandbox === "bwrap") return { name, status: "ok", required: false, detail: "runs are sandboxed with bubblewrap: the system and the repo's git dir read-only, a daemon dies with its run" };
  const why = sandbox === "broken" ? "bubblewrap is installed but cannot make its namespaces there" : "bubblewrap is not installed";
  return {
    name,
    status: "warn",
    required: false,
    detail: `${why}: runs there can write wherever the remote user can (changes to the commit's files and to the repo's git state are still found after each run), and a daemon that drops the run's marker outlives it`,
    fix: sandbox === "broken" ? `Allow unprivileged user namespaces on ${host} (sysctl kernel.unprivileged_userns_clone=1).` : `Install bubblewrap on ${host} (sudo apt-get install -y bubblewrap).`,
  };
}
