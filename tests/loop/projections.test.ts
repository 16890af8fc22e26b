import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

// The renderer, counted: what matters here is how often the session asks for a PNG.
const renders = vi.hoisted(() => ({ count: 0 }));
vi.mock("../../src/report/png.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/report/png.js")>();
  return {
    ...real,
    renderPngAsync: async (...args: Parameters<typeof real.renderPngAsync>) => {
      renders.count++;
      return real.renderPngAsync(...args);
    },
  };
});

const { reportHooks } = await import("../../src/cli/report-hooks.js");
const { research } = await import("../../src/loop/research.js");
const { BuiltinProposer } = await import("../../src/proposers/builtin/index.js");
const { fakeProject } = await import("../helpers/repo.js");
const { testConfig, testDeps } = await import("./deps.js");
const { cpuPlatform } = await import("../helpers/platforms.js");

describe("the summary and chart projected while a session runs", () => {
  it("a session shorter than a minute renders progress.png once, when it ends; the summary and SVG follow every decision", async () => {
    const root = fakeProject();
    const deps = { ...testDeps(root, new BuiltinProposer({ seed: 1 }), []), ...reportHooks() };
    const outcome = await research(root, { kind: "new", config: testConfig({ proposer: "builtin", maxIterations: 3 }), platform: cpuPlatform("test cpu") }, deps);
    expect(outcome.reason).toMatch(/max iterations/);
    // Projected after the baseline and each decision (coalesced), rendered once: by the last write.
    expect(renders.count).toBe(1);
    expect(readFileSync(join(root, "progress.png")).subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(readFileSync(join(root, "autoresearch-summary.md"), "utf8")).toContain("progress.png");
    expect(readFileSync(join(root, "progress.svg"), "utf8")).toContain("<svg");
  });
});
