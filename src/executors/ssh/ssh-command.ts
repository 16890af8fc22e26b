/**
 * The system `ssh` client, as every ssh call of the tool runs it: the user's own ssh config
 * applies (so SkyPilot clusters, cloud aliases, jump hosts and keys in an agent work by name),
 * never a password prompt (BatchMode), a bounded connect, and keep-alives so a dead connection
 * ends within about a minute instead of hanging a run forever.
 */
import { UsageError } from "../../errors.js";
import { splitCommand } from "../../platform/command.js";

/** Overrides the ssh command, e.g. `ssh -F /path/to/config`; also used as git's GIT_SSH_COMMAND. */
export const SSH_COMMAND_ENV = "AUTORESEARCH_SSH";

export const DEFAULT_CONNECT_TIMEOUT_SEC = 10;

/** Options every connection gets, after the user's command (so the user's own -o's come first and win). */
export function sshOptions(connectTimeoutSec = DEFAULT_CONNECT_TIMEOUT_SEC): string[] {
  return ["-o", "BatchMode=yes", "-o", `ConnectTimeout=${connectTimeoutSec}`, "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"];
}

/** The ssh command line the user chose (AUTORESEARCH_SSH), or plain `ssh`. */
export function sshCommandLine(env: NodeJS.ProcessEnv): string {
  const custom = env[SSH_COMMAND_ENV]?.trim();
  return custom ? custom : "ssh";
}

/** argv that runs `remoteCommand` (a line for the remote login shell) on `host`, without a terminal. */
export function sshArgv(host: string, remoteCommand: string, env: NodeJS.ProcessEnv, connectTimeoutSec?: number): string[] {
  // Config validation refuses these already; a library caller must not turn a host into an option either.
  if (host.startsWith("-") || /\s/.test(host)) throw new UsageError(`ssh host ${JSON.stringify(host)} is not a host name`, "Give host names or aliases from your ssh config, e.g. --hosts gpu1,gpu2.");
  return [...splitCommand(sshCommandLine(env)), ...sshOptions(connectTimeoutSec), "-T", host, remoteCommand];
}

/** GIT_SSH_COMMAND for pushes: the same ssh and options (git appends the host and its command). */
export function gitSshCommand(env: NodeJS.ProcessEnv, connectTimeoutSec?: number): string {
  return [sshCommandLine(env), ...sshOptions(connectTimeoutSec)].join(" ");
}

/** ssh's own exit status when the connection failed (refused, unreachable, dropped, auth). */
export const SSH_CONNECTION_FAILED = 255;

/** One argument for a POSIX shell, quoted so it stays one word with no expansion. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
