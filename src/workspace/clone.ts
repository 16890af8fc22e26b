import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeFailure } from "../errors.js";
import { Git } from "./git.js";
import { linkShared, type SharedEntry } from "./shared.js";
import { BytecodeCache } from "./bytecode-cache.js";
import { SharedManifest, summariseChanges } from "./shared-manifest.js";
import { walkEntries } from "./walk.js";
import { parsePorcelainZ } from "./tree.js";

/**
 * A worker's checkout: a throwaway clone the tool owns, outside the user's working tree
 * (`<git-common-dir>/autoresearch/<tag>/w<k>`). It borrows the user's objects (an alternates
 * file, like `git clone --shared`), has no remote, no refs, no hooks and no config but git's
 * defaults, and always sits on a detached HEAD. The run may do anything in it; afterwards the
 * tool compares the clone's git dir with what it left there, without running git first, and a
 * clone whose git state changed (config, attributes, hooks, HEAD, refs, lock files) is
 * recreated rather than trusted. The orchestrator alone creates commits and moves refs, in the
 * user's repository.
 */
export interface CloneInspection {
  /** Everything the run was not allowed to do, for the experiment's record. Empty when clean. */
  violations: string[];
  /** The clone's git state was changed: it is recreated instead of reset. */
  broken: boolean;
  /** Untracked or ignored files the run left (outputs): removed on reset, not a violation. */
  outputs: number;
  /** The first few of them, by path. */
  created: string[];
}

/** Files in the clone's git dir that never count: objects (a commit made there is caught by HEAD), logs, the index (checked by status). */
function ignoredGitPath(rel: string): boolean {
  return (rel.startsWith("objects/") && !rel.startsWith("objects/info")) || rel === "objects" || rel.startsWith("logs/") || rel === "logs" || rel === "index";
}

/** name -> content stamp of every file in the git dir that decides how git behaves. */
function gitDirManifest(gitDir: string): Map<string, string> {
  const out = new Map<string, string>();
  walkEntries(gitDir, "", (child, childRel, st) => {
    if (ignoredGitPath(childRel)) return false;
    if (st.isDirectory()) out.set(childRel, "dir");
    else if (st.isFile() && st.size <= 1 << 16) out.set(childRel, createHash("sha1").update(readFileSync(child)).digest("hex"));
    else out.set(childRel, `${st.isSymbolicLink() ? "link" : "file"} ${st.size} ${st.mtimeMs}`);
    return true;
  });
  return out;
}

/** Names whose appearance in the tree changes how git itself behaves there. */
const GIT_CONTROL_FILE = /(^|\/)(\.gitattributes|\.gitmodules|\.git)(\/|$)/;

/**
 * New code a run leaves in the tree can change what the read-only scripts import or run: a
 * `prepare/` package or a `numpy.py` beside `prepare.py` shadows the real module, a `.pth` or
 * `sitecustomize.py` runs at interpreter start. Such a file makes the experiment untrusted (a
 * violation) and is removed with the other outputs. Python's own bytecode caches are not code
 * the run wrote and stay outputs.
 */
const SHADOWING_CODE = /\.(py|pyi|pth|so|pyd|js|mjs|cjs|ts|mts|cts|node)$/i;
function shadowsCode(path: string): boolean {
  return SHADOWING_CODE.test(path) && !/(^|\/)__pycache__\//.test(path);
}

export class WorkerClone {
  readonly git: Git;
  /** Its unconfined runs' Python bytecode (PYTHONPYCACHEPREFIX), beside the clone: see bytecode-cache.ts. */
  readonly bytecode: BytecodeCache;
  private gitState: Map<string, string> | null = null;
  /** The commit the tool last put the clone at. */
  private head: string | null = null;
  /** What the shared data looked like (src/workspace/shared-manifest.ts): one per clone, updated incrementally. */
  private readonly sharedLook: SharedManifest;
  /** The run now in this clone is unconfined: the look after it is compared with the one before. */
  private guardShared = false;
  /** The shared data's last look was taken right after this clone's last unconfined run: it serves as the next run's look before. */
  private sharedCurrent = false;
  /**
   * The digest of the clone's index when it was last known to mark no file assume-unchanged or
   * skip-worktree (see hiddenFromGit): an index with that digest needs no `git ls-files`, one
   * process start per experiment. Null: not known (the index is read by git again).
   */
  private verifiedIndex: string | null = null;
  /** Nothing ran in the clone since the tool last put it at `head` (beforeRun clears it). */
  private untouched = false;

