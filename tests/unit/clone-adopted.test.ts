import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Git } from "../../src/workspace/git.js";
import { WorkerClone } from "../../src/workspace/clone.js";
import { createRepo, git } from "../helpers/repo.js";

/**
 * A clone a killed orchestrator left with a run still in it (a SLURM job resume follows): checked
 * by content against the commit, with no git command run in the clone (its git dir was never vouched for).
 */
describe("WorkerClone.inspectByContent", () => {
  async function setup() {
    const root = createRepo({ "train.js": "console.log(1);\n", "prepare.js": "// read-only\n", "lib/util.txt": "u\n" });
    symlinkSync("train.js", join(root, "link.js"));
    git(root, "add", "link.js");
    git(root, "commit", "-qm", "link");
    const head = git(root, "rev-parse", "HEAD");
    const source = new Git(root);
    const dir = join(root, ".git", "autoresearch", "t", "w0");
    await new WorkerClone(dir, source, join(root, ".git", "objects"), []).recreate(head);
    // What the new orchestrator has: a fresh object for a clone it did not make.
    return { root, head, dir, clone: new WorkerClone(dir, source, join(root, ".git", "objects"), []) };
  }

  it("a clean clone with outputs: no violation, the outputs counted, recreated afterwards", async () => {
    const { head, dir, clone } = await setup();
    writeFileSync(join(dir, "out.bin"), "x");
    mkdirSync(join(dir, "__pycache__"));
    writeFileSync(join(dir, "__pycache__", "prepare.cpython-311.pyc"), "x");
    const inspection = await clone.inspectByContent(head, { "prepare.js": "h", "requirements.txt": null });
    expect(inspection).toMatchObject({ violations: [], broken: true, outputs: 2 });
    expect(inspection.created.sort()).toEqual(["__pycache__/prepare.cpython-311.pyc", "out.bin"]);
    await clone.reset(head, inspection);
    expect(existsSync(join(dir, "out.bin"))).toBe(false);
    expect(execFileSync("git", ["-C", dir, "status", "--porcelain"], { encoding: "utf8" })).toBe("");
  });

  it("a modified, a deleted and a re-pointed tracked file, new code, a git control file and a guarded file that must not exist are violations", async () => {
    const { head, dir, clone } = await setup();
    writeFileSync(join(dir, "prepare.js"), "// changed\n");
    rmSync(join(dir, "lib", "util.txt"));
    rmSync(join(dir, "link.js"));
    symlinkSync("prepare.js", join(dir, "link.js"));
    writeFileSync(join(dir, "numpy.js"), "module.exports = {};\n");
    writeFileSync(join(dir, ".gitattributes"), "* filter=x\n");
    writeFileSync(join(dir, "requirements.txt"), "torch\n");
    const { violations } = await clone.inspectByContent(head, { "requirements.txt": null });
    expect(violations.sort()).toEqual(
      [
        "modified prepare.js",
        "deleted lib/util.txt",
        "modified link.js",
        "created numpy.js (new code in the tree can change what the read-only scripts import)",
        "created .gitattributes",
        "created requirements.txt",
      ].sort(),
    );
  });
});
