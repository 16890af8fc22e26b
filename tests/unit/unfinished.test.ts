import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** Runs the built CLI's main() in a fresh node whose command's promise is made by `parse` (source of a function). */
function runMain(parse: string, args: string[]): { code: number | null; stderr: string; stdout: string } {
  const script = `
    import { Command } from "commander";
    import { main } from ${JSON.stringify(MAIN)};
    Command.prototype.parseAsync = ${parse};
    main(["node", "autoresearch", ...${JSON.stringify(args)}]).then((code) => { process.exitCode = code; });
  `;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 30_000, cwd: fileURLToPath(new URL("../..", import.meta.url)), env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe("the CLI never ends with exit 0 while its command is unfinished", () => {
  it("a command whose promise never settles (the event loop runs dry) exits 1 with a message", () => {
    const result = runMain("function () { return new Promise(() => {}); }", ["status"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the command stopped before its work was done/);
    expect(result.stderr).toMatch(/autoresearch resume/);
  });

  it("an await on a timer that does not keep the process alive is caught the same way", () => {
    const result = runMain("function () { return new Promise((r) => setTimeout(r, 200).unref()); }", ["status"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the command stopped before its work was done/);
  });

  it("a command that finishes, even after waiting on a timer that keeps the loop alive, still exits 0", () => {
    const result = runMain("function () { return new Promise((r) => setTimeout(r, 100)); }", ["status"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});
