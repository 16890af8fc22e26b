import { readFileSync } from "node:fs";
import { commitFiles, type FileCommit } from "./commit.js";
import type { Git } from "./git.js";
import { finalizeRefPrefix, researchBranch } from "./branch-names.js";

/**
 * The orchestrator's side of a session in the user's repository: it alone creates the
 * experiment commits and moves `autoresearch/<tag>` and `refs/autoresearch/<tag>/*`, all without
 * touching the user's checkout (branch, index, files). Runs never see this repository's path
 * as a remote: their clone has none.
 */
export class ResearchRepo {
  private ident: Promise<string> | null = null;
  private headFile: string | null = null;
  /** Commits asked for in the same turn of the event loop (a wave's experiments starting together) are made by one git process. */
  private readonly commits = new Batch<FileCommit, string>((batch) => commitFiles(this.git, batch));

  constructor(
    readonly git: Git,
    readonly tag: string,
  ) {}

  get branch(): string {
    return researchBranch(this.tag);
  }

  get branchRef(): string {
    return `refs/heads/${this.branch}`;
  }

  experimentRef(id: number): string {
    return `refs/autoresearch/${this.tag}/${id}`;
  }

  /** Where an experiment's commit is kept while it is in flight (it has no number before its decision). */
  pendingRef(key: number): string {
    return `refs/autoresearch/${this.tag}/pending-${key}`;
  }

  /**
   * Removes the pending refs of a killed or cut-off orchestrator's experiments except `keep`'s
   * (runs that resume follows to their end): the others are committed again under the keys they
   * take when they run, so theirs would be left behind for good. One git process for them all.
   */
  async dropPendingRefs(keep: ReadonlySet<string>): Promise<void> {
    const stale = [...(await this.git.refs(`refs/autoresearch/${this.tag}/`)).keys()].filter((ref) => /\/pending-\d+$/.test(ref) && !keep.has(ref));
    if (stale.length > 0) await this.git.run(["update-ref", "--stdin"], { input: stale.map((ref) => `delete ${ref}\n`).join("") });
  }

  /**
   * The decision gave the experiment kept under `pendingRef(key)` its number: its commit moves to
   * refs/autoresearch/<tag>/<id> and, when `moveBranch` (it is the new head), the research branch
   * moves to it, all in one `update-ref --stdin` transaction: every ref changes or none does, and
   * an experiment costs one git process for its refs instead of two. The branch is never moved
   * under the user's feet: while their checkout has it checked out, only the number is filed and
   * the warning returned says so (the branch catches up at the next decision or on resume).
   */
  async numberExperiment(key: number, id: number, commit: string, moveBranch = false): Promise<string | null> {
    const warning = moveBranch && (await this.checkedOut()) ? this.checkedOutWarning(commit) : null;
    const branch = moveBranch && warning === null ? `update ${this.branchRef} ${commit}\n` : "";
    await this.git.run(["update-ref", "-m", "autoresearch", "--stdin"], { input: `update ${this.experimentRef(id)} ${commit}\n${branch}delete ${this.pendingRef(key)}\n` });
    return warning;
  }

  /** "Name <email>" of the committer, read once (the user's identity, else a fallback). */
  private identity(): Promise<string> {
    // The promise is kept, not its value: experiments starting together ask at once, and git is run once.
    if (this.ident === null) {
      const asked = this.git.committerIdent().then((line) => line.slice(0, line.lastIndexOf(">") + 1));
      // A failed read is not remembered: the next commit asks again.
      asked.catch(() => {
        if (this.ident === asked) this.ident = null;
      });
      this.ident = asked;
    }
    return this.ident;
  }

  /** Reads the committer's identity now, for the commits to come (a failure is asked again by the first commit). */
  prefetchIdentity(): void {
    this.identity().catch(() => {});
  }

  /** An experiment's commit: `parent` with `path` replaced by `text`, kept under `ref` (pendingRef until it is numbered). */
  async commitExperiment(ref: string, parent: string, path: string, mode: string, text: string, message: string, now: Date): Promise<string> {
    return this.commitAt(ref, parent, path, mode, text, message, now);
  }

  /**
   * Where `autoresearch finalize` keeps the commits of the code it measures (the best with changes
   * taken out): refs/autoresearch/<tag>/finalize/<name>, beside the experiments' refs (removed with
   * them by `clean`).
   */
  finalizeRef(name: string): string {
    return `${finalizeRefPrefix(this.tag)}${name}`;
  }

  /**
   * A commit of `parent` with `path` replaced by `text`, written as `ref` (created, or moved to it
   * whatever it held: finalize's own refs and branches only, never the research branch).
   */
  async commitAt(ref: string, parent: string, path: string, mode: string, text: string, message: string, now: Date): Promise<string> {
    if (ref === this.branchRef) throw new Error(`${ref} is the research branch: only moveBranch and numberExperiment move it`);
    const ident = `${await this.identity()} ${Math.floor(now.getTime() / 1000)} ${timezone(now)}`;
    return this.commits.add({ parent, path, mode, text, message, ref, ident });
  }

  /** Whether the user has the research branch checked out in their own checkout. */
  async checkedOut(): Promise<boolean> {
    // Read from the checkout's HEAD file (one git call per session, not per decision).
    this.headFile ??= await this.git.gitPath("HEAD");
    try {
      return readFileSync(this.headFile, "utf8").trim() === `ref: ${this.branchRef}`;
    } catch {
      return (await this.git.currentBranch()) === this.branch;
    }
  }

  /**
   * Moves the research branch to `sha`. It is never moved under the user's feet: while their
   * checkout has it checked out, it stays and a warning says so (the best commit is in the
   * records and the branch catches up at the next decision or on resume).
   */
  async moveBranch(sha: string): Promise<string | null> {
    if (await this.checkedOut()) return this.checkedOutWarning(sha);
    await this.git.updateRef(this.branchRef, sha);
    return null;
  }

  private checkedOutWarning(sha: string): string {
    return `${this.branch} is checked out in your checkout, so it was not moved to ${sha.slice(0, 7)}; switch to another branch (git switch -) and it catches up`;
  }

  async branchHead(): Promise<string | null> {
    return this.git.resolve(this.branchRef);
  }

  /** Creates the research branch at `sha` (it must not exist). */
  async createBranch(sha: string): Promise<void> {
    await this.git.updateRef(this.branchRef, sha, "");
  }

  async deleteBranch(): Promise<void> {
    await this.git.deleteRef(this.branchRef);
  }
}

/** "+0100" / "-0500" for a date, as git writes it. */
export function timezone(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
}

/**
 * Collects the items added in the same turn of the event loop and hands them to `run` together
 * (on the next turn); each caller gets its own result. When a batch fails, each of its items is
 * run alone, so one bad item fails only its own caller.
 */
class Batch<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly run: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.run(batch.map((p) => p.item)).then(
      (results) => {
        for (const [i, p] of batch.entries()) p.resolve(results[i] as R);
      },
      (error: unknown) => {
        if (batch.length === 1) (batch[0] as (typeof batch)[number]).reject(error);
        else for (const p of batch) this.run([p.item]).then((r) => p.resolve(r[0] as R), p.reject);
      },
    );
  }
}
