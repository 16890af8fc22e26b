import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants as os, tmpdir } from "node:os";
import { join } from "node:path";
import { shellQuote } from "../text.js";

/**
 * Git processes started by a small shell rather than by this process. Forking this Node process
 * (a hundred megabytes mapped, pipes and streams set up per child) costs its one thread 2-3 ms
 * a spawn; a session spawns git a few hundred times, four times between one run's end and the
 * next one's start, and the thread does nothing else meanwhile. A `/bin/sh -s` forks in a
 * fraction of that, off this thread. It is sent one command per request: the directory, the
 * exact environment (`env -i`, nothing inherited from the shell), the arguments, all quoted,
 * stdin, stdout and stderr redirected to files of its own; it answers with the exit status.
 *
 * What the caller gets is what a direct spawn gives: the same environment and directory, the
 * output bytes, the exit status, the signal that killed git. The shell runs in a process group of
 * its own, so its children are out of the terminal's Ctrl-C like a detached spawn's, and it ends
 * when its stdin closes: with this process, even a killed one (its files are removed by the next
 * process that starts a shell). Linux only; `AUTORESEARCH_GIT_SHELL=off` turns it off. A request
 * the shells cannot take (both busy, one gone, a directory or a git that cannot be started) is
 * left to the caller, which spawns git itself, so every failure reads as it always has.
 */

export interface ShellResult {
  stdout: Buffer;
  stderr: Buffer;
  /** Git's exit code; 1 when a signal ended it. */
  code: number;
  signal: NodeJS.Signals | null;
}

const ENV_BIN = "/usr/bin/env";
/** Git calls made together beyond this many shells are spawned directly. */
const SHELLS = 2;
/** What `cd` or `env` answer when the directory or the program cannot be found: git never started. */
const NOT_STARTED = 127;
const FOLDER_PREFIX = "autoresearch-git-";

interface Files {
  input: string;
  stdout: string;
  stderr: string;
}

/** The signal an exit status above 128 stands for; 129 stays an exit code (git's usage error). */
export function signalOf(status: number): NodeJS.Signals | null {
  if (status <= 129) return null;
  const found = Object.entries(os.signals).find(([, n]) => n === status - 128);
  return found ? (found[0] as NodeJS.Signals) : null;
}

/** The command that runs `argv` in `cwd` with exactly `env` and the given files as its stdio, then prints its exit status. */
export function commandLine(cwd: string, env: Readonly<Record<string, string>>, argv: readonly string[], files: Files): string {
  const vars = Object.entries(env)
    .filter(([name]) => name !== "" && !name.includes("="))
    .map(([name, value]) => shellQuote(`${name}=${value}`));
  const run = `cd -- ${shellQuote(cwd)} || exit ${NOT_STARTED}; exec ${ENV_BIN} -i ${vars.join(" ")} ${argv.map(shellQuote).join(" ")}`;
  return `(${run}) <${shellQuote(files.input)} >${shellQuote(files.stdout)} 2>${shellQuote(files.stderr)}; echo "$?"\n`;
}

class CommandShell {
  private answer: ((status: number | null) => void) | null = null;
  private buffered = "";
  gone = false;
  readonly child: ChildProcess;

  constructor(private readonly files: Files & { inputFile: string }) {
    // `-s`: the commands are a script read from stdin, parsed as it comes (a quoted value may span lines).
    this.child = spawn("/bin/sh", ["-s"], { cwd: "/", detached: true, stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
    this.child.on("error", () => this.end());
    this.child.on("exit", () => this.end());
    this.child.stdin?.on("error", () => this.end());
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      this.buffered += chunk;
      const newline = this.buffered.indexOf("\n");
      if (newline < 0) return;
      const status = Number(this.buffered.slice(0, newline));
      this.buffered = this.buffered.slice(newline + 1);
      this.settle(Number.isInteger(status) ? status : null);
    });
    this.idle();
  }

  get free(): boolean {
    return !this.gone && this.answer === null;
  }

