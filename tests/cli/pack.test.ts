import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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

  /** The package unpacked in `dir`/package, with this repo's node_modules; its bin. */
  const unpacked = (): string => {
    if (!existsSync(join(dir, "package"))) {
      execFileSync("tar", ["xzf", join(dir, packed[0]?.filename ?? ""), "-C", dir]);
      symlinkSync(join(ROOT, "node_modules"), join(dir, "package", "node_modules"));
    }
    return join(dir, "package", "bin", "autoresearch.js");
  };

  it("runs from the unpacked package", () => {
    const bin = unpacked();
    const version = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = spawnSync(process.execPath, [bin, "demo", "--help"], { encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: autoresearch demo/);
  });

  // The CLI runs from its bundle (dist/cli-bundle, one level deeper than tsc's dist/cli): the
  // package's own files are found from there too (src/package-root.ts), here from another place
  // than this checkout.
  it("finds the package's own files from the unpacked package: its version, the example, the schema, the renderer", () => {
    const bin = unpacked();
    const version = spawnSync(process.execPath, [bin, "--version"], { encoding: "utf8" });
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version);
    // demo copies examples/tinylm and renders the chart to PNG (@resvg/resvg-js, through createRequire).
    const demo = join(dir, "demo");
    const ran = spawnSync(process.execPath, [bin, "demo", "--dir", demo, "--iterations", "0", "--budget", "3s", "--json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(ran.status, ran.stderr).toBe(0);
    expect(existsSync(join(demo, "train.js"))).toBe(true);
    expect(readFileSync(join(demo, "progress.png")).subarray(1, 4).toString()).toBe("PNG");
    // init in a repository that holds the package (as the examples in a checkout do) points `$schema` at the package's copy.
    for (const [name, text] of Object.entries({ "train.py": 'print("val_loss: 1.0")\n', "prepare.py": "# read-only\n" })) writeFileSync(join(dir, name), text);
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: dir });
    git("init", "-q", "-b", "main");
    git("add", "train.py", "prepare.py");
    git("commit", "-qm", "init");
    const init = spawnSync(process.execPath, [bin, "init", "--budget", "5m", "--metric", "val_loss", "--direction", "min", "--yes"], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
    expect(init.status, init.stderr).toBe(0);
    const written = JSON.parse(readFileSync(join(dir, "autoresearch.config.json"), "utf8")) as { $schema?: string };
    expect(written.$schema).toBe("./package/schema/autoresearch.config.schema.json");
  });
});
