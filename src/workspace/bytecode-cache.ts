/**
 * The Python bytecode cache of a worker's unconfined runs (their PYTHONPYCACHEPREFIX), kept from
 * run to run but trusted only as the baseline left it.
 *
 * An unconfined run's bytecode goes here rather than beside the modules it imports (a first import
 * is not a change to shared data, e.g. a virtual environment linked into the clone). With a cache
 * emptied before every run, every run compiled every module it imported again (torch: about a
 * second a run here). Kept as it is, it would be a way for one run to plant code the next runs
 * execute (bytecode for `prepare.py`, or for a module of the environment, with the source's
 * timestamp in its header). So: what the baseline's run wrote (the user's own code) is noted by
 * inode, size, modification and change times (a file rewritten in place gets a new change time,
 * which no unprivileged process can set back; a replaced one a new inode), and before each run
 * everything else is removed. Honest runs only add bytecode (for modules the baseline never
 * imported, or sources that changed): that is compiled again each run, as before.
 */
import { cpSync, rmSync, type Stats } from "node:fs";
import { walkEntries } from "./walk.js";

/**
 * An entry's identity: a file's inode, size and times; a directory's inode alone (its times move
 * whenever an entry is added, and its entries are compared one by one anyway); anything else
 * (a link) has none that is trusted.
 */
function identity(st: Stats): string {
  if (st.isDirectory()) return `d:${st.ino}`;
  return st.isFile() ? `f:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : "other";
}

export class BytecodeCache {
  /** Relative path -> identity of what the baseline's run left; null: nothing is trusted (emptied before each run). */
  private trusted: Map<string, string> | null = null;

  constructor(readonly dir: string) {}

  /** What it holds now becomes trusted (after a run of the baseline's code that did nothing wrong). */
  trust(): void {
    const seen = new Map<string, string>();
    walkEntries(this.dir, "", (_path, rel, st) => {
      const id = identity(st);
      if (id === "other") return false;
      seen.set(rel, id);
      return true;
    });
    this.trusted = seen;
  }

  /** Made a copy of `other` (another worker's, right after it was trusted), trusted: this worker's runs start warm too. */
  seedFrom(other: BytecodeCache): void {
    if (other.trusted === null) return;
    rmSync(this.dir, { recursive: true, force: true });
    try {
      cpSync(other.dir, this.dir, { recursive: true });
    } catch {
      rmSync(this.dir, { recursive: true, force: true });
      this.trusted = null;
      return;
    }
    // Copied files are new files: trusted as they are now (the other held only what it trusted).
    this.trust();
  }

  /**
   * Right before a run: everything but the trusted entries, unchanged, is removed; with nothing
   * trusted, all of it. Returns how many entries were removed.
   */
  prune(): number {
    const trusted = this.trusted;
    if (trusted === null) {
      rmSync(this.dir, { recursive: true, force: true });
      return 0;
    }
    let removed = 0;
    walkEntries(this.dir, "", (path, rel, st) => {
      if (trusted.get(rel) === identity(st)) return true;
      // Not left by the baseline, or changed since (a directory swapped for a link included).
      rmSync(path, { recursive: true, force: true });
      removed++;
      return false;
    });
    return removed;
  }

  /** Gone with its clone. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.trusted = null;
  }
}
