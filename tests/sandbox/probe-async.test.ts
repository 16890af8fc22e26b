import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { probeBwrap, probeBwrapAsync } from "../../src/sandbox/probe.js";

/** A stand-in bwrap that counts its starts in `<dir>/count` and answers as told. */
function fakeBwrap(body: string): { path: string; starts: () => number } {
  const dir = mkdtempSync(join(tmpdir(), "ar-fake-bwrap-"));
  const path = join(dir, "bwrap");
  writeFileSync(path, `#!/bin/sh\necho x >> "${dir}/count"\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, starts: () => readFileSync(join(dir, "count"), "utf8").split("\n").filter(Boolean).length };
}

// `run` starts the sandbox probe beside the platform probe: the sync probe the config table
// asks afterwards must find that answer (the same verdict), not start a sandbox of its own.
describe.runIf(process.platform !== "win32")("probeBwrapAsync", () => {
  it("fills the cache the sync probe reads: a refusing bwrap's first stderr line, one start", async () => {
    const fake = fakeBwrap(`echo "bwrap: setting up uid map: Permission denied" >&2\necho second >&2\nexit 1`);
    await probeBwrapAsync("linux", fake.path);
    expect(probeBwrap(fake.path)).toEqual({ ok: false, why: "bwrap: setting up uid map: Permission denied" });
    expect(fake.starts()).toBe(1);
  });

  it("a bwrap that starts is ok", async () => {
    const fake = fakeBwrap("exit 0");
    await probeBwrapAsync("linux", fake.path);
    expect(probeBwrap(fake.path)).toEqual({ ok: true, why: "" });
    expect(fake.starts()).toBe(1);
  });

  it("a missing bwrap reads as not installed, as the sync probe says it", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "ar-no-bwrap-")), "bwrap");
    await probeBwrapAsync("linux", missing);
    const cached = probeBwrap(missing);
    expect(cached).toEqual({ ok: false, why: "bwrap is not installed" });
  });

  it("probes nothing off Linux", async () => {
    const fake = fakeBwrap("exit 0");
    await probeBwrapAsync("darwin", fake.path);
    expect(() => fake.starts()).toThrow();
  });
});
