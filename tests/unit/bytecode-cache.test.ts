import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BytecodeCache } from "../../src/workspace/bytecode-cache.js";

/** A cache with what a baseline's run would leave: bytecode for a clone module and an environment module. */
function seeded(): { cache: BytecodeCache; dir: string } {
  const dir = join(mkdtempSync(join(tmpdir(), "ar-bytecode-")), "w0.pycache");
  mkdirSync(join(dir, "clone"), { recursive: true });
  mkdirSync(join(dir, "env", "lib"), { recursive: true });
  writeFileSync(join(dir, "clone", "prepare.cpython-311.pyc"), "baseline bytecode of prepare.py");
  writeFileSync(join(dir, "env", "lib", "torch.cpython-311.pyc"), "baseline bytecode of torch");
  return { cache: new BytecodeCache(dir), dir };
}

describe("a worker's bytecode cache (PYTHONPYCACHEPREFIX of unconfined runs)", () => {
  it("with nothing trusted (a new or resumed session) it is emptied before each run", () => {
    const { cache, dir } = seeded();
    cache.prune();
    expect(existsSync(dir)).toBe(false);
  });

  it("keeps what the baseline left, unchanged; new bytecode is removed before the next run", () => {
    const { cache, dir } = seeded();
    cache.trust();
    writeFileSync(join(dir, "env", "lib", "numpy.cpython-311.pyc"), "compiled by an experiment");
    mkdirSync(join(dir, "new"));
    writeFileSync(join(dir, "new", "x.pyc"), "x");
    expect(cache.prune()).toBe(2);
    expect(readFileSync(join(dir, "clone", "prepare.cpython-311.pyc"), "utf8")).toBe("baseline bytecode of prepare.py");
    expect(readFileSync(join(dir, "env", "lib", "torch.cpython-311.pyc"), "utf8")).toBe("baseline bytecode of torch");
    expect(existsSync(join(dir, "env", "lib", "numpy.cpython-311.pyc"))).toBe(false);
    expect(existsSync(join(dir, "new"))).toBe(false);
    // A second look finds nothing more to remove.
    expect(cache.prune()).toBe(0);
  });

  it("removes trusted bytecode a run rewrote in place, replaced, or swapped for a link", () => {
    const { cache, dir } = seeded();
    writeFileSync(join(dir, "clone", "train_utils.cpython-311.pyc"), "baseline bytecode of train_utils");
    const prepare = join(dir, "clone", "prepare.cpython-311.pyc");
    utimesSync(prepare, 1_700_000_000, 1_700_000_000);
    cache.trust();
    // In place, same size, its modification time set back: only the change time tells.
    writeFileSync(prepare, "PLANTED bytecode of prepare.py!");
    utimesSync(prepare, 1_700_000_000, 1_700_000_000);
    expect(statSync(prepare, { bigint: true }).mtimeNs).toBe(1_700_000_000_000_000_000n);
    // Replaced by a rename (a new inode).
    writeFileSync(join(dir, "clone", "tmp"), "baseline bytecode of train_utils");
    renameSync(join(dir, "clone", "tmp"), join(dir, "clone", "train_utils.cpython-311.pyc"));
    // A trusted folder swapped for a link to the run's own.
    const elsewhere = mkdtempSync(join(tmpdir(), "ar-bytecode-evil-"));
    writeFileSync(join(elsewhere, "torch.cpython-311.pyc"), "planted");
    rmSync(join(dir, "env", "lib"), { recursive: true });
    symlinkSync(elsewhere, join(dir, "env", "lib"));
    expect(cache.prune()).toBe(3);
    expect(existsSync(join(dir, "clone", "prepare.cpython-311.pyc"))).toBe(false);
    expect(existsSync(join(dir, "clone", "train_utils.cpython-311.pyc"))).toBe(false);
    expect(existsSync(join(dir, "env", "lib"))).toBe(false);
    // What the link pointed to is not the cache's to remove.
    expect(existsSync(join(elsewhere, "torch.cpython-311.pyc"))).toBe(true);
  });

  it("an append to trusted bytecode is found too", () => {
    const { cache, dir } = seeded();
    cache.trust();
    appendFileSync(join(dir, "env", "lib", "torch.cpython-311.pyc"), "x");
    expect(cache.prune()).toBe(1);
    expect(existsSync(join(dir, "env", "lib", "torch.cpython-311.pyc"))).toBe(false);
  });

  it("another worker's cache is seeded from a trusted one and trusted as copied", () => {
    const { cache } = seeded();
    cache.trust();
    const other = new BytecodeCache(join(mkdtempSync(join(tmpdir(), "ar-bytecode-")), "w1.pycache"));
    other.seedFrom(cache);
    expect(readFileSync(join(other.dir, "env", "lib", "torch.cpython-311.pyc"), "utf8")).toBe("baseline bytecode of torch");
    expect(other.prune()).toBe(0);
    appendFileSync(join(other.dir, "env", "lib", "torch.cpython-311.pyc"), "x");
    expect(other.prune()).toBe(1);
    // An untrusted cache seeds nothing.
    const third = new BytecodeCache(join(mkdtempSync(join(tmpdir(), "ar-bytecode-")), "w2.pycache"));
    third.seedFrom(new BytecodeCache(join(tmpdir(), "nonexistent-cache")));
    expect(existsSync(third.dir)).toBe(false);
    other.remove();
    expect(existsSync(other.dir)).toBe(false);
  });
});
