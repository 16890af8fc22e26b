import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RuntimeFailure } from "../../src/errors.js";
import { AGENT_PRESETS, createAgentProposer } from "../../src/proposers/agent/index.js";
import { presetLogin, requireLogin } from "../../src/proposers/agent/login.js";

// The stand-ins answer the real CLIs' status commands (`claude auth status`, `codex login status`,
// `opencode auth list`); gemini and aider are judged by the variables and files they read.
const FAKE_CLI = fileURLToPath(new URL("../fixtures/agent-clis/fake-cli.mjs", import.meta.url));

let bin: string;
let home: string;
beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), "agent-login-bin-"));
  for (const preset of AGENT_PRESETS) {
    writeFileSync(join(bin, preset), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(FAKE_CLI)} ${preset} "$@"\n`, { mode: 0o755 });
  }
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "agent-login-home-"));
  return () => rmSync(home, { recursive: true, force: true });
});

/** An environment with no credential of any CLI: only PATH and HOME. */
const bare = (extra: Record<string, string> = {}) => ({ PATH: `${bin}${delimiter}${process.env.PATH}`, HOME: home, ...extra });

describe.skipIf(process.platform === "win32")("agent login checks before the baseline", () => {
  it("claude: `claude auth status` decides; an API key in the environment counts", async () => {
    expect((await presetLogin("claude", { cwd: home, env: bare() })).state).toBe("ok");
    expect(await presetLogin("claude", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no" }) })).toEqual({ state: "missing", detail: "`claude auth status`: not logged in" });
    expect(await presetLogin("claude", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no", ANTHROPIC_API_KEY: "sk-test" }) })).toEqual({ state: "ok", detail: "ANTHROPIC_API_KEY is set" });
  });

  it("claude: an answer without a login state is unknown, not a refusal", async () => {
    const odd = mkdtempSync(join(tmpdir(), "agent-login-odd-"));
    writeFileSync(join(odd, "claude"), "#!/bin/sh\necho 'error: unknown command auth' >&2\nexit 1\n", { mode: 0o755 });
    const check = await presetLogin("claude", { cwd: home, env: { PATH: `${odd}${delimiter}${process.env.PATH}`, HOME: home } });
    expect(check.state).toBe("unknown");
    expect(check.detail).toContain("unknown command auth");
    rmSync(odd, { recursive: true, force: true });
  });

  it("codex: `codex login status`; CODEX_API_KEY counts", async () => {
    expect(await presetLogin("codex", { cwd: home, env: bare() })).toEqual({ state: "ok", detail: "Logged in using ChatGPT" });
    expect((await presetLogin("codex", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no" }) })).state).toBe("missing");
    expect((await presetLogin("codex", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no", CODEX_API_KEY: "k" }) })).state).toBe("ok");
  });

  it("opencode: `opencode auth list` with no credential is no login", async () => {
    expect((await presetLogin("opencode", { cwd: home, env: bare() })).state).toBe("ok");
    expect(await presetLogin("opencode", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no" }) })).toEqual({ state: "missing", detail: "`opencode auth list`: 0 credentials, no provider variable set" });
  });

  it("gemini: a key variable or an auth type in ~/.gemini/settings.json (current and older layouts)", async () => {
    expect((await presetLogin("gemini", { cwd: home, env: bare() })).state).toBe("missing");
    expect((await presetLogin("gemini", { cwd: home, env: bare({ GEMINI_API_KEY: "k" }) })).state).toBe("ok");
    mkdirSync(join(home, ".gemini"));
    writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ security: { auth: { selectedType: "oauth-personal" } } }));
    expect((await presetLogin("gemini", { cwd: home, env: bare() })).state).toBe("ok");
    writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ selectedAuthType: "gemini-api-key" }));
    expect((await presetLogin("gemini", { cwd: home, env: bare() })).state).toBe("ok");
    writeFileSync(join(home, ".gemini", "settings.json"), JSON.stringify({ theme: "Default" }));
    expect((await presetLogin("gemini", { cwd: home, env: bare() })).state).toBe("missing");
  });

  it("aider: a provider key variable, a .env or .aider.conf.yml", async () => {
    const repo = mkdtempSync(join(tmpdir(), "agent-login-repo-"));
    expect((await presetLogin("aider", { cwd: repo, env: bare() })).state).toBe("missing");
    expect((await presetLogin("aider", { cwd: repo, env: bare({ OPENAI_API_KEY: "k" }) })).state).toBe("ok");
    writeFileSync(join(repo, ".env"), "ANTHROPIC_API_KEY=k\n");
    expect((await presetLogin("aider", { cwd: repo, env: bare() })).state).toBe("ok");
    rmSync(repo, { recursive: true, force: true });
  });

  it("requireLogin refuses with how to log in; the proposer's check runs it after the version", async () => {
    const error = await requireLogin("codex", { cwd: home, env: bare({ FAKE_AGENT_LOGIN: "no" }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as RuntimeFailure).message).toBe("codex is not logged in (`codex login status`: Not logged in); nothing was changed");
    expect((error as RuntimeFailure).hint).toBe("Run `codex login` (or `codex login --with-api-key` with an OpenAI key on stdin), then run again.");
    const proposer = createAgentProposer({ preset: "gemini", cwd: home, trainPath: "train.py", protectedPaths: [], env: bare() });
    await expect(proposer.check?.()).rejects.toThrow(/gemini is not logged in \(none of GEMINI_API_KEY/);
    const ok = createAgentProposer({ preset: "gemini", cwd: home, trainPath: "train.py", protectedPaths: [], env: bare({ GEMINI_API_KEY: "k" }) });
    await expect(ok.check?.()).resolves.toEqual({ agent: { command: "gemini", version: "0.61.0" } });
  });
});
