import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "ar-pack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The package is installed from a clone (`npm install -g .`) or from `npm pack`'s tarball (README,
 * Install). Installing the tarball needs the registry for its dependencies, which CI does not
 * reach; what it can check: the tarball holds what the bin needs, and the bin runs from the
 * unpacked package with the dependencies it would have (this repo's node_modules).
 */
describe("the npm pack tarball", () => {
  // dist/ was built by tests/global-setup.ts; --ignore-scripts so packing does not build again.
  const packed = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0]?.files.map((f) => f.path) ?? [];

  it("holds the bin, the built code (the CLI's bundle, the library, the watchdog) with the dashboard page, the examples and the schema; no tests or sources", () => {
    for (const path of ["bin/autoresearch.js", "dist/cli-bundle/early-start.js", "dist/cli-bundle/main.js", "dist/runner/watchdog-main.js", "dist/cli/main.js", "dist/index.js", "dist/web/index.html", "dist/web/app.js", "examples/tinylm/train.js", "schema/autoresearch.config.schema.json", "package.json", "README.md"]) {
      expect(files, path).toContain(path);
    }
    expect(files.filter((f) => f.startsWith("src/") || f.startsWith("tests/") || f.startsWith("node_modules/"))).toEqual([]);
  });

  it("runs from the unpacked package", () => {
    execFileSync("tar", ["xzf", join(dir, packed[0]?.filename ?? ""), "-C", dir]);
    symlinkSync(join(ROOT, "node_modules"), join(dir, "package", "node_modules"));
    const bin = join(dir, "package", "bin", "autoresearch.js");
    const version = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = spawnSync(process.execPath, [bin, "demo", "--help"], { encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: autoresearch demo/);
  });
});
