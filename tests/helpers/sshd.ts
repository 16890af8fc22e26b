/**
 * Real OpenSSH servers on loopback ports for the ssh executor's tests: each "host" is a
 * `/usr/sbin/sshd -D` with its own host key, sshd_config and authorized key, all in a temp dir;
 * one ssh config file names them (h1, h2, ...) so tests point AUTORESEARCH_SSH at it exactly as
 * a user points it at their own config. The remote user is the test's own user, and "the host"
 * is this machine, so tests can look for a run's processes here.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

/**
 * Whether tests that need sshd can run. Outside CI a missing sshd skips them with a visible
 * message; in CI (CI=true) it is a failure, so the suite cannot pass by skipping.
 */
export function sshdAvailable(): boolean {
  const ok = existsSync(SSHD) && hasSsh();
  if (!ok && process.env.CI) throw new Error(`${SSHD} or ssh is missing, and CI is set: install openssh-server and openssh-client (apt-get install -y openssh-server)`);
  if (!ok) console.warn(`[skipped] ssh executor tests: ${SSHD} or ssh not found (apt-get install -y openssh-server to run them)`);
  return ok;
}

function hasSsh(): boolean {
  try {
    execFileSync("ssh", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface SshHost {
  alias: string;
  port: number;
  /** The listening sshd (its children are the per-connection sessions); a new one after start(). */
  pid: number;
  /** Stops the listener: new connections are refused (sessions already open go on). */
  stop(): void;
  /** Starts the listener again on the same port (a host that comes back); resolves once it accepts connections. */
  start(): Promise<void>;
}

export interface SshdFixture {
  dir: string;
  /** The ssh config file that names every host. */
  config: string;
  /** AUTORESEARCH_SSH for these hosts: `ssh -F <config>`. */
  sshCommand: string;
  hosts: SshHost[];
  /** A config alias that points at a port nothing listens on. */
  refusedAlias: string;
  /** sshd's own log, for failing tests. */
  log(): string;
  stop(): void;
}

/** Starts `count` real sshd's (aliases h1..hN) and writes an ssh config for them. */
export async function startSshd(count = 1): Promise<SshdFixture> {
  const dir = mkdtempSync(join(tmpdir(), "ar-sshd-"));
  const config = join(dir, "ssh_config");
  // sshd refuses to start without its privilege-separation directory.
  // (Only root can make it; sshd started by an ordinary user does without it.)
  try {
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  } catch {}
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "client_key")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")), { mode: 0o600 });
  const user = userInfo().username;
  const hosts: SshHost[] = [];
  const entries: string[] = [];
  for (let i = 1; i <= count; i++) {
    const port = await freePort();
    const conf = join(dir, `sshd_config_${i}`);
    writeFileSync(
      conf,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${join(dir, "host_key")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "StrictModes no",
        "UsePAM no",
        `PidFile ${join(dir, `sshd_${i}.pid`)}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        `AllowUsers ${user}`,
        "MaxStartups 100",
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    const listen = () => spawn(SSHD, ["-D", "-f", conf, "-E", join(dir, `sshd_${i}.log`)], { stdio: "ignore" });
    let child = listen();
    const alias = `h${i}`;
    entries.push(hostEntry(alias, port, dir));
    const host: SshHost = {
      alias,
      port,
      pid: child.pid as number,
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      },
      start: async () => {
        host.stop();
        if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once("exit", r));
        child = listen();
        host.pid = child.pid as number;
        await waitUntilAccepting(config, alias, fixture);
      },
    };
    hosts.push(host);
  }
  const refusedAlias = "refused";
  entries.push(hostEntry(refusedAlias, await freePort(), dir));
  writeFileSync(config, entries.join("\n"), { mode: 0o600 });
  const fixture: SshdFixture = {
    dir,
    config,
    sshCommand: `ssh -F ${config}`,
    hosts,
    refusedAlias,
    log: () =>
      hosts
        .map((_, i) => {
          try {
            return readFileSync(join(dir, `sshd_${i + 1}.log`), "utf8");
          } catch {
            return "";
          }
        })
        .join("\n"),
    stop: () => {
      for (const host of hosts) host.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const host of hosts) await waitUntilAccepting(config, host.alias, fixture);
  return fixture;
}

function hostEntry(alias: string, port: number, dir: string): string {
  return [
    `Host ${alias}`,
    "  HostName 127.0.0.1",
    `  Port ${port}`,
    `  IdentityFile ${join(dir, "client_key")}`,
    "  IdentitiesOnly yes",
    "  StrictHostKeyChecking no",
    `  UserKnownHostsFile ${join(dir, "known_hosts")}`,
    "  LogLevel ERROR",
    "",
  ].join("\n");
}

async function waitUntilAccepting(config: string, alias: string, fixture: SshdFixture): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      execFileSync("ssh", ["-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", alias, "true"], { stdio: "ignore", timeout: 5000 });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`sshd for ${alias} did not accept connections:\n${fixture.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Live pids whose environment holds `NAME=value` (Linux /proc): a run's marker, on "the host". */
export function pidsWithEnv(name: string, value: string): number[] {
  const needle = `${name}=${value}`;
  const out: number[] = [];
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, "latin1").split("\0");
      if (!env.includes(needle)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") out.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return out;
}

/** The sshd processes below the listener `sshdPid`: the per-connection sessions. */
export function sessionPids(sshdPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSafe("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm !== "sshd") continue;
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(sshdPid);
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function waitFor<T>(probe: () => T | null | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
