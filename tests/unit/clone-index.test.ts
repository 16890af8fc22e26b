import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Git } from "../../src/workspace/git.js";
import { WorkerClone } from "../../src/workspace/clone.js";
import { createRepo, git } from "../helpers/repo.js";

/**
 * The clone's index is listed (`git ls-files -v`, for files marked assume-unchanged or
 * skip-worktree) only when it is not byte for byte one known to mark nothing: one process start
 * less per experiment, and a mark set by a run, or by anything between runs, is still found.
 */
describe("WorkerClone: files hidden from git, found without listing an index known clean", () => {
  async function setup() {
    const root = createRepo({ "train.js": "console.log(1);\n", "prepare.js": "// read-only\n" });
    const first = git(root, "rev-parse", "HEAD");
    writeFileSync(join(root, "train.js"), "console.log(2);\n");
    git(root, "commit", "--quiet", "-am", "two");
    const second = git(root, "rev-parse", "HEAD");
    const clone = new WorkerClone(join(root, ".git", "autoresearch", "t", "w0"), new Git(root), join(root, ".git", "objects"), []);
    await clone.recreate(first);
    // Every git command the clone runs, by its subcommand.
    const calls: string[] = [];
    const run = clone.git.run.bind(clone.git);
    vi.spyOn(clone.git, "run").mockImplementation((args, options) => {
      calls.push(args[0] as string);
      return run(args, options);
    });
    return { root, clone, first, second, calls };
  }
  const hide = (clone: WorkerClone, flag: string) => git(clone.dir, "update-index", flag, "prepare.js");

  it("runs that leave the index alone cost no listing, across moves; a run that hides a file is named", async () => {
    const { clone, first, second, calls } = await setup();
    const clean = await clone.inspect({});
    expect(clean.violations).toEqual([]);
    expect(calls).toEqual(["status"]);
    await clone.reset(first, clean);
    await clone.moveTo(second);
    calls.length = 0;
    expect((await clone.inspect({})).violations).toEqual([]);
    expect(calls).toEqual(["status"]);

    // A run marks prepare.js: the index differs, so it is listed and the mark named.
    hide(clone, "--assume-unchanged");
    calls.length = 0;
    const hidden = await clone.inspect({});
    expect(calls).toEqual(["status", "ls-files"]);
    expect(hidden.violations).toEqual(["hid changes to prepare.js from git (assume-unchanged or skip-worktree)"]);
    expect(hidden.broken).toBe(true);
  });

  it("a mark set between runs (a reset keeps it) is still found after the next run", async () => {
    const { clone, first, second, calls } = await setup();
    await clone.reset(first, await clone.inspect({}));
    // Something other than a run (a coding agent in the clone) marks a file; the move to the next commit keeps the mark.
    hide(clone, "--skip-worktree");
    await clone.moveTo(second);
    calls.length = 0;
    const found = await clone.inspect({});
    expect(calls).toEqual(["status", "ls-files"]);
    expect(found.violations).toEqual(["hid changes to prepare.js from git (assume-unchanged or skip-worktree)"]);
    // Recreated: the new clone's index marks nothing, and is not listed again.
    await clone.reset(second, found);
    calls.length = 0;
    expect((await clone.inspect({})).violations).toEqual([]);
    expect(calls).toEqual(["status"]);
  });
});
