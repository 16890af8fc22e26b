import { lstatSync, readdirSync, type Stats } from "node:fs";
import { sep } from "node:path";
import type { SharedEntry } from "./shared.js";

/**
 * The shared data's guard without a sandbox, kept cheap for large trees (a 150k-file `.venv`):
 * instead of a walk that stats every file before and after each run, it remembers each
 * directory's listing and re-lists only the directories whose stamp (inode, mtime, ctime)
 * changed. A creation, deletion or rename in a directory changes that directory's mtime and
 * ctime (POSIX), and a run cannot set ctime back (utimes sets it to now), so every change to the
 * set of names is found. A write into an existing file changes no directory: files are stat'ed
 * one by one only where that matters and costs little (see `watched`). What it finds is the
 * difference with its previous look, so the look after one run is the one before the next.
 *
 * Not caught in a tree over FULL_STAT_FILES files: an in-place write (append, truncate,
 * overwrite, chmod) to a file under LARGE_FILE bytes that is not a Python start-up file. See
 * docs/guarantees.md.
 */

/** A shared root with at most this many files has every file stat'ed on each look. */
export const FULL_STAT_FILES = 10_000;
/** In a larger tree, files of at least this size (data shards, compiled libraries) are stat'ed on each look. */
export const LARGE_FILE = 1 << 20;
/**
 * Files that change what every later Python process runs (`.pth` lines are executed at start-up,
 * sitecustomize/usercustomize are imported, pyvenv.cfg chooses the interpreter's home): always stat'ed.
 */
const STARTUP_FILE = /(\.pth|(^|\/)(sitecustomize|usercustomize)\.py|(^|\/)pyvenv\.cfg)$/;
/**
 * A directory whose ctime is this close to the moment it was listed may change again within the
 * same timestamp tick (filesystems stamp with a coarse clock): it is listed again next time, as
 * git does with "racy" index entries.
 */
const RACY_MS = 2000;

interface DirState {
  /** Its absolute and shared-relative paths (kept: a look builds no path for a folder that did not change). */
  abs: string;
  rel: string;
  /** Its inode, mtime and ctime when listed. */
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
  /** Every name in it, as last listed, and each one's inode (a file renamed over another has a new one). */
  names: string[];
  inos: number[];
  /** The names that are directories, and their states (each is stat'ed on every look). */
  subdirs: string[];
  sub: DirState[];
  /** The names of files stat'ed on every look. */
  watched: string[];
  /** Changed so close to its listing that the listing cannot be trusted next time. */
  racy: boolean;
}

export class SharedManifest {
  private readonly dirs = new Map<string, DirState>();
  /** "kind size mtime" of each watched file (every shared root that is a file is watched). */
  private readonly files = new Map<string, string>();
  /** Per shared root: every file in it is watched (it held at most FULL_STAT_FILES files when first seen). */
  private readonly full = new Map<string, boolean>();
  private looked = false;
  private changes: string[] = [];
  private listedAt = 0;

  private readonly fullStatFiles: number;
  private readonly largeFile: number;

  constructor(
    private readonly entries: readonly SharedEntry[],
    limits: { fullStatFiles?: number; largeFile?: number } = {},
  ) {
    this.fullStatFiles = limits.fullStatFiles ?? FULL_STAT_FILES;
    this.largeFile = limits.largeFile ?? LARGE_FILE;
  }

  /**
   * Looks at the shared data now and returns what changed since the previous look, one line per
   * path (`created`, `modified`, `deleted`), in walk order. The first look returns nothing.
   */
  look(): string[] {
    this.changes = [];
    this.listedAt = Date.now();
    for (const entry of this.entries) {
      const first = !this.full.has(entry.rel);
      // First sight of this root: a full walk (every file stat'ed), which also tells how big the tree is.
      if (first) this.full.set(entry.rel, true);
      this.root(entry);
      if (first && this.countFiles(entry.rel) > this.fullStatFiles) {
        this.full.set(entry.rel, false);
        this.rewatch(entry.rel, entry.rel);
      }
    }
    const first = !this.looked;
    this.looked = true;
    return first ? [] : this.changes;
  }

  private root(entry: SharedEntry): void {
    const { rel, target } = entry;
    const st = lstatSync(target, { throwIfNoEntry: false });
    if (!st) {
      if (this.dirs.has(rel) || this.files.has(rel)) this.forget(rel);
      return;
    }
    if (st.isDirectory()) {
      if (this.files.delete(rel)) this.changes.push(`modified ${rel}`);
      else if (!this.dirs.has(rel)) this.changes.push(`created ${rel}`);
      this.dir(target, rel, st, entry.rel);
      return;
    }
    if (this.dirs.has(rel)) this.forget(rel);
    this.file(rel, st, true);
  }

