import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAsync, repoSnapshot } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, recordPath } from "../helpers/repo.js";

// `claude` on PATH is the stand-in built from Claude Code's recorded --help (tests/fixtures/agent-clis).
const FAKE_CLI = fileURLToPath(new URL("../fixtures/agent-clis/fake-cli.mjs", import.meta.url));
const ARGS = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes", "--tag", "agents"];
const EDIT = { FAKE_EDIT_FROM: "const WIDTH = 16;", FAKE_EDIT_TO: "const WIDTH = 32;" };

let bin: string;
beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), "agent-bin-"));
  writeFileSync(join(bin, "claude"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_CLI)} claude "$@"\n`, { mode: 0o755 });
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
const withClaude = (env: Record<string, string> = {}) => ({ PATH: `${bin}${delimiter}${process.env.PATH}`, ...EDIT, ...env });

describe.skipIf(process.platform === "win32")("autoresearch run --proposer agent --agent claude", () => {
  it("records the agent's version in session.json and its cost and tokens with the experiment", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "agent", "--agent", "claude", "--max-iterations", "1"], withClaude());
    expect(result.code, result.stderr).toBe(0);
    const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8"));
    expect(session.agent).toEqual({ command: "claude", version: "2.1.332 (Claude Code)" });
    const experiment = JSON.parse(readFileSync(recordPath(root, "experiments.jsonl"), "utf8").split("\n")[1] as string);
    expect(experiment.description).toBe("Double the learning rate");
    expect(experiment.costUsd).toBe(0.0421);
    expect(experiment.usage).toEqual({ inputTokens: 12012, outputTokens: 450 });
  });

  it("a missing login ends the session with exit 1 and the fix, after one attempt", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "agent", "--agent", "claude", "--max-iterations", "5"], withClaude({ FAKE_AGENT_MODE: "nologin" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/claude is not logged in or its API key was refused \(.*Not logged in/);
    expect(result.stderr).toContain("/login, or set ANTHROPIC_API_KEY");
    // Only the baseline ran; no attempt was retried.
    expect(readFileSync(recordPath(root, "experiments.jsonl"), "utf8").trim().split("\n")).toHaveLength(1);
    expect(existsSync(recordPath(root, "agent/agent-1.log"))).toBe(true);
  });

  it("a CLI that is not installed stops before anything changes (exit 1, how to install it)", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const before = repoSnapshot(root);
    const result = await cliAsync(root, [...ARGS, "--proposer", "agent", "--agent", "claude", "--max-iterations", "1"], { PATH: process.env.PATH as string });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the agent command "claude" was not found');
    expect(result.stderr).toContain("npm install -g @anthropic-ai/claude-code");
    expect(repoSnapshot(root)).toBe(before);
  });

  it("--proposer claude is --proposer agent --agent claude; with another --agent it is refused (exit 2)", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const result = await cliAsync(root, [...ARGS, "--proposer", "claude", "--max-iterations", "0"], withClaude());
    expect(result.code, result.stderr).toBe(0);
    const session = JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8"));
    expect([session.config.proposer, session.config.agent, session.agent.command]).toEqual(["agent", "claude", "claude"]);
    const other = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const before = repoSnapshot(other);
    const both = await cliAsync(other, [...ARGS, "--proposer", "claude", "--agent", "codex", "--max-iterations", "0"], withClaude());
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--proposer claude names a coding agent, but --agent is "codex"/);
    expect(repoSnapshot(other)).toBe(before);
  });

  it("a release older than the supported range stops before the baseline (exit 1, how to update), nothing changed", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const old = mkdtempSync(join(tmpdir(), "agent-old-"));
    writeFileSync(join(old, "claude"), "#!/bin/sh\necho '2.1.197 (Claude Code)'\n", { mode: 0o755 });
    const before = repoSnapshot(root);
    const result = await cliAsync(root, [...ARGS, "--proposer", "claude", "--max-iterations", "3"], { PATH: `${old}${delimiter}${process.env.PATH}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/claude 2\.1\.197 is older than 2\.1\.200, the oldest release autoresearch supports/);
    expect(result.stderr).toMatch(/fix: Update it \(npm install -g @anthropic-ai\/claude-code\)/);
    expect(result.stdout).not.toMatch(/Baseline — no modifications/); // no baseline ran (the config table names "Baseline runs")
    expect(repoSnapshot(root)).toBe(before);
    rmSync(old, { recursive: true, force: true });
  });

  it("an installed CLI that is not logged in stops before the baseline (exit 1, how to log in), nothing changed", async () => {
    const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
    const before = repoSnapshot(root);
    const noKeys = { ANTHROPIC_API_KEY: "", ANTHROPIC_AUTH_TOKEN: "", CLAUDE_CODE_OAUTH_TOKEN: "", CLAUDE_CODE_USE_BEDROCK: "", CLAUDE_CODE_USE_VERTEX: "" };
    const result = await cliAsync(root, [...ARGS, "--proposer", "claude", "--max-iterations", "3"], withClaude({ ...noKeys, FAKE_AGENT_LOGIN: "no" }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/claude is not logged in \(`claude auth status`: not logged in\); nothing was changed/);
    expect(result.stderr).toContain("/login, or set ANTHROPIC_API_KEY");
    expect(result.stdout).not.toMatch(/Baseline — no modifications/); // no baseline ran (the config table names "Baseline runs")
    expect(repoSnapshot(root)).toBe(before);
  });
});
