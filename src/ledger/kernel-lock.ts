import { createHash } from "node:crypto";
import { mkdirSync, realpathSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

/**
 * The repo's loop lock as the kernel holds it for the life of the process, so that no file a run
 * can delete decides whether a second loop may start:
 *
 * - Linux: a listening socket in the abstract namespace (`\0autoresearch-<hash of the git dir>`).
 *   It has no file; the kernel frees the name when the process ends, however it ends.
 * - Windows: a named pipe (`\\?\pipe\autoresearch-<hash>`), likewise freed with the process.
 * - Elsewhere (macOS, BSD): a socket file in the user's temp dir; a live listener answers a
 *   connection, a dead one's file is replaced. It is outside the repository (a run looking for the
 *   tool's files under `.git/` does not find it) but a file all the same: docs/guarantees.md says so.
 *
 * The lock file (lock.ts) stays for what people and `status` read: which pid, since when.
 */
export interface KernelLock {
  /** Where the lock lives, for messages. */
  name: string;
  release(): void;
}

export function kernelLockName(home: string, platform: NodeJS.Platform = process.platform): string {
  let real = home;
  try {
    real = realpathSync(home);
  } catch {}
  const hash = createHash("sha256").update(real).digest("hex").slice(0, 32);
  if (platform === "linux") return `\0autoresearch-${hash}`;
  if (platform === "win32") return `\\\\?\\pipe\\autoresearch-${hash}`;
  return join(socketDir(), `${hash}.sock`);
}

function socketDir(): string {
  let user = "user";
  try {
    user = String(userInfo().uid >= 0 ? userInfo().uid : userInfo().username);
  } catch {}
  const dir = join(tmpdir(), `autoresearch-${user}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Takes the lock of the repository whose sessions live in `home`; null when a live process holds it. */
export async function takeKernelLock(home: string): Promise<KernelLock | null> {
  const name = kernelLockName(home);
  const usesFile = process.platform !== "linux" && process.platform !== "win32";
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = createServer((socket) => socket.destroy());
    const outcome = await listen(server, name);
    if (outcome === "ok") {
      // It must not keep the process alive on its own: the command's own work does.
      server.unref();
      return {
        name,
        release() {
          server.close();
          if (usesFile) unlinkQuiet(name);
        },
      };
    }
    if (!usesFile) return null;
    // A socket file: held when someone answers; left by a dead process otherwise (replace it).
    if (await answers(name)) return null;
    unlinkQuiet(name);
  }
  return null;
}

function listen(server: Server, name: string): Promise<"ok" | "in-use"> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve("in-use");
      else reject(error);
    });
    server.listen(name, () => resolve("ok"));
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (alive: boolean) => {
      socket.destroy();
      resolve(alive);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