  private watches(root: string, rel: string, size: number): boolean {
    return this.full.get(root) === true || size >= this.largeFile || STARTUP_FILE.test(rel);
  }

  /** A watched file's stamp compared with the last one (a new path is reported created). */
  private file(rel: string, st: Stats, report: boolean): void {
    const stamp = `${st.isSymbolicLink() ? "link" : "file"} ${st.size} ${st.mtimeMs}`;
    const was = this.files.get(rel);
    if (report && was === undefined) this.changes.push(`created ${rel}`);
    else if (report && was !== stamp) this.changes.push(`modified ${rel}`);
    this.files.set(rel, stamp);
  }

  private dir(abs: string, rel: string, st: Stats, root: string, known = this.dirs.get(rel)): void {
    if (known && known.ino === st.ino && known.mtimeMs === st.mtimeMs && known.ctimeMs === st.ctimeMs && !known.racy) {
      // Same names as last time: only its subdirectories and its watched files are looked at.
      for (const sub of known.sub) {
        const child = lstatSync(sub.abs, { throwIfNoEntry: false });
        if (child?.isDirectory()) this.dir(sub.abs, sub.rel, child, root, sub);
        else this.changes.push(`modified ${sub.rel}`); // cannot happen without the listing changing
      }
      for (const name of known.watched) {
        const child = lstatSync(abs + sep + name, { throwIfNoEntry: false });
        if (child) this.file(`${rel}/${name}`, child, true);
        else this.changes.push(`deleted ${rel}/${name}`);
      }
      return;
    }
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch {
      names = [];
    }
    const before = new Map<string, number>();
    if (known) for (const [i, name] of known.names.entries()) before.set(name, known.inos[i] as number);
    const wereDirs = new Set(known?.subdirs);
    const present = new Set(names);
    for (const name of before.keys()) if (!present.has(name)) this.forget(`${rel}/${name}`);
    const state: DirState = { abs, rel, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, names: [], inos: [], subdirs: [], sub: [], watched: [], racy: st.ctimeMs >= this.listedAt - RACY_MS };
    for (const name of names) {
      const childRel = `${rel}/${name}`;
      const childAbs = abs + sep + name;
      const child = lstatSync(childAbs, { throwIfNoEntry: false });
      if (!child) continue; // gone while listed: as if never there
      const wasIno = before.get(name);
      if (child.isDirectory()) {
        if (wasIno === undefined) this.changes.push(`created ${childRel}`);
        else if (!wereDirs.has(name)) {
          this.files.delete(childRel);
          this.changes.push(`modified ${childRel}`);
        }
        this.dir(childAbs, childRel, child, root);
        state.subdirs.push(name);
        state.sub.push(this.dirs.get(childRel) as DirState);
      } else {
        const watched = this.watches(root, childRel, child.size);
        if (wereDirs.has(name)) {
          this.forget(childRel);
          this.changes.push(`created ${childRel}`);
        } else if (wasIno === undefined) this.changes.push(`created ${childRel}`);
        else if (wasIno !== child.ino) this.changes.push(`modified ${childRel}`);
        else if (watched && this.files.has(childRel)) this.file(childRel, child, true);
        if (watched) {
          this.file(childRel, child, false);
          state.watched.push(name);
        } else this.files.delete(childRel);
      }
      state.names.push(name);
      state.inos.push(child.ino);
    }
    this.dirs.set(rel, state);
  }

  /** A path that is gone: it and everything known under it are reported deleted and forgotten. */
  private forget(rel: string): void {
    const dir = this.dirs.get(rel);
    if (dir) {
      for (const name of dir.names) this.forget(`${rel}/${name}`);
      this.dirs.delete(rel);
    } else this.files.delete(rel);
    this.changes.push(`deleted ${rel}`);
  }

  private countFiles(rel: string): number {
    const dir = this.dirs.get(rel);
    if (!dir) return 1;
    let n = dir.names.length - dir.subdirs.length;
    for (const name of dir.subdirs) n += this.countFiles(`${rel}/${name}`);
    return n;
  }

  /** A root found too big to stat whole: its directories keep only the files worth stat'ing, and only their stamps. */
  private rewatch(root: string, rel: string): void {
    const dir = this.dirs.get(rel);
    if (!dir) return;
    dir.watched = dir.watched.filter((name) => {
      const childRel = `${rel}/${name}`;
      const keep = this.watches(root, childRel, Number(this.files.get(childRel)?.split(" ")[1] ?? 0));
      if (!keep) this.files.delete(childRel);
      return keep;
    });
    for (const name of dir.subdirs) this.rewatch(root, `${rel}/${name}`);
  }
}

/** At most `limit` lines, then a count of the rest. */
export function summariseChanges(lines: readonly string[], limit = 5): string[] {
  if (lines.length > limit) return [...lines.slice(0, limit), `… and ${lines.length - limit} more`];
  return [...lines];
}