  constructor(
    /** The clone's folder. */
    readonly dir: string,
    /** The user's repository (where commits are made and refs moved). */
    private readonly source: Git,
    /** Absolute path of the user's object store. */
    private readonly objects: string,
    readonly shared: readonly SharedEntry[],
  ) {
    this.git = new Git(dir, true);
    this.sharedLook = new SharedManifest(shared);
    this.bytecode = new BytecodeCache(`${dir}.pycache`);
  }

  get gitDir(): string {
    return join(this.dir, ".git");
  }

  /** The clone at `commit`, created when missing or unusable. Returns why it had to be (re)made, or null. */
  async prepare(commit: string): Promise<string | null> {
    let why: string | null = null;
    if (!existsSync(join(this.gitDir, "HEAD"))) why = existsSync(this.dir) ? "a damaged clone was left by an earlier run of the tool" : null;
    else if (!this.gitState) {
      // A clone left by an earlier process: its git dir cannot be vouched for, so it is made again.
      why = "a clone from an earlier run of the tool is replaced";
    }
    if (!existsSync(join(this.gitDir, "HEAD")) || !this.gitState) await this.recreate(commit);
    else await this.moveTo(commit);
    return why;
  }

  /** Deletes and re-creates the clone at `commit` (a link is removed, never followed). */
  async recreate(commit: string): Promise<void> {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    const empty = join(this.dir, ".git-template");
    mkdirSync(empty);
    await this.git.run(["init", "--quiet", `--template=${empty}`]);
    rmSync(empty, { recursive: true, force: true });
    mkdirSync(join(this.gitDir, "objects", "info"), { recursive: true });
    writeFileSync(join(this.gitDir, "objects", "info", "alternates"), `${this.objects}\n`);
    mkdirSync(join(this.gitDir, "info"), { recursive: true });
    // The links to shared data are the tool's, not the run's: git must neither list nor clean them.
    writeFileSync(join(this.gitDir, "info", "exclude"), this.shared.map((e) => `/${e.rel}\n`).join(""));
    const result = await this.git.checkout(commit, { detach: true, force: true });
    if (result.code !== 0) throw new RuntimeFailure(`could not check out ${commit.slice(0, 7)} in the experiment clone ${this.dir}: ${result.stderr.trim()}`);
    // A fresh index of a new repository with no config: nothing in it is hidden from git.
    this.verifiedIndex = this.indexDigest();
    this.settle(commit);
  }

  /** Tracked files to exactly `commit` (HEAD detached there); untracked files are left alone. */
  async moveTo(commit: string): Promise<void> {
    // A proposer (a coding agent) may have worked here since: a changed git state is never run git in.
    if (!this.gitState || !sameState(this.gitState, gitDirManifest(this.gitDir))) {
      await this.recreate(commit);
      return;
    }
    // Just put there and nothing ran since (the baseline right after the clone was made): no git call.
    if (this.untouched && this.head === commit) return;
    await this.resetIndexed(commit);
    this.settle(commit);
  }

  /**
   * `git reset --hard commit`. A reset keeps the index's assume-unchanged and skip-worktree marks,
   * so the index it writes is known to have none only when the one it started from was.
   */
  private async resetIndexed(commit: string): Promise<void> {
    const verified = this.verifiedIndex !== null && this.indexDigest() === this.verifiedIndex;
    this.verifiedIndex = null;
    await this.git.run(["reset", "--quiet", "--hard", commit]);
    if (verified) this.verifiedIndex = this.indexDigest();
  }

  /** The digest of the clone's index file ("absent" when there is none). */
  private indexDigest(): string {
    try {
      return createHash("sha1").update(readFileSync(join(this.gitDir, "index"))).digest("hex");
    } catch {
      return "absent";
    }
  }

  /** Remembers the clone's git state and the shared data as they are now: what the next run is compared with. */
  private settle(commit: string): void {
    linkShared(this.dir, this.shared);
    this.gitState = gitDirManifest(this.gitDir);
    this.head = commit;
    this.untouched = true;
  }

  /**
   * Right before a run or a check in this clone. A `confined` run (bwrap, sandbox-exec) sees the
   * shared paths read-only, enforced by the kernel: nothing is looked at, before or after. An
   * unconfined one has the shared data looked at now, unless the look taken after this clone's
   * previous unconfined run is still the latest (then that one is the look before: a change since
   * is blamed on this run, never missed).
   */
  beforeRun(confined = false): void {
    this.untouched = false;
    // Only what the baseline's run compiled stays in an unconfined run's bytecode cache (a confined run has none).
    if (!confined) this.bytecode.prune();
    if (this.shared.length === 0) return;
    if (confined) {
      this.guardShared = false;
      this.sharedCurrent = false;
      return;
    }
    if (!this.sharedCurrent) this.sharedLook.look();
    this.guardShared = true;
  }

