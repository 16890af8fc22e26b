import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandLine, runInShell, signalOf, userFolder } from "../../src/workspace/git-shell.js";
import { Git } from "../../src/workspace/git.js";
import { createRepo } from "../helpers/repo.js";

const linux = process.platform === "linux";

/** Waits (up to 5 s) for `pid` to be gone; fails the test if it is not. */
async function gone(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(alive()).toBe(false);
}

describe("the command line a git shell is sent", () => {
  it("quotes the directory, every variable and every argument, and redirects the three streams", () => {
    const line = commandLine("/tmp/a b/it's", { A: "x y", B: "it's\nnext" }, ["git", "log", "--format=%s $HOME"], { input: "/dev/null", stdout: "/t/o", stderr: "/t/e" });
    expect(line).toBe(`(cd -- '/tmp/a b/it'\\''s' || exit 127; exec /usr/bin/env -i 'A=x y' 'B=it'\\''s\nnext' git log '--format=%s $HOME') </dev/null >/t/o 2>/t/e; echo "$?"\n`);
  });

  it("reads an exit status above 128 as the signal that ended git, except git's own 129", () => {
    expect(signalOf(130)).toBe("SIGINT");
    expect(signalOf(137)).toBe("SIGKILL");
    expect(signalOf(129)).toBeNull();
    expect(signalOf(128)).toBeNull();
    expect(signalOf(1)).toBeNull();
  });
});

describe.skipIf(!linux)("git started by a shell", () => {
  it("gets exactly the environment, directory and input it is given, and returns stdout, stderr and the exit code", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-shell-it's a dir-"));
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", ODD: "it's \"quoted\" $HOME\nsecond line" };
    const printed = await runInShell(dir, env, ["/bin/sh", "-c", 'pwd; env; cat; echo oops >&2; exit 3'], "from stdin\n");
    expect(printed).not.toBeNull();
    const out = printed?.stdout.toString("utf8") ?? "";
    expect(out.split("\n")[0]).toBe(dir);
    // Nothing of the shell's own environment or this process's: only what was given (and what sh sets itself).
    expect(out).toContain(`ODD=it's "quoted" $HOME\nsecond line`);
    const names = out.split("\n").flatMap((line) => /^([A-Z_]+)=/.exec(line)?.[1] ?? []);
    expect(names.filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n)).sort()).toEqual(["ODD", "PATH"]);
    expect(out).toContain("from stdin");
    expect(printed?.stderr.toString("utf8")).toBe("oops\n");
    expect(printed?.code).toBe(3);
    expect(printed?.signal).toBeNull();
  });

  it("hands back (null) what it cannot start: a missing directory, a missing program", async () => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
    expect(await runInShell(join(tmpdir(), "ar-no-such-dir-xyz"), env, ["git", "--version"])).toBeNull();
    expect(await runInShell(tmpdir(), env, ["ar-no-such-program-xyz"])).toBeNull();
  });

  it("a Git call keeps its failures as they were: a missing git is the same error as a direct spawn's", async () => {
    const root = createRepo({ "x.txt": "x\n" });
    const saved = process.env.PATH;
    const empty = mkdtempSync(join(tmpdir(), "ar-empty-path-"));
    process.env.PATH = empty;
    try {
      await expect(new Git(root).raw(["rev-parse", "HEAD"])).rejects.toThrow(/could not run git/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it("many calls at once all get their own answer (beyond the shells, git is spawned directly)", async () => {
    const root = createRepo({ "x.txt": "x\n" });
    const git = new Git(root);
    const texts = Array.from({ length: 8 }, (_, i) => `blob ${i}\n`);
    const shas = await Promise.all(texts.map((text) => git.run(["hash-object", "--stdin"], { input: text })));
    const expected = texts.map((text) => spawnSync("git", ["hash-object", "--stdin"], { input: text, encoding: "utf8" }).stdout.trim());
    expect(shas).toEqual(expected);
  });

  it("ends with the process that started it, even a killed one; the next process removes its files", async () => {
    const script = join(mkdtempSync(join(tmpdir(), "ar-shell-child-")), "child.mjs");
    const dist = (name: string) => JSON.stringify(new URL(`../../dist/workspace/${name}`, import.meta.url).pathname);
    const root = createRepo({ "x.txt": "x\n" });
    mkdirSync(join(root, "sub"));
    writeFileSync(
      script,
      `import { Git } from ${dist("git.js")};\nimport { shellPids } from ${dist("git-shell.js")};\nconst out = await new Git(${JSON.stringify(root)}).run(["rev-parse", "HEAD"]);\nconsole.log(out, shellPids().join(","));\nif (process.argv[2] === "kill") process.kill(process.pid, "SIGKILL");\n`,
    );
    const parent = userFolder() as string;
    const folders = () => (existsSync(parent) ? readdirSync(parent) : []);
    const ended = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
    const [sha, pids] = ended.stdout.trim().split(" ");
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    // The call went through a shell, which ended with the process, and its folder is gone.
    expect(pids).toMatch(/^\d+$/);
    await gone(Number(pids));
    expect(folders().filter((n) => n.startsWith(`${ended.pid}-`))).toEqual([]);
    const killed = spawnSync(process.execPath, [script, "kill"], { encoding: "utf8", timeout: 20_000 });
    expect(killed.signal).toBe("SIGKILL");
    await gone(Number(killed.stdout.trim().split(" ")[1]));
    expect(folders().some((n) => n.startsWith(`${killed.pid}-`))).toBe(true);
    // Another process's first shell removes a dead process's folder.
    spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 20_000 });
    expect(folders().some((n) => n.startsWith(`${killed.pid}-`))).toBe(false);
    expect(existsSync(root)).toBe(true);
  });
});
