import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { guessRunCommand } from "../../src/cli/early-start.js";

describe("guessRunCommand (the command run's early probe is started for)", () => {
  const empty = mkdtempSync(join(tmpdir(), "ar-early-"));
  const withConfig = mkdtempSync(join(tmpdir(), "ar-early-"));
  writeFileSync(join(withConfig, "autoresearch.config.json"), JSON.stringify({ command: "uv run train.py" }));

  it("reads --command in both spellings", () => {
    expect(guessRunCommand(["run", "--budget", "5m", "--command", "python3 train.py"], empty)).toBe("python3 train.py");
    expect(guessRunCommand(["run", "--command=uv run train.py", "--yes"], empty)).toBe("uv run train.py");
  });

  it("the flag wins over the repository's config file, which is read otherwise", () => {
    expect(guessRunCommand(["run", "--command", "python3 x.py"], withConfig)).toBe("python3 x.py");
    expect(guessRunCommand(["run", "--yes"], withConfig)).toBe("uv run train.py");
    expect(guessRunCommand(["run", "--yes"], empty)).toBeNull();
  });

  it("guesses nothing for another command, for help, or when --config names another file", () => {
    expect(guessRunCommand(["init", "--command", "python3 train.py"], empty)).toBeNull();
    expect(guessRunCommand(["run", "--command", "python3 train.py", "--help"], empty)).toBeNull();
    expect(guessRunCommand(["run", "-h"], withConfig)).toBeNull();
    expect(guessRunCommand(["run", "--config", "other.json"], withConfig)).toBeNull();
    expect(guessRunCommand(["run", "--", "--command", "x"], empty)).toBeNull();
    expect(guessRunCommand([], withConfig)).toBeNull();
  });

  it("a config file that is not JSON, or whose command is not text, gives no guess", () => {
    const broken = mkdtempSync(join(tmpdir(), "ar-early-"));
    writeFileSync(join(broken, "autoresearch.config.json"), "{ not json");
    expect(guessRunCommand(["run"], broken)).toBeNull();
    writeFileSync(join(broken, "autoresearch.config.json"), JSON.stringify({ command: 3 }));
    expect(guessRunCommand(["run"], broken)).toBeNull();
  });
});
