import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SharedManifest } from "../../src/workspace/shared-manifest.js";

const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A shared `.venv` with `files` small files in nested folders, one large file and a `.pth`; `data/train.bin` shared as a file. */
function tree(files: number): { root: string; look: SharedManifest; venv: string } {
  const root = mkdtempSync(join(tmpdir(), "ar-look-"));
  roots.push(root);
  const venv = join(root, ".venv");
  for (let i = 0; i < files; i++) {
    const dir = join(venv, "lib", `pkg${i % 3}`, `mod${i % 5}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.py`), "x");
  }
  writeFileSync(join(venv, "lib", "pkg0", "big.so"), Buffer.alloc(4096));
  writeFileSync(join(venv, "lib", "pkg1", "site.pth"), "import os\n");
  mkdirSync(join(root, "data"));
  writeFileSync(join(root, "data", "train.bin"), "tokens");
  const look = new SharedManifest(
    [
      { rel: ".venv", target: venv, isDir: true },
      { rel: "data/train.bin", target: join(root, "data", "train.bin"), isDir: false },
    ],
    // A tree over 20 files is "large": only files of 1 KiB or more and start-up files are stat'ed each time.
    { fullStatFiles: 20, largeFile: 1024 },
  );
  expect(look.look()).toEqual([]);
  return { root, look, venv };
}

const pkg = (venv: string, ...rest: string[]) => join(venv, "lib", "pkg0", ...rest);

describe("the incremental look at shared data", () => {
  for (const files of [10, 60]) {
    const size = files > 20 ? "a large tree" : "a small tree";
    it(`${size}: nothing changed, nothing reported (twice)`, () => {
      const { look } = tree(files);
      expect(look.look()).toEqual([]);
      expect(look.look()).toEqual([]);
    });

    it(`${size}: creations, deletions and renames anywhere are caught`, () => {
      const { look, venv } = tree(files);
      writeFileSync(pkg(venv, "mod0", "new.py"), "y");
      expect(look.look()).toEqual([".venv/lib/pkg0/mod0/new.py"].map((p) => `created ${p}`));
      rmSync(pkg(venv, "mod0", "f0.py"));
      expect(look.look()).toEqual(["deleted .venv/lib/pkg0/mod0/f0.py"]);
      renameSync(pkg(venv, "mod0", "new.py"), pkg(venv, "mod0", "renamed.py"));
      expect(look.look().sort()).toEqual(["created .venv/lib/pkg0/mod0/renamed.py", "deleted .venv/lib/pkg0/mod0/new.py"]);
      rmSync(join(venv, "lib", "pkg2"), { recursive: true });
      const gone = look.look();
      expect(gone).toContain("deleted .venv/lib/pkg2");
      expect(gone.every((l) => l.startsWith("deleted .venv/lib/pkg2"))).toBe(true);
      mkdirSync(pkg(venv, "fresh"));
      writeFileSync(pkg(venv, "fresh", "a.py"), "a");
      expect(look.look()).toEqual(["created .venv/lib/pkg0/fresh", "created .venv/lib/pkg0/fresh/a.py"]);
    });

    it(`${size}: a file renamed over another (same name, new inode) is caught, even with the folder's mtime put back`, () => {
      const { look, venv } = tree(files);
      const dir = pkg(venv, "mod0");
      const { mtime, atime } = statSync(dir);
      writeFileSync(join(venv, "tmp.py"), "poisoned");
      renameSync(join(venv, "tmp.py"), join(dir, "f0.py"));
      utimesSync(dir, atime, mtime); // mtime back; ctime cannot be
      expect(look.look()).toContain("modified .venv/lib/pkg0/mod0/f0.py");
    });

    it(`${size}: an in-place write to a large file, a start-up file or a shared file is caught`, () => {
      const { look, venv, root } = tree(files);
      appendFileSync(pkg(venv, "big.so"), "z");
      appendFileSync(join(venv, "lib", "pkg1", "site.pth"), "import evil\n");
      appendFileSync(join(root, "data", "train.bin"), "more");
      expect(look.look().sort()).toEqual(["modified .venv/lib/pkg0/big.so", "modified .venv/lib/pkg1/site.pth", "modified data/train.bin"]);
      rmSync(join(root, "data", "train.bin"));
      expect(look.look()).toEqual(["deleted data/train.bin"]);
      writeFileSync(join(root, "data", "train.bin"), "back");
      expect(look.look()).toEqual(["created data/train.bin"]);
    });

    it(`${size}: a folder replaced by a file, and a file by a folder`, () => {
      const { look, venv } = tree(files);
      rmSync(pkg(venv, "mod0"), { recursive: true });
      writeFileSync(pkg(venv, "mod0"), "file now");
      const first = look.look();
      expect(first).toContain("deleted .venv/lib/pkg0/mod0");
      expect(first).toContain("created .venv/lib/pkg0/mod0");
      rmSync(pkg(venv, "mod0"));
      mkdirSync(pkg(venv, "mod0"));
      expect(look.look()).toEqual(["modified .venv/lib/pkg0/mod0"]);
    });
  }

  it("a small tree: an in-place write to any file is caught (every file is stat'ed)", () => {
    const { look, venv } = tree(10);
    appendFileSync(pkg(venv, "mod0", "f0.py"), "# appended");
    expect(look.look()).toEqual(["modified .venv/lib/pkg0/mod0/f0.py"]);
    chmodSync(pkg(venv, "mod0", "f0.py"), 0o600);
    utimesSync(pkg(venv, "mod0", "f0.py"), 1, 1);
    expect(look.look()).toEqual(["modified .venv/lib/pkg0/mod0/f0.py"]);
  });

  it("a large tree: an in-place write to a small file is not caught (documented in docs/guarantees.md), its replacement is", () => {
    const { look, venv } = tree(60);
    appendFileSync(pkg(venv, "mod0", "f0.py"), "# appended in place");
    expect(look.look()).toEqual([]);
    writeFileSync(join(venv, "f0.tmp"), "# replaced");
    renameSync(join(venv, "f0.tmp"), pkg(venv, "mod0", "f0.py"));
    expect(look.look()).toEqual(["modified .venv/lib/pkg0/mod0/f0.py"]);
  });
});
