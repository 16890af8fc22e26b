import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";

/** Runs the CLI with its stdout read by nobody: the read end is closed before the CLI writes. */
function intoClosedPipe(cwd: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("output piped into a reader that stops early (`| head`)", () => {
  it.each([["init", "--help"], ["run", "--help"], ["sessions"], ["doctor", "--help"]])("`autoresearch %s` ends quietly, no EPIPE stack trace", async (...args) => {
    const root = fakeProject();
    const result = await intoClosedPipe(root, args);
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(result.code).toBe(0);
  });
});
