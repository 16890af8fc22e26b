import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Git } from "../../src/workspace/git.js";
import { createRepo } from "../helpers/repo.js";

const realGit = spawnSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();
const savedPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = savedPath;
});

/** A `git` first on PATH that notes each start, and kills itself with SIGINT on its first `times` starts. */
function sigintGit(times: number): string {
  const bin = mkdtempSync(join(tmpdir(), "ar-sigint-git-"));
  const log = join(bin, "starts");
  writeFileSync(log, "");
  writeFileSync(join(bin, "git"), `#!/bin/sh\necho start >> "${log}"\nif [ "$(wc -l < "${log}")" -le ${times} ]; then kill -INT $$; fi\nexec "${realGit}" "$@"\n`);
  chmodSync(join(bin, "git"), 0o755);
  process.env.PATH = `${bin}${delimiter}${savedPath ?? ""}`;
  return log;
}

// The terminal's Ctrl-C reaches a git child only in the instant between its fork and its own
// process group (the signal is delivered as it starts): it had done nothing, and runs again.
describe.skipIf(process.platform === "win32")("a git killed by SIGINT as it starts", () => {
  it("is run again once, and the call succeeds", async () => {
    const root = createRepo({ "x.txt": "x\n" });
    const log = sigintGit(1);
    const result = await new Git(root).raw(["rev-parse", "HEAD"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(2);
  });

  it("killed again, the call fails and says so (no endless retries)", async () => {
    const root = createRepo({ "x.txt": "x\n" });
    const log = sigintGit(5);
    const result = await new Git(root).raw(["rev-parse", "HEAD"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("killed by SIGINT");
    expect(readFileSync(log, "utf8").trim().split("\n")).toHaveLength(2);
  });
});
