import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A real git repo in a temp dir with the given files committed on `main`. */
export function createRepo(files: Record<string, string>, options: { identity?: boolean } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "ar-repo-"));
  git(dir, "init", "--quiet", "--initial-branch=main");
  if (options.identity !== false) {
    git(dir, "config", "user.name", "Test User");
    git(dir, "config", "user.email", "test@example.com");
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  git(dir, "add", "-A");
  const env = options.identity === false ? identityEnv() : {};
  execFileSync("git", ["commit", "--quiet", "-m", "init"], { cwd: dir, env: { ...process.env, ...env } });
  return dir;
}

function identityEnv(): Record<string, string> {
  return { GIT_AUTHOR_NAME: "Init", GIT_AUTHOR_EMAIL: "init@example.com", GIT_COMMITTER_NAME: "Init", GIT_COMMITTER_EMAIL: "init@example.com" };
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

/**
 * A training script that "trains" in a few milliseconds: its metric is a smooth function of
 * its constants, best at LEARNING_RATE = 0.04 and WIDTH = 64, so changes have known effects.
 */
export const FAKE_TRAIN = `const LEARNING_RATE = 0.01;
const WIDTH = 16;
const DROPOUT = 0.1;

const loss = 1 + Math.log2(LEARNING_RATE / 0.04) ** 2 * 0.1 + Math.log2(WIDTH / 64) ** 2 * 0.05 + DROPOUT * 0.2;
console.log("step 1 loss " + (loss + 0.5).toFixed(4));
console.log("---");
console.log("val_loss: " + loss.toFixed(6));
console.log("num_params_M: 0.5");
`;

export const FAKE_PREPARE = `// read-only: data and evaluation
export const TIME_BUDGET = 300;
`;

export function fakeProject(extra: Record<string, string> = {}): string {
  return createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE, "README.md": "# fake project\n", ...extra });
}

/** A path in the current session's records (<repo>/.git/autoresearch/<tag>/records/<file>). */
export function recordPath(root: string, file = ""): string {
  let tag = "(no session yet)";
  try {
    tag = readFileSync(join(root, ".git", "autoresearch", "current"), "utf8").trim();
  } catch {}
  return join(root, ".git", "autoresearch", tag, "records", file);
}
