import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sessionProtection } from "../../src/executors/registry.js";
import { UsageError } from "../../src/errors.js";
import { bwrapArgs, bwrapCommand } from "../../src/sandbox/bwrap.js";
import { readOnlyFailure, readOnlyPath } from "../../src/sandbox/failure.js";
import { confine } from "../../src/sandbox/run.js";
import { protectionFor, resolveProtection } from "../../src/sandbox/mode.js";
import { sandboxProfile } from "../../src/sandbox/sandbox-exec.js";

const home = "/repo/.git/autoresearch";
const sandbox = { writable: [`${home}/night/w1`], hidden: [home], scratch: `${home}/night/w1.scratch` };

describe("the bwrap command line", () => {
  it("binds / read-only, /dev as it is, a fresh /proc; hides the sessions' folder, then binds the run's clone and scratch writable on top", () => {
    expect(bwrapArgs(sandbox, `${home}/night/w1`)).toEqual([
      "--ro-bind", "/", "/",
      "--dev-bind", "/dev", "/dev",
      "--proc", "/proc",
      "--tmpfs", home,
      "--bind", `${home}/night/w1`, `${home}/night/w1`,
      "--bind", `${home}/night/w1.scratch`, `${home}/night/w1.scratch`,
      "--die-with-parent",
      "--chdir", `${home}/night/w1`,
    ]);
  });

  it("mounts shallow paths before deep ones whatever the order given, and keeps the network and the pid namespace", () => {
    const args = bwrapArgs({ writable: ["/a/b/c/d", "/a/b"], hidden: ["/x/y/z", "/x"], scratch: "/a/b/c/s" }, "/a/b");
    const mounts = args.flatMap((a, i) => (a === "--tmpfs" || a === "--bind" ? [args[i + 1]] : []));
    expect(mounts).toEqual(["/x", "/x/y/z", "/a/b", "/a/b/c/d", "/a/b/c/s"]);
    expect(args.join(" ")).not.toMatch(/--unshare-(net|pid|all)|--new-session/);
  });

  it("is one shell line that becomes bwrap (exec) and runs the command through /bin/sh -c, quoted", () => {
    const line = bwrapCommand("bwrap", { writable: ["/w 1"], hidden: [], scratch: "/s" }, "/w 1", "python train.py > 'out.log'");
    expect(line).toBe("exec bwrap --ro-bind / / --dev-bind /dev /dev --proc /proc --bind /s /s --bind '/w 1' '/w 1' --die-with-parent --chdir '/w 1' -- /bin/sh -c 'python train.py > '\\''out.log'\\'''");
  });
});

describe("the macOS sandbox-exec profile", () => {
  it("denies every write, allows /dev, hides the sessions' folder, and gives back the run's clone and scratch, in that order", () => {
    expect(sandboxProfile(sandbox)).toBe(
      [
        "(version 1)",
        "(allow default)",
        ";; nothing outside the run's own folders can be changed",
        '(deny file-write* (subpath "/"))',
        ";; the terminal, /dev/null and GPU devices stay usable",
        '(allow file-write* (subpath "/dev"))',
        ";; the session's records, the lock and other workers' clones are out of sight",
        `(deny file-read* file-write* (subpath "${home}"))`,
        ";; the run's clone and scratch folder: its own",
        `(allow file-read* file-write* (subpath "${home}/night/w1") (subpath "${home}/night/w1.scratch"))`,
        "",
      ].join("\n"),
    );
  });

  it("escapes quotes and backslashes in paths", () => {
    expect(sandboxProfile({ writable: ['/u/a"b\\c'], hidden: [], scratch: "/s" })).toContain('(subpath "/u/a\\"b\\\\c")');
  });
});

