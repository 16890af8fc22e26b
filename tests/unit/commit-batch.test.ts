import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitFiles } from "../../src/workspace/commit.js";
import { Git } from "../../src/workspace/git.js";
import { ResearchRepo } from "../../src/workspace/research-repo.js";
import { createRepo, git } from "../helpers/repo.js";

describe("experiment commits made together", () => {
  it("one fast-import writes several commits, each on its own parent under its own ref", async () => {
    const root = createRepo({ "train.py": "LR = 1\n" });
    const base = git(root, "rev-parse", "HEAD");
    const tool = new Git(root);
    const ident = await tool.committerIdent();
    const [a, b] = await commitFiles(tool, [
      { parent: base, path: "train.py", mode: "100644", text: "LR = 2\n", message: "exp: LR 2", ref: "refs/autoresearch/t/pending-1", ident },
      { parent: base, path: "train.py", mode: "100644", text: "LR = 3\n", message: "exp: LR 3", ref: "refs/autoresearch/t/pending-2", ident },
    ]);
    expect(git(root, "show", `${a}:train.py`)).toBe("LR = 2");
    expect(git(root, "show", `${b}:train.py`)).toBe("LR = 3");
    expect([git(root, "rev-parse", `${a}^`), git(root, "rev-parse", `${b}^`)]).toEqual([base, base]);
    expect([git(root, "rev-parse", "refs/autoresearch/t/pending-1"), git(root, "rev-parse", "refs/autoresearch/t/pending-2")]).toEqual([a, b]);
  });

  it("commits asked for in the same turn of the event loop are one git process; a bad one fails alone", async () => {
    const root = createRepo({ "train.py": "LR = 1\n" });
    const base = git(root, "rev-parse", "HEAD");
    const repo = new ResearchRepo(new Git(root), "t");
    await repo.commitExperiment("refs/autoresearch/t/pending-0", base, "train.py", "100644", "LR = 0\n", "exp: warm-up", new Date());
    const trace = join(mkdtempSync(join(tmpdir(), "ar-trace-")), "git.log");
    process.env.GIT_TRACE = trace;
    try {
      const made = await Promise.all([1, 2, 3, 4].map((i) => repo.commitExperiment(`refs/autoresearch/t/pending-${i}`, base, "train.py", "100644", `LR = ${i + 1}\n`, `exp: LR ${i + 1}`, new Date())));
      expect(made.map((sha) => git(root, "show", `${sha}:train.py`))).toEqual(["LR = 2", "LR = 3", "LR = 4", "LR = 5"]);
      expect(readFileSync(trace, "utf8").match(/built-in: git .*fast-import/g)).toHaveLength(1);
      // A commit on a parent that does not exist fails; the others of its turn are made all the same.
      const missing = "1".repeat(40);
      const settled = await Promise.allSettled([
        repo.commitExperiment("refs/autoresearch/t/pending-5", base, "train.py", "100644", "LR = 6\n", "exp: LR 6", new Date()),
        repo.commitExperiment("refs/autoresearch/t/pending-6", missing, "train.py", "100644", "LR = 7\n", "exp: LR 7", new Date()),
      ]);
      expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected"]);
    } finally {
      delete process.env.GIT_TRACE;
    }
  });
});
