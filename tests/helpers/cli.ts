import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { git } from "./repo.js";

export const BIN = fileURLToPath(new URL("../../bin/autoresearch.js", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would, without a terminal. */
export function cli(cwd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", ...env },
    timeout: timeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === ".git") continue;
    const path = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    if (statSync(path).isDirectory()) out.push(...listFiles(path, rel));
    else out.push(`${rel}:${readFileSync(path).length}`);
  }
  return out;
}

/** Everything a refused command must leave as it was: files, refs, HEAD, index, git excludes. */
export function repoSnapshot(root: string): string {
  let exclude = "";
  try {
    exclude = readFileSync(join(root, ".git/info/exclude"), "utf8");
  } catch {}
  return JSON.stringify({
    files: listFiles(root),
    refs: git(root, "for-each-ref", "--format=%(refname) %(objectname)"),
    head: git(root, "symbolic-ref", "-q", "HEAD"),
    status: git(root, "status", "--porcelain", "--ignored"),
    exclude,
  });
}

/** Like cli(), but without blocking this process: needed when the test serves HTTP to the CLI. */
export function cliAsync(cwd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
