import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { AGENT_PRESETS, type AgentPreset, type AgentProposal, createAgentProposer, PRESET_INFO, presetCommand, presetEnv, readUsage } from "../../src/proposers/agent/index.js";
import { FailureWatch } from "../../src/proposers/agent/failures.js";
import { makeContext, PREPARE_TEXT, TRAIN_TEXT } from "../helpers/fake-providers.js";

// Stand-ins for the real CLIs: flags parsed from each release's recorded --help, unknown flags
// rejected with the real message and exit code (see the fixture's header).
const FAKE_CLI = fileURLToPath(new URL("../fixtures/agent-clis/fake-cli.mjs", import.meta.url));
const HELP_DIR = fileURLToPath(new URL("../fixtures/agent-clis/help", import.meta.url));
const RELEASES = readdirSync(HELP_DIR).map((f) => f.replace(/\.txt$/, ""));

let bin: string;
let repo: string;

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), "agent-clis-"));
  for (const preset of AGENT_PRESETS) {
    writeFileSync(join(bin, preset), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_CLI)} ${preset} "$@"\n`, { mode: 0o755 });
  }
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8" });
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "agent-preset-repo-"));
  git("init", "-q", "-b", "autoresearch/test");
  writeFileSync(join(repo, "train.py"), TRAIN_TEXT);
  writeFileSync(join(repo, "prepare.py"), PREPARE_TEXT);
  writeFileSync(join(repo, "README.md"), "# Tiny project\n");
  git("add", "-A");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init");
  mkdirSync(join(repo, ".autoresearch"));
});
afterEach(() => rmSync(repo, { recursive: true, force: true }));

function presetProposer(preset: AgentPreset, env: Record<string, string> = {}, timeoutSec = 30) {
  return createAgentProposer({
    preset,
    cwd: repo,
    trainPath: "train.py",
    protectedPaths: [".autoresearch", "results.tsv"],
    timeoutSec,
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, ...env },
  });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the proposal to fail");
}

// What each fake prints (recorded shapes), read back as usage.
const EXPECTED: Record<AgentPreset, { usage: { inputTokens: number; outputTokens: number }; costUsd?: number; turns?: number }> = {
  claude: { usage: { inputTokens: 12 + 3000 + 9000, outputTokens: 450 }, costUsd: 0.0421, turns: 4 },
  codex: { usage: { inputTokens: 24000, outputTokens: 900 }, turns: 1 },
  gemini: { usage: { inputTokens: 10800, outputTokens: 520 }, turns: 3 },
  opencode: { usage: { inputTokens: 5000 + 1000 + 6000 + 5000, outputTokens: 250 + 150 }, costUsd: 0.0123, turns: 2 },
  aider: { usage: { inputTokens: 2300 + 12000, outputTokens: 245 }, costUsd: 0.05, turns: 2 },
};

describe.skipIf(process.platform === "win32")("each preset against its CLI's recorded flags", () => {
  it("the stand-ins reject unknown flags the way the real CLIs do", () => {
    const run = (cli: string, ...args: string[]) => spawnSync(process.execPath, [FAKE_CLI, cli, ...args], { encoding: "utf8", input: "" });
    const codex = run("codex", "exec", "--full-auto", "-");
    expect(codex.status).toBe(2);
    expect(codex.stderr).toContain("error: unexpected argument '--full-auto' found");
    const claude = run("claude", "-p", "--frobnicate");
    expect([claude.status, claude.stderr.trim()]).toEqual([1, "error: unknown option '--frobnicate'"]);
    const gemini = run("gemini", "--approval-mode", "sometimes", "-p", "x");
    expect(gemini.status).toBe(1);
    expect(gemini.stderr).toMatch(/^Invalid values:\n {2}Argument: approval-mode, Given: "sometimes"/);
    const aider = run("aider", "--analytics-off", "train.py");
    expect(aider.status).toBe(2);
    expect(aider.stderr).toContain("aider: error: unrecognized arguments: --analytics-off");
    const opencode = run("opencode", "run", "--yolo", "hi");
    expect(opencode.status).toBe(1);
    expect(opencode.stderr).toMatch(/^opencode run \[message\.\.\]/);
  });

  for (const release of RELEASES) {
    const [cli, version] = release.split(/-(?=\d)/) as [AgentPreset, string];
    it(`${cli} ${version}: the preset's command line is accepted, only the training script changes, usage is read`, async () => {
      const p = (await presetProposer(cli, { FAKE_CLI_VERSION: version }).propose(makeContext())) as AgentProposal;
      expect(p.newText).toContain("LR = 0.02");
      // No shell ran (claude's acceptEdits, gemini's --yolo and opencode's defaults would allow one),
      // and aider did not pull prepare.py into its chat.
      expect(p.violations).toEqual([]);
      expect(existsSync(join(repo, "shell-was-here.txt"))).toBe(false);
      expect(readFileSync(join(repo, "prepare.py"), "utf8")).toBe(PREPARE_TEXT);
      expect(p.usage).toEqual(EXPECTED[cli].usage);
      expect(p.costUsd).toBe(EXPECTED[cli].costUsd);
      expect(p.turns).toBe(EXPECTED[cli].turns);
      if (cli !== "aider") expect(p.description).toBe("Double the learning rate");
    });
  }

  it("records each preset's version from `<cli> --version`", async () => {
    const seen: Record<string, string | null> = {};
    // aider and gemini have no status command: they read a key from the environment, which the
    // login check looks for (the other fake CLIs answer their status commands as logged in).
    const keys = { OPENAI_API_KEY: "sk-test-not-a-key", GEMINI_API_KEY: "test-not-a-key" };
    for (const preset of AGENT_PRESETS) seen[preset] = (await presetProposer(preset, keys).check?.())?.agent?.version ?? null;
    expect(seen).toEqual({ claude: "2.1.332 (Claude Code)", codex: "codex-cli 0.171.0", aider: "aider 0.86.2", gemini: "0.61.0", opencode: "1.18.33" });
  });

  it("a CLI that is not installed fails the start-up check with how to install it", async () => {
    const p = createAgentProposer({ preset: "codex", cwd: repo, trainPath: "train.py", protectedPaths: [], env: { ...process.env, PATH: "/nonexistent" } });
    const error = await failure(p.check?.() ?? Promise.resolve());
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error.message).toMatch(/the agent command "codex" was not found/);
    expect((error as RuntimeFailure).hint).toContain("npm install -g @openai/codex");
  });

  it("a custom command that is not installed ends the session instead of failing every iteration", async () => {
    const p = createAgentProposer({ command: "no-such-agent-cli-xyz --go", cwd: repo, trainPath: "train.py", protectedPaths: [".autoresearch"] });
    const error = await failure(p.propose(makeContext()));
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error.message).toMatch(/"no-such-agent-cli-xyz" was not found/);
    expect((await p.check?.())?.agent).toEqual({ command: "no-such-agent-cli-xyz --go", version: null });
  });

  for (const preset of AGENT_PRESETS) {
    it(`${preset}: a missing login ends the session at once with the fix`, async () => {
      // The agent timeout is far above what detection takes: a timeout would be a ProposalFailed.
      const error = await failure(presetProposer(preset, { FAKE_AGENT_MODE: "nologin" }, 60).propose(makeContext()));
      expect(error, error.message).toBeInstanceOf(RuntimeFailure);
      expect(error.message).toMatch(new RegExp(`^${preset} is not logged in or its API key was refused`));
      expect((error as RuntimeFailure).hint).toContain(PRESET_INFO[preset].login.slice(1));
      // Printed after "fix:": no second "To fix:".
      expect((error as RuntimeFailure).hint).not.toMatch(/to fix/i);
      expect(git("status", "--porcelain")).toBe("?? .autoresearch/\n");
    });

    it(`${preset}: an unreachable API ends the session at once (the CLI would retry for minutes or forever)`, async () => {
      const error = await failure(presetProposer(preset, { FAKE_AGENT_MODE: "offline" }, 60).propose(makeContext()));
      expect(error, error.message).toBeInstanceOf(RuntimeFailure);
      expect(error.message).toMatch(new RegExp(`^${preset} cannot reach its API`));
      expect((error as RuntimeFailure).hint).toMatch(/network/);
    });
  }

  it("opencode 1.14: an unreachable API is recognised in the older error-log format too", async () => {
    const error = await failure(presetProposer("opencode", { FAKE_AGENT_MODE: "offline", FAKE_CLI_VERSION: "1.14.34" }, 60).propose(makeContext()));
    expect(error, error.message).toBeInstanceOf(RuntimeFailure);
    expect(error.message).toMatch(/^opencode cannot reach its API \(AI_APICallError: FailedToOpenSocket\)/);
  });

  it("a custom gemini command without the trust variable stops on the untrusted-folder exit (55) with the fix", async () => {
    // The preset's own flags, but run as a custom command: no GEMINI_CLI_TRUST_WORKSPACE is added.
    const command = presetCommand("gemini", { trainPath: "train.py", promptFile: join(repo, "prompt.md"), proposalFile: join(repo, "p.json"), scratchDir: repo });
    const p = createAgentProposer({ command, cwd: repo, trainPath: "train.py", protectedPaths: [".autoresearch"], env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` } });
    const error = await failure(p.propose(makeContext()));
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error.message).toMatch(/^gemini refuses to run in an untrusted folder/);
    expect((error as RuntimeFailure).hint).toContain("GEMINI_CLI_TRUST_WORKSPACE=true");
  });
});

describe("preset environment", () => {
  it("gemini is trusted through its variable; opencode keeps the user's rules but denies the shell and the web", () => {
    expect(presetEnv("gemini", {})).toEqual({ GEMINI_CLI_TRUST_WORKSPACE: "true" });
    const env = presetEnv("opencode", { OPENCODE_PERMISSION: JSON.stringify({ edit: "allow", bash: "allow" }) });
    expect(JSON.parse(env.OPENCODE_PERMISSION as string)).toEqual({ edit: "allow", bash: "deny", webfetch: "deny", websearch: "deny" });
    expect(JSON.parse(presetEnv("opencode", { OPENCODE_PERMISSION: "not json" }).OPENCODE_PERMISSION as string)).toEqual({ bash: "deny", webfetch: "deny", websearch: "deny" });
    expect(presetEnv("claude", {})).toEqual({});
  });
});

describe("reading usage from agent output", () => {
  it("returns null when the output carries none", () => {
    for (const preset of AGENT_PRESETS) expect(readUsage(preset, "some text\n{not json\n")).toBeNull();
  });
  it("aider: sums every message's tokens, takes the session cost, reads 950 / 2.3k / 12k", () => {
    const out = "Tokens: 950 sent, 1.1k cache write, 2.0k cache hit, 12 received.\nTokens: 12k sent, 1.5k received. Cost: $0.03 message, $0.0421 session.\n";
    expect(readUsage("aider", out)).toEqual({ usage: { inputTokens: 12950, outputTokens: 1512 }, costUsd: 0.0421, turns: 2 });
  });
});

describe("recognising a failure from the real CLIs' output (lines recorded offline and against a local 401 server)", () => {
  const firstFatal = (preset: AgentPreset, lines: string[]) => {
    const watch = new FailureWatch(preset, preset);
    for (const line of lines) {
      const found = watch.line(line);
      if (found) return found;
    }
    return null;
  };
  it("tells a refused key, a lost connection and a transient retry apart", () => {
    const retry = (attempt: number, status: number | null) => JSON.stringify({ type: "system", subtype: "api_retry", attempt, max_retries: 10, retry_delay_ms: 595, error_status: status, error: status ? "authentication_failed" : "unknown" });
    // Claude Code 2.1.332 with a bad key: it would retry 10 times over minutes.
    expect(firstFatal("claude", [retry(1, 401)])).toEqual({ kind: "auth", evidence: "API retry 1: HTTP 401" });
    // Without a connection: two retries may be a blip, the third is not.
    expect(firstFatal("claude", [retry(1, null), retry(2, null)])).toBeNull();
    expect(firstFatal("claude", [retry(1, null), retry(2, null), retry(3, null)])?.kind).toBe("unreachable");
    expect(firstFatal("claude", [retry(1, 529), retry(2, 529), retry(3, 529)])).toBeNull();
    // Codex 0.171: reconnects are allowed, "waiting for network" is not (it waits forever).
    const reconnect = JSON.stringify({ type: "error", message: "Reconnecting... 2/5 (stream disconnected before completion: failed to lookup address information: Name does not resolve)" });
    const waiting = JSON.stringify({ type: "error", message: "Reconnecting... waiting for network (Connection failed: error sending request)" });
    expect(firstFatal("codex", [reconnect, reconnect])).toBeNull();
    expect(firstFatal("codex", [reconnect, waiting])).toEqual({ kind: "unreachable", evidence: "Reconnecting... waiting for network (Connection failed: error sending request)" });
    // Codex 0.120 gives up on its own.
    const failed = JSON.stringify({ type: "turn.failed", error: { message: "stream disconnected before completion: error sending request for url (https://api.openai.com/v1/responses)" } });
    expect(firstFatal("codex", [failed])?.kind).toBe("unreachable");
    // Gemini CLI 0.61 retrying: the second failed fetch.
    const attempt = (n: number) => `Attempt ${n} failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request`;
    expect(firstFatal("gemini", [attempt(1)])).toBeNull();
    expect(firstFatal("gemini", [attempt(1), "    at async Models.generateContent (file:///x.js:1:1)", attempt(2)])?.kind).toBe("unreachable");
    // An agent's own words about keys are not evidence.
    expect(firstFatal("aider", ["I set the learning rate from the key hyperparameters; no API changes."])).toBeNull();
  });
});
