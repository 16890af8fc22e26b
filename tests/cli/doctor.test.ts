import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, cliAsync } from "../helpers/cli.js";
import { startFakeProvider } from "../helpers/fake-providers.js";
import { createRepo } from "../helpers/repo.js";

const SECRET = "sk-ant-test-DO-NOT-PRINT-4f9c2e";

function fakeBin(names: string[], script = "#!/bin/sh\nexit 0\n"): string {
  const dir = mkdtempSync(join(tmpdir(), "ar-bin-"));
  for (const name of names) {
    writeFileSync(join(dir, name), script);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

describe("autoresearch doctor", () => {
  it("reports every check for real, names API keys without their values, exits 0 with only optional things absent", () => {
    const root = createRepo({ "train.py": 'print("val_bpb: 1.0")\n', "prepare.py": "" });
    const bin = fakeBin(["claude"]);
    const env = { ANTHROPIC_API_KEY: SECRET, OPENAI_API_KEY: "", PATH: `${bin}${delimiter}${process.env.PATH}` };
    const result = cli(root, ["doctor"], env);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).not.toContain(SECRET);
    expect(out).toMatch(/^ok +ANTHROPIC_API_KEY +set$/m);
    // Not needed by this config (builtin proposer): absent and optional, not missing.
    expect(out).toMatch(/^absent +OPENAI_API_KEY +not set/m);
    expect(out).toMatch(/^ok +git +git \d/m);
    expect(out).toMatch(/^ok +repository +.*clean/m);
    expect(out).toMatch(/^ok +command +python3 train.py$/m);
    expect(out).toMatch(/^ok +python +python3 -> Python 3\./m);
    // train.py does not import torch: optional.
    expect(out).toMatch(/^(ok|absent) +torch /m);
    expect(out).toMatch(/^(ok|warn) +gpu /m);
    expect(out).toMatch(/^(ok|absent|warn) +nvidia-smi /m);
    expect(out).toMatch(new RegExp(`^ok +agent claude +${bin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/claude$`, "m"));
    expect(out).toMatch(/^absent +agent codex +not on PATH/m);
    expect(out).toMatch(/^ok +write access /m);
    // Every missing or absent line says how to fix it.
    const lines = out.split("\n");
    lines.forEach((line, i) => {
      if (/^(missing|absent) /.test(line)) expect(lines[i + 1], line).toMatch(/^\s+fix: /);
    });
    // Two groups: what a run needs, then what is optional; nothing optional is called missing.
    const [required, optional] = out.split(/^Optional.*$/m) as [string, string];
    expect(required).toMatch(/^Required/);
    for (const name of ["node", "git", "repository", "command", "python", "write access"]) expect(required).toMatch(new RegExp(`^ok +${name} `, "m"));
    for (const name of ["git identity", "torch", "gpu", "nvidia-smi", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "agent claude", "agent codex"]) expect(optional).toMatch(new RegExp(`^\\w+ +${name} `, "m"));
    expect(optional).not.toMatch(/^missing /m);
    expect(out).toMatch(/Required: \d+ ok, 0 missing\. Optional: \d+ ok, \d+ absent/);
  });

  it("--json gives the same checks, still without values", () => {
    const root = createRepo({ "train.js": 'console.log("val_bpb: 1")\n' });
    const result = cli(root, ["doctor", "--json", "--train", "train.js"], { OPENAI_API_KEY: SECRET });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain(SECRET);
    const report = JSON.parse(result.stdout);
    const byName = Object.fromEntries(report.checks.map((c: { name: string }) => [c.name, c]));
    expect(byName.OPENAI_API_KEY).toEqual({ name: "OPENAI_API_KEY", status: "ok", required: false, detail: "set" });
    expect(byName.git.required).toBe(true);
    expect(byName.command.detail).toBe("node train.js");
    expect(byName.python).toMatchObject({ status: "ok", detail: "`node train.js` runs no Python; torch is not needed" });
    expect(report.platform.kind).toBe("cpu");
  });

  it.skipIf(process.platform === "win32")("what the config's proposer and training script use is required: its API key, its agent CLI, torch", () => {
    const root = createRepo({ "train.py": "import torch\nprint('val_bpb: 1.0')\n" });
    writeFileSync(join(root, "llm.json"), JSON.stringify({ proposer: "anthropic" }));
    writeFileSync(join(root, "agent.json"), JSON.stringify({ proposer: "agent", agent: "codex" }));
    // A PATH with only git: no agent CLI can be found by chance on this machine.
    const bin = fakeBin([]);
    for (const tool of ["git"]) symlinkSync(execFileSync("which", [tool], { encoding: "utf8" }).trim(), join(bin, tool));
    const llm = JSON.parse(cli(root, ["doctor", "--json", "--config", "llm.json"], { ANTHROPIC_API_KEY: "" }).stdout);
    const llmBy = Object.fromEntries(llm.checks.map((c: { name: string }) => [c.name, c]));
    expect(llmBy.ANTHROPIC_API_KEY).toMatchObject({ status: "missing", required: true });
    expect(llmBy.OPENAI_API_KEY).toMatchObject({ status: "absent", required: false });
    // The script imports torch: without it the run fails, so torch is required.
    expect(llmBy.torch).toMatchObject({ required: true });
    expect(["ok", "missing"]).toContain(llmBy.torch.status);
    const agent = cli(root, ["doctor", "--config", "agent.json"], { ANTHROPIC_API_KEY: "", PATH: bin });
    // Something required is missing: a run would fail, and the exit status says so.
    expect(agent.code, agent.stderr).toBe(1);
    expect(agent.stdout).toMatch(/Required: \d+ ok, [1-9]\d* missing/);
    const [required, optional] = agent.stdout.split(/^Optional.*$/m) as [string, string];
    expect(required).toMatch(/^missing +agent codex +not on PATH, and the config's proposer uses it/m);
    expect(optional).toMatch(/^absent +agent claude /m);
    expect(optional).toMatch(/^absent +ANTHROPIC_API_KEY /m);
  });

  it("the config's LLM endpoint: answers and takes the key, or what run would stop on before its baseline", async () => {
    const provider = await startFakeProvider();
    const never = await startFakeProvider();
    await never.close();
    try {
      const root = createRepo({ "train.js": 'console.log("val_bpb: 1")\n' });
      const config = (baseUrl: string, model = "llama3") => JSON.stringify({ train: "train.js", proposer: "openai-compatible", model, baseUrl, apiKeyEnv: "GATEWAY_KEY" });
      writeFileSync(join(root, "good.json"), config(provider.baseUrl));
      writeFileSync(join(root, "dead.json"), config(never.baseUrl));
      writeFileSync(join(root, "typo.json"), config(provider.baseUrl, "lama3"));
      const env = { GATEWAY_KEY: SECRET };
      provider.models = { ids: ["llama3:latest"] };
      const good = await cliAsync(root, ["doctor", "--config", "good.json"], env);
      expect(good.code, good.stdout).toBe(0);
      expect(good.stdout).toMatch(new RegExp(`^ok +llm endpoint +the OpenAI-compatible server answers at ${provider.baseUrl}$`, "m"));
      expect(provider.listings[0]?.headers.authorization).toBe(`Bearer ${SECRET}`);
      const typo = await cliAsync(root, ["doctor", "--config", "typo.json"], env);
      expect(typo.stdout).toMatch(/^warn +llm endpoint +the OpenAI-compatible server at \S+ does not list the model "lama3" \(it lists llama3:latest\)/m);
      const dead = await cliAsync(root, ["doctor", "--config", "dead.json"], env);
      expect(dead.code).toBe(1);
      expect(dead.stdout).toMatch(/^missing +llm endpoint +the OpenAI-compatible server does not answer at \S+: connect ECONNREFUSED/m);
      expect(dead.stdout).toMatch(/fix: Check --base-url/);
      provider.models = { status: 401, message: `bad key ${SECRET}` };
      const refused = await cliAsync(root, ["doctor", "--config", "good.json"], env);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^missing +llm endpoint +the OpenAI-compatible server refused the key \(HTTP 401\): bad key \[redacted\]/m);
      expect(refused.stdout).toMatch(/fix: Check that GATEWAY_KEY holds a valid/);
      expect(refused.stdout + refused.stderr).not.toContain(SECRET);
      // No proposal was asked for: the model list only.
      expect(provider.requests).toHaveLength(0);
    } finally {
      await provider.close();
    }
  });

  it.skipIf(process.platform === "win32")("the config's agent CLI: its release against the supported range and its login, as run checks them", () => {
    const root = createRepo({ "train.py": "print('val_bpb: 1.0')\n" });
    writeFileSync(join(root, "agent.json"), JSON.stringify({ proposer: "agent", agent: "codex" }));
    const fake = new URL("../fixtures/agent-clis/fake-cli.mjs", import.meta.url).pathname;
    const bin = fakeBin(["codex"], `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(fake)} codex "$@"\n`);
    const env = { PATH: `${bin}${delimiter}${process.env.PATH}`, CODEX_API_KEY: "" };
    const good = cli(root, ["doctor", "--config", "agent.json"], env);
    expect(good.stdout).toMatch(/^ok +agent codex version +codex-cli 0\.171\.0 \(supported from 0\.120\.0, checked up to 0\.171\.0\)$/m);
    expect(good.stdout).toMatch(/^ok +agent codex login +Logged in using ChatGPT$/m);
    const loggedOut = cli(root, ["doctor", "--config", "agent.json"], { ...env, FAKE_AGENT_LOGIN: "no" });
    expect(loggedOut.code).toBe(1);
    expect(loggedOut.stdout).toMatch(/^missing +agent codex login +not logged in: `codex login status`: Not logged in$/m);
    expect(loggedOut.stdout).toMatch(/fix: Run `codex login`/);
    const old = fakeBin(["codex"], "#!/bin/sh\necho 'codex-cli 0.99.0'\n");
    const tooOld = cli(root, ["doctor", "--config", "agent.json"], { ...env, PATH: `${old}${delimiter}${process.env.PATH}` });
    expect(tooOld.code).toBe(1);
    expect(tooOld.stdout).toMatch(/^missing +agent codex version +codex 0\.99\.0 is older than 0\.120\.0, the oldest release autoresearch supports$/m);
    expect(tooOld.stdout).toMatch(/fix: Update it \(npm install -g @openai\/codex\), check `codex --version`\.$/m);
  });

  it("outside a git repo and with identity unset: says what will happen and how to fix it", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-norepo-"));
    const home = mkdtempSync(join(tmpdir(), "ar-home-"));
    const result = cli(dir, ["doctor"], { HOME: home, XDG_CONFIG_HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_AUTHOR_NAME: "", GIT_AUTHOR_EMAIL: "" });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^warn +git identity +not configured: the fallback identity autoresearch <autoresearch@localhost> will be used/m);
    expect(result.stdout).toMatch(/^missing +repository +.* is not a git repository/m);
  });

  it.skipIf(process.platform === "win32")("a Python that hangs is timed out and reported, not waited on", () => {
    const root = createRepo({ "train.py": "" });
    const bin = fakeBin(["python"], "#!/bin/sh\nsleep 30\n");
    const started = Date.now();
    const result = cli(root, ["doctor", "--command", `${bin}/python train.py`, "--probe-timeout", "1"]);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^missing +python +.*timed out after 1s and was killed/m);
  });

  it("a command whose program is not there is missing (exit 1), named with the fix; one that is there, or starts with a shell word, is ok", () => {
    const root = createRepo({ "train.py": 'print("val_bpb: 1.0")\n', "run.sh": "#!/bin/sh\npython3 train.py\n" });
    chmodSync(join(root, "run.sh"), 0o755);
    const absent = cli(root, ["doctor", "--command", "nosuchprog train.py"]);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toMatch(/^missing +command +nosuchprog train\.py: nosuchprog is not on PATH$/m);
    expect(absent.stdout).toMatch(/fix: Install it, or give the command that runs one experiment with --command/);
    expect(absent.stdout).toMatch(/Required: \d+ ok, 1 missing/);
    const noFile = cli(root, ["doctor", "--command", "./train.sh"]);
    expect(noFile.code).toBe(1);
    expect(noFile.stdout).toMatch(/^missing +command +\.\/train\.sh: \.\/train\.sh is not an executable file$/m);
    for (const command of ["./run.sh", "OMP_NUM_THREADS=1 python3 train.py", "cd . && python3 train.py"]) {
      expect(cli(root, ["doctor", "--command", command]).stdout).toMatch(new RegExp(`^ok +command +${command.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    }
  });

  it("a training script that is not there is missing (exit 1) with the fix, whatever the command", () => {
    // A repository whose script is train.js: without --train, doctor looks for train.py (it once said "ok command python3 train.py").
    const root = createRepo({ "train.js": 'console.log("val_bpb: 1")\n' });
    const absent = cli(root, ["doctor"]);
    expect(absent.code).toBe(1);
    expect(absent.stdout).toMatch(/^missing +train +train\.py is not in /m);
    expect(absent.stdout).toMatch(/fix: Pass the training script with --train <path>/);
    expect(cli(root, ["doctor", "--train", "nosuch.js", "--command", "node train.js"]).stdout).toMatch(/^missing +train +nosuch\.js is not in /m);
    const found = cli(root, ["doctor", "--train", "train.js"]);
    expect(found.stdout).toMatch(/^ok +train +train\.js$/m);
    expect(found.stdout).toMatch(/^ok +command +node train\.js$/m);
  });

  it("without a config file, checks what the repo's current session runs, not the defaults; flags still win", () => {
    // The session was started with flags only: doctor once said "missing train train.py" and derived python3 train.py.
    const root = createRepo({ "train.js": 'console.log("val_loss: 1.0")\n', "prepare.js": "" });
    const run = cli(root, ["run", "--train", "train.js", "--readonly", "prepare.js", "--command", "node train.js", "--budget", "1s", "--metric", "val_loss", "--direction", "min", "--keep-rule", "any", "--baseline-runs", "1", "--max-iterations", "0", "--tag", "nightly", "--yes"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const out = cli(root, ["doctor"]);
    expect(out.stdout).toMatch(/^ok +train +train\.js \(session nightly's\)$/m);
    expect(out.stdout).toMatch(/^ok +command +node train\.js \(session nightly's\)$/m);
    expect(out.code, out.stdout).toBe(0);
    const flagged = cli(root, ["doctor", "--train", "other.py"]);
    expect(flagged.stdout).toMatch(/^missing +train +other\.py is not in /m);
    expect(flagged.stdout).not.toContain("session nightly");
  }, 60_000);

  it("bad flags are exit 2", () => {
    const root = createRepo({ "train.py": "" });
    expect(cli(root, ["doctor", "--probe-timeout", "soon"]).code).toBe(2);
    expect(cli(root, ["doctor", "--bogus"]).code).toBe(2);
  });
});