describe("a write the sandbox refused", () => {
  it("is found in Python's, Node's and coreutils' messages, the last one winning", () => {
    expect(readOnlyPath(["Traceback (most recent call last):", "OSError: [Errno 30] Read-only file system: '/repo/data/shard3.bin'"])).toBe("/repo/data/shard3.bin");
    expect(readOnlyPath(["Error: EROFS: read-only file system, unlink 'data/shard3.bin'"])).toBe("data/shard3.bin");
    expect(readOnlyPath(["rm: cannot remove 'data/a.bin': Read-only file system", "rm: cannot remove 'data/b.bin': Read-only file system"])).toBe("data/b.bin");
    expect(readOnlyPath(["Killed", "exit 1"])).toBeNull();
  });

  it("becomes a crash reason naming the path and the fix", () => {
    expect(readOnlyFailure(["OSError: [Errno 30] Read-only file system: '.venv/lib/x.py'"])).toEqual({
      reason: "read-only",
      detail: "wrote to .venv/lib/x.py, which the sandbox keeps read-only (shared data, the environment and everything outside the working tree): write outputs inside the working tree",
    });
  });
});

describe("which protection a session gets", () => {
  const linux = (ok: boolean) => ({ platform: "linux" as const, bwrap: { ok, why: ok ? "" : "bwrap is not installed" }, sandboxExec: false });
  it("auto: bubblewrap where it runs, sandbox-exec on macOS, else the manifest", () => {
    expect(resolveProtection("auto", linux(true))).toBe("bwrap");
    expect(resolveProtection("auto", linux(false))).toBe("manifest");
    expect(resolveProtection("auto", { platform: "darwin", bwrap: null, sandboxExec: true })).toBe("sandbox-exec");
    expect(resolveProtection("auto", { platform: "win32", bwrap: null, sandboxExec: false })).toBe("manifest");
    expect(resolveProtection("off", linux(true))).toBe("manifest");
  });

  it("bwrap where it cannot run is a usage error naming the cause and the fix", () => {
    expect(() => resolveProtection("bwrap", linux(false))).toThrow(UsageError);
    expect(() => resolveProtection("bwrap", linux(false))).toThrow(/--sandbox bwrap: bwrap does not run here: bwrap is not installed/);
    expect(() => resolveProtection("bwrap", { platform: "darwin", bwrap: null, sandboxExec: true })).toThrow(/Linux only/);
  });

  it("runs on another machine (ssh, SLURM) are not confined here, and nothing is probed for them", () => {
    const never = () => {
      throw new Error("probed");
    };
    expect(sessionProtection({ executor: "ssh", sandbox: "auto" }, never)).toBe("manifest");
    expect(sessionProtection({ executor: "slurm" }, never)).toBe("manifest");
    expect(sessionProtection({ sandbox: "off" }, never)).toBe("manifest");
    expect(sessionProtection({}, () => linux(true))).toBe("bwrap");
    expect(protectionFor({ sandbox: "auto" }, false, never)).toBe("manifest");
    expect(protectionFor({}, true, () => linux(true))).toBe("bwrap");
  });
});

describe.skipIf(process.platform === "win32")("the run's scratch folder (confine)", () => {
  it("gives each run an empty tmp/ (emptied when a run left files, kept when it was left empty), keeps cache/, replaces a link", () => {
    const scratch = join(mkdtempSync(join(tmpdir(), "ar-scratch-")), "w0.scratch");
    const box = { kind: "bwrap" as const, writable: [], hidden: [], scratch };
    const first = confine(box, "/", "true", {});
    const tmp = join(scratch, "tmp");
    expect(first.env.TMPDIR).toBe(tmp);
    expect(readdirSync(tmp)).toEqual([]);
    writeFileSync(join(tmp, "left.txt"), "x");
    mkdirSync(join(scratch, "cache", "triton"), { recursive: true });
    confine(box, "/", "true", {});
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(scratch, "cache", "triton"))).toBe(true);
    // Left empty: the same folder stays (nothing removed and made again).
    const inode = statSync(tmp).ino;
    confine(box, "/", "true", {});
    expect(statSync(tmp).ino).toBe(inode);
    // A link where tmp/ was (the run could make one) is removed, never followed: a real empty folder again.
    const elsewhere = mkdtempSync(join(tmpdir(), "ar-elsewhere-"));
    writeFileSync(join(elsewhere, "keep.txt"), "mine");
    rmSync(tmp, { recursive: true });
    symlinkSync(elsewhere, tmp);
    confine(box, "/", "true", {});
    expect(lstatSync(tmp).isDirectory()).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readFileSync(join(elsewhere, "keep.txt"), "utf8")).toBe("mine");
  });
});
