import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commitFile } from "../../src/workspace/commit.js";
import { Git } from "../../src/workspace/git.js";
import { createRepo, git } from "../helpers/repo.js";

/** A repo whose own config plants a hooks path, a filter, signing and an fsmonitor, as a run could. */
function plantedRepo(): { root: string; flag: string } {
  const root = createRepo({ "train.py": "LR = 1\n", ".gitattributes": "*.py filter=evil\n" });
  const flag = join(mkdtempSync(join(tmpdir(), "ar-flag-")), "ran");
  git(root, "config", "filter.evil.clean", `touch ${flag}; cat`);
  git(root, "config", "filter.evil.smudge", `touch ${flag}; cat`);
  git(root, "config", "core.hooksPath", join(root, "hooks"));
  git(root, "config", "commit.gpgsign", "true");
  git(root, "config", "core.fsmonitor", `touch ${flag}`);
  return { root, flag };
}

describe("the tool's git runs with a configuration the runs cannot influence", () => {
  it("overrides hooks, signing and fsmonitor, and drops the variables that redirect git", async () => {
    const { root } = plantedRepo();
    const tool = new Git(root);
    expect(await tool.config("core.hooksPath")).toMatch(/^\/dev\/null$|^nul$/i);
    expect(await tool.config("commit.gpgsign")).toBe("false");
    expect(await tool.config("core.fsmonitor")).toBe("false");
    const elsewhere = createRepo({ "x.txt": "x\n" });
    process.env.GIT_DIR = join(elsewhere, ".git");
    try {
      expect(await tool.topLevel()).toBe(root);
    } finally {
      delete process.env.GIT_DIR;
    }
  });

  it("in the tool's own clone (isolated) not even the user's global config is read", async () => {
    const home = mkdtempSync(join(tmpdir(), "ar-home-"));
    writeFileSync(join(home, ".gitconfig"), "[alias]\n\tplanted = status\n[user]\n\tname = Global User\n");
    const root = createRepo({ "a.txt": "a\n" });
    const before = process.env.HOME;
    process.env.HOME = home;
    try {
      expect(await new Git(root).config("alias.planted")).toBe("status");
      expect(await new Git(root, true).config("alias.planted")).toBeNull();
    } finally {
      process.env.HOME = before;
    }
  });

  it("an experiment commit is made without running a planted filter, hook or signing, and without touching the checkout", async () => {
    const { root, flag } = plantedRepo();
    writeFileSync(join(root, "notes.txt"), "user's untracked file\n");
    writeFileSync(join(root, "train.py"), "LR = 1\n# user's uncommitted edit\n");
    const base = git(root, "rev-parse", "HEAD");
    const tool = new Git(root);
    const ident = await tool.committerIdent();
    const sha = await commitFile(tool, { parent: base, path: "train.py", mode: "100644", text: "LR = 2\n", message: "exp: LR 2", ref: "refs/autoresearch/t/1", ident });
    expect(git(root, "show", `${sha}:train.py`)).toBe("LR = 2");
    expect(git(root, "rev-parse", "refs/autoresearch/t/1")).toBe(sha);
    expect(git(root, "rev-parse", `${sha}^`)).toBe(base);
    // The checkout: same branch, same head, the user's edit and file as they were.
    expect(git(root, "rev-parse", "HEAD")).toBe(base);
    expect(readFileSync(join(root, "train.py"), "utf8")).toBe("LR = 1\n# user's uncommitted edit\n");
    expect(readFileSync(join(root, "notes.txt"), "utf8")).toBe("user's untracked file\n");
    expect(existsSync(flag)).toBe(false);
  });
});