  /** What an unconfined run changed in the shared data, for its violation; null when it needs no look. */
  private sharedChanges(): string | null {
    if (!this.guardShared) return null;
    this.guardShared = false;
    const changes = this.sharedLook.look();
    this.sharedCurrent = true;
    return changes.length > 0 ? `changed shared data: ${summariseChanges(changes).join(", ")}` : null;
  }

  /**
   * What the run did to the clone and the shared data, found without trusting the clone's git:
   * its git dir is compared file by file first (a commit, checkout or reset shows in HEAD; a
   * planted filter or hook in config, info/ or hooks/), and git runs in it only when that is unchanged.
   * `guarded` are repo-relative files that must not appear, change or vanish (read-only and
   * dependency files), with the sha256 they had at setup (null: absent).
   */
  async inspect(guarded: Record<string, string | null>): Promise<CloneInspection> {
    const violations: string[] = [];
    const now = gitDirManifest(this.gitDir);
    const before = this.gitState ?? new Map<string, string>();
    const gitChanges: string[] = [];
    for (const [path, stamp] of now) {
      const was = before.get(path);
      if (was === undefined) gitChanges.push(`created .git/${path}`);
      else if (was !== stamp) gitChanges.push(`changed .git/${path}`);
    }
    for (const path of before.keys()) if (!now.has(path)) gitChanges.push(`deleted .git/${path}`);
    gitChanges.sort();
    if (gitChanges.length > 0) {
      violations.push(`changed the clone's git state (${summarise(gitChanges)}); the clone was recreated`);
    }

    const shared = this.sharedChanges();
    if (shared) violations.push(shared);

    let outputs = 0;
    const created: string[] = [];
    // Read before `git status`, which may write the index again (refreshed file times).
    const indexVerified = gitChanges.length === 0 && this.verifiedIndex !== null && this.indexDigest() === this.verifiedIndex;
    this.verifiedIndex = null;
    if (gitChanges.length === 0) {
      const status = parsePorcelainZ(await this.git.run(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=traditional"]));
      const sharedNames = new Set(this.shared.map((e) => e.rel));
      const tracked: string[] = [];
      for (const [path, xy] of status) {
        if (sharedNames.has(path.replace(/\/$/, ""))) continue;
        if (xy === "??" || xy === "!!") {
          outputs++;
          if (created.length < 10) created.push(path);
          if (GIT_CONTROL_FILE.test(path)) violations.push(`created ${path}`);
          else if (shadowsCode(path)) violations.push(`created ${path} (new code in the tree can change what the read-only scripts import)`);
          continue;
        }
        tracked.push(`${xy.includes("D") ? "deleted" : xy[0] !== " " ? "staged" : "modified"} ${path}`);
      }
      if (tracked.length > 0) violations.push(...tracked);
    }
    // Git can be told not to look (assume-unchanged, skip-worktree in the index, which the git-dir
    // comparison leaves out): the guarded files are compared by content, and a hidden file is named.
    // An index the run left as it was (byte for byte) marks nothing: it is not listed again.
    const hidden = gitChanges.length === 0 && !indexVerified ? await this.hiddenFromGit() : [];
    // The index as git status left it (written from one that marks nothing, or just listed) marks nothing.
    if (gitChanges.length === 0 && hidden.length === 0) this.verifiedIndex = this.indexDigest();
    for (const path of hidden) violations.push(`hid changes to ${path} from git (assume-unchanged or skip-worktree)`);
    const poisoned = guardedByContent(this.dir, guarded);
    violations.push(...poisoned);
    // A clone whose index hides files, or whose guarded files changed, is made again: a reset might leave them as the run made them.
    const broken = gitChanges.length > 0 || hidden.length > 0 || poisoned.length > 0;
    return { violations: [...new Set(violations)], broken, outputs, created };
  }

  /** Tracked files the index marks as not to be looked at (`git ls-files -v`: lower case = assume-unchanged, S = skip-worktree). */
  private async hiddenFromGit(): Promise<string[]> {
    const out: string[] = [];
    for (const line of (await this.git.run(["ls-files", "-v", "-z"])).split("\0")) {
      if (line.length > 2 && (/^[a-z]/.test(line) || line.startsWith("S "))) out.push(line.slice(2));
    }
    return out;
  }

  /**
   * What a run followed again after a killed orchestrator (a SLURM job) did to a clone this process
   * never vouched for: its git dir is neither trusted nor compared (the run may have changed it
   * before this process took over; the clone is recreated afterwards), so no git runs in it. The
   * tracked files are compared by content with `commit`'s blobs, read from the user's repository;
   * every other file is an output, new code and git control files among them violations as in
   * inspect(). Shared data is compared with its look at beforeRun().
   */
  async inspectByContent(commit: string, guarded: Record<string, string | null>): Promise<CloneInspection> {
    const violations: string[] = [];
    const tree = new Map<string, { mode: string; sha: string }>();
    for (const entry of (await this.source.run(["ls-tree", "-r", "-z", "--full-tree", commit])).split("\0")) {
      const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.+)$/s.exec(entry);
      if (m?.[2] === "blob") tree.set(m[4] as string, { mode: m[1] as string, sha: m[3] as string });
    }
    const sharedNames = new Set(this.shared.map((e) => e.rel));
    for (const [path, blob] of tree) {
      if (sharedNames.has(path)) continue;
      const abs = join(this.dir, ...path.split("/"));
      let content: Buffer;
      try {
        content = blob.mode === "120000" ? Buffer.from(readlinkSync(abs)) : readFileSync(abs);
      } catch {
        violations.push(`deleted ${path}`);
        continue;
      }
      const sha = createHash(blob.sha.length === 64 ? "sha256" : "sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
      if (sha !== blob.sha) violations.push(`modified ${path}`);
    }
    let outputs = 0;
    const created: string[] = [];
    walkEntries(this.dir, "", (_child, childRel, st) => {
      if (childRel === ".git" || sharedNames.has(childRel)) return false;
      if (st.isDirectory()) return true;
      if (tree.has(childRel)) return false;
      outputs++;
      if (created.length < 10) created.push(childRel);
      if (GIT_CONTROL_FILE.test(childRel)) violations.push(`created ${childRel}`);
      else if (shadowsCode(childRel)) violations.push(`created ${childRel} (new code in the tree can change what the read-only scripts import)`);
      return false;
    });
    const shared = this.sharedChanges();
    if (shared) violations.push(shared);
    // Tracked guarded files were compared with the commit's blobs above; one that must not exist is named.
    for (const [file, hash] of Object.entries(guarded)) {
      if (hash === null && existsSync(join(this.dir, ...file.split("/")))) violations.push(`created ${file}`);
    }
    // broken: the clone is recreated rather than reset (its git dir was never vouched for).
    return { violations: [...new Set(violations)], broken: true, outputs, created };
  }

  /**
   * Back to exactly `commit`: tracked files, index, untracked and ignored files (the shared
   * links aside); a clone whose git state was changed is recreated instead.
   */
  async reset(commit: string, inspection: CloneInspection): Promise<void> {
    if (inspection.broken) {
      await this.recreate(commit);
      return;
    }
    // Nothing to undo and already there (a kept experiment that left no files): no git call.
    if (inspection.violations.length === 0 && inspection.outputs === 0 && this.head === commit) {
      linkShared(this.dir, this.shared); // a `git clean -X` may have removed a link (never what it points to)
      return;
    }
    await this.resetIndexed(commit);
    if (inspection.outputs > 0) {
      await this.git.run(["clean", "-ffdxq", ...this.shared.flatMap((e) => ["-e", `/${e.rel}`])]);
    }
    this.settle(commit);
  }

  /** Removes the clone (end of a session that cannot be resumed). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    this.bytecode.remove();
  }

  /** The source repository this clone borrows its objects from. */
  get sourceRepo(): Git {
    return this.source;
  }
}

/**
 * The guarded files (read-only scripts, dependency files) in `dir` compared by content with the
 * sha256 they had at setup (null: absent then): whatever git says, a changed byte is a violation.
 * A guarded file missing from the clone is left to git's status and the tree comparison (an
 * untracked dependency file of the user's checkout is never in a clone).
 */
function guardedByContent(dir: string, guarded: Record<string, string | null>): string[] {
  const out: string[] = [];
  for (const [file, hash] of Object.entries(guarded)) {
    let content: Buffer;
    try {
      content = readFileSync(join(dir, ...file.split("/")));
    } catch {
      continue;
    }
    if (hash === null) out.push(`created ${file}`);
    else if (createHash("sha256").update(content).digest("hex") !== hash) out.push(`modified ${file}`);
  }
  return out;
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function summarise(lines: string[]): string {
  return lines.length > 4 ? `${lines.slice(0, 4).join(", ")}, … ${lines.length - 4} more` : lines.join(", ");
}