  /** The command's result; null when git did not start (or the shell ended meanwhile): the caller spawns it itself. */
  run(cwd: string, env: Readonly<Record<string, string>>, argv: readonly string[], input: string | undefined): Promise<ShellResult | null> {
    const files = { ...this.files, input: input === undefined ? "/dev/null" : this.files.inputFile };
    try {
      if (input !== undefined) writeFileSync(files.input, input);
    } catch {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.answer = (status) => {
        if (status === null || status === NOT_STARTED) {
          resolve(null);
          return;
        }
        const signal = signalOf(status);
        resolve({ stdout: readOrEmpty(files.stdout), stderr: readOrEmpty(files.stderr), code: signal ? 1 : status, signal });
      };
      this.busy();
      this.child.stdin?.write(commandLine(cwd, env, argv, files));
    });
  }

  /** Its stdin closed: it exits once the command it runs, if any, is done. */
  close(): void {
    this.child.stdin?.end();
  }

  private settle(status: number | null): void {
    const answer = this.answer;
    this.answer = null;
    this.idle();
    answer?.(status);
  }

  private end(): void {
    if (this.gone) return;
    this.gone = true;
    this.settle(null);
  }

  // An idle shell must not keep this process alive; one with a command in flight must, until it answers.
  private busy(): void {
    this.child.ref();
    refOf(this.child.stdout)?.ref();
  }

  private idle(): void {
    this.child.unref();
    refOf(this.child.stdout)?.unref();
    refOf(this.child.stdin)?.unref();
  }
}

function refOf(stream: unknown): { ref(): void; unref(): void } | null {
  const s = stream as { ref?: () => void; unref?: () => void } | null;
  return s?.ref && s.unref ? (s as { ref(): void; unref(): void }) : null;
}

function readOrEmpty(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Linux's shared-memory folder when it is there and writable: the files never touch a disk. */
function memoryFolder(): string | null {
  try {
    accessSync("/dev/shm", constants.W_OK | constants.X_OK);
    return lstatSync("/dev/shm").isDirectory() ? "/dev/shm" : null;
  } catch {
    return null;
  }
}

/**
 * This user's folder for the shells' files, `autoresearch-git-<uid>` in /dev/shm (memory) or the
 * system temp folder (its own, 0700; not
 * the system temp folder itself, whose listing can be long), with one folder per process in it.
 * Null when it is not a folder of this user's: no shells then.
 */
export function userFolder(): string | null {
  const uid = process.getuid?.() ?? 0;
  const dir = join(memoryFolder() ?? tmpdir(), `${FOLDER_PREFIX}${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && st.uid === uid ? dir : null;
  } catch {
    return null;
  }
}

/** Folders of processes that were killed (their exit handler never ran): removed by the next process. */
function removeStaleFolders(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

let folder: string | null | undefined;
let shells: CommandShell[] = [];
let made = 0;
/** Whether shells can start git here at all, asked once: a POSIX shell and `env` are there, and not turned off. */
let possible: boolean | undefined;

function usable(cwd: string): boolean {
  // Linux only, where it was measured: macOS's /bin/sh (bash) reads a script from a pipe a byte at a time.
  possible ??= process.platform === "linux" && process.env.AUTORESEARCH_GIT_SHELL !== "off" && existsSync("/bin/sh") && existsSync(ENV_BIN);
  return possible && existsSync(cwd);
}

/** A new shell; null when its files have nowhere to go. */
function newShell(): CommandShell | null {
  if (folder === undefined) {
    const parent = userFolder();
    folder = null;
    if (parent !== null) {
      removeStaleFolders(parent);
      const own = mkdtempSync(join(parent, `${process.pid}-`));
      folder = own;
      process.once("exit", () => {
        for (const shell of shells) shell.close();
        rmSync(own, { recursive: true, force: true });
      });
    }
  }
  if (folder === null) return null;
  const base = join(folder, String(made++));
  const files = { input: "/dev/null", inputFile: `${base}.in`, stdout: `${base}.out`, stderr: `${base}.err` };
  // Made here, so the shell's redirections only ever truncate them: one it could not create would
  // read as git's own failure (the shell's status 2), with another command's output left in it.
  try {
    writeFileSync(files.stdout, "");
    writeFileSync(files.stderr, "");
  } catch {
    return null;
  }
  const shell = new CommandShell(files);
  shells.push(shell);
  return shell;
}

/**
 * Runs `argv` (the program first) in `cwd` with exactly `env` through a free shell. Null when no
 * shell can take it or git did not start there: the caller spawns it itself.
 */
export async function runInShell(cwd: string, env: Readonly<Record<string, string>>, argv: readonly string[], input?: string): Promise<ShellResult | null> {
  if (!usable(cwd)) return null;
  shells = shells.filter((s) => !s.gone);
  const shell = shells.find((s) => s.free) ?? (shells.length < SHELLS ? newShell() : null);
  return shell ? shell.run(cwd, env, argv, input) : null;
}

/** The pids of this process's shells (for tests). */
export function shellPids(): number[] {
  return shells.filter((s) => !s.gone && s.child.pid !== undefined).map((s) => s.child.pid as number);
}
