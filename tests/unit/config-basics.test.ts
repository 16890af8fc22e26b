import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../src/config/duration.js";
import { defaultCommand, parseScope, resolveConfig } from "../../src/config/resolve.js";
import { dateTag, isValidTag } from "../../src/config/tag.js";

describe("durations", () => {
  it.each([
    ["90s", 90],
    ["5m", 300],
    ["1h30m", 5400],
    ["2h", 7200],
    ["1.5m", 90],
    ["300", 300],
    [" 10 m ", 600],
    ["250ms", 0.25],
  ])("%s = %d s", (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  it.each(["abc", "-5m", "0", "0s", "", "5x", "m5", "1h-30m"])("%s is refused", (text) => expect(parseDuration(text)).toBeNull());

  it("formats back", () => {
    expect(formatDuration(300)).toBe("5m");
    expect(formatDuration(5400)).toBe("1h30m");
    expect(formatDuration(3)).toBe("3s");
  });
});

describe("defaults from the repo", () => {
  it("uses uv when the repo has uv.lock or pyproject.toml, else python3 / python on Windows, node for JS", () => {
    const plain = mkdtempSync(join(tmpdir(), "ar-cmd-"));
    expect(defaultCommand(plain, "train.py", "linux")).toBe("python3 train.py");
    expect(defaultCommand(plain, "train.py", "win32")).toBe("python train.py");
    expect(defaultCommand(plain, "train.js", "linux")).toBe("node train.js");
    expect(defaultCommand(plain, "my train.py", "linux")).toBe("python3 'my train.py'");
    expect(defaultCommand(plain, "it's $1.py", "linux")).toBe("python3 'it'\\''s $1.py'");
    expect(defaultCommand(plain, "my train.py", "win32")).toBe('python "my train.py"');
    const uv = mkdtempSync(join(tmpdir(), "ar-cmd-"));
    writeFileSync(join(uv, "uv.lock"), "");
    expect(defaultCommand(uv, "train.py", "linux")).toBe("uv run train.py");
    const pyproject = mkdtempSync(join(tmpdir(), "ar-cmd-"));
    writeFileSync(join(pyproject, "pyproject.toml"), "");
    expect(defaultCommand(pyproject, "train.py", "darwin")).toBe("uv run train.py");
  });

  it("tags default to the date, like the spec's mar8", () => {
    expect(dateTag(new Date(2026, 2, 8))).toBe("mar8");
    expect(dateTag(new Date(2026, 10, 26))).toBe("nov26");
    expect(isValidTag("exp-attention")).toBe(true);
    expect(isValidTag("bad tag")).toBe(false);
    expect(isValidTag("../x")).toBe(false);
    expect(isValidTag("a..b")).toBe(false);
  });

  it("resolves the spec's defaults and a 2x budget timeout", () => {
    const root = mkdtempSync(join(tmpdir(), "ar-cfg-"));
    const config = resolveConfig({ budget: "5m", metric: "val_bpb", direction: "min" }, { root, now: new Date(2026, 10, 26), platform: "linux" });
    expect(config).toMatchObject({
      train: "train.py",
      readonly: ["prepare.py"],
      budgetSec: 300,
      timeoutSec: 600,
      maxIterations: null,
      tag: "nov26",
      results: "results.tsv",
      command: "python3 train.py",
      proposer: "builtin",
    });
    expect(config.scope).toEqual(["architecture", "hyperparameters", "optimizer", "training"]);
  });

  it("scope lists: all, names, and unknown names refused", () => {
    expect(parseScope("all")).toHaveLength(4);
    expect(parseScope("optimizer,hyper")).toEqual(["optimizer", "hyperparameters"]);
    expect(() => parseScope("vibes")).toThrow(/unknown scope "vibes"/);
  });
});
