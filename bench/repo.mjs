// The git repository every benchmark starts from: the given files, committed on `main`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new repo in a temp dir holding `files` (name -> text) in one commit. Returns its path. */
export function benchRepo(prefix, files) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const git = (...args) => execFileSync("git", args, { cwd: dir });
  git("init", "-q", "-b", "main");
  git("config", "user.name", "bench");
  git("config", "user.email", "bench@localhost");
  git("add", "-A");
  git("commit", "-qm", "init");
  return dir;
}

/** The records folder of the repo's current session (`<repo>/.git/autoresearch/<tag>/records`). */
export function recordsDir(root) {
  const tag = readFileSync(join(root, ".git", "autoresearch", "current"), "utf8").trim();
  return join(root, ".git", "autoresearch", tag, "records");
}

/** The current session's experiment records (experiments.jsonl), in order. */
export function sessionRecords(root) {
  return readFileSync(join(recordsDir(root), "experiments.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}
