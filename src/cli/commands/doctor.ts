import { accessSync, constants, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { protectionText, resolveProtection, sandboxAvailability } from "../../sandbox/index.js";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import pc from "picocolors";
import { gatherInput } from "../../config/cli-options.js";
import { type ConfigInput, LLM_PROPOSERS } from "../../config/options.js";
import { defaultCommand } from "../../config/resolve.js";
import { CONFIG_FILE } from "../../file-names.js";
import { platformText } from "../../config/table.js";
import { AutoresearchError, UsageError } from "../../errors.js";
import { type AgentPreset, isAgentPreset, PRESET_INFO, presetLogin, presetVersion } from "../../proposers/agent/index.js";
import { type DetectedPlatform, detectPlatform, type Exec, execWithTimeout, parseNvidiaSmi, usesTorch } from "../../platform/index.js";
import { createLlmProposer } from "../../proposers/llm/index.js";
import { DEFAULT_BASE_URLS, keyEnvName, type LlmProvider, providerLabel } from "../../proposers/llm/provider.js";
import type { Check, CheckStatus } from "../../executors/descriptor.js";
import { findExecutor, runsOnThisMachine } from "../../executors/registry.js";
import { commandProgram, which } from "../../platform/which.js";
import { Git } from "../../workspace/git.js";
import { locateSession } from "../../ledger/paths.js";
import { readSessionReadOnly } from "../../ledger/read.js";
import { columnsOf, fitWidth } from "../../text.js";

// One line of the report; the executors' own checks (src/executors/<kind>/doctor.ts) make them too.
export type { Check, CheckStatus } from "../../executors/descriptor.js";
export { which } from "../../platform/which.js";

export const API_KEY_VARS = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"] as const;
export const AGENT_CLIS: Record<string, string> = {
  claude: "npm install -g @anthropic-ai/claude-code",
  codex: "npm install -g @openai/codex",
  aider: "python -m pip install aider-install && aider-install",
  gemini: "npm install -g @google/gemini-cli",
  opencode: "npm install -g opencode-ai",
};

export interface DoctorOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The experiment command when given (--command), else from the config file or the default. */
  command?: string;
  train?: string;
  configPath?: string;
  exec?: Exec;
  timeoutMs?: number;
  os?: NodeJS.Platform;
  /** Where runs happen (flags over the config file); with ssh, each host is checked. */
  executor?: string;
  hosts?: string;
  remoteDir?: string;
}

/** The key variable the config's LLM proposer will read, if it needs one. */
function requiredKeyVar(input: ConfigInput): string | undefined {
  const proposer = input.proposer;
  if (typeof proposer !== "string" || !LLM_PROPOSERS.includes(proposer)) return undefined;
  return keyEnvName(proposer as LlmProvider, typeof input.apiKeyEnv === "string" ? input.apiKeyEnv : undefined);
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

async function gitChecks(cwd: string, env: NodeJS.ProcessEnv): Promise<{ checks: Check[]; root: string }> {
  const checks: Check[] = [];
  const git = new Git(cwd);
  let version: string;
  try {
    version = await git.version();
  } catch {
    checks.push({ name: "git", status: "missing", required: true, detail: "git is not on PATH", fix: "Install git (https://git-scm.com/downloads) and make sure it is on PATH." });
    return { checks, root: cwd };
  }
  checks.push({ name: "git", status: "ok", required: true, detail: `git ${version}` });
  const name = (await git.config("user.name")) ?? "";
  const email = (await git.config("user.email")) ?? "";
  if ((name && email) || (env.GIT_AUTHOR_NAME && env.GIT_AUTHOR_EMAIL)) {
    checks.push({ name: "git identity", status: "ok", required: false, detail: name && email ? `${name} <${email}>` : "from GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL" });
  } else {
    checks.push({
      name: "git identity",
      status: "warn",
      required: false,
      detail: "not configured: the fallback identity autoresearch <autoresearch@localhost> will be used for the tool's commits",
      fix: 'git config --global user.name "Your Name" && git config --global user.email you@example.com',
    });
  }
  if (!(await git.isRepo())) {
    checks.push({ name: "repository", status: "missing", required: true, detail: `${cwd} is not a git repository`, fix: "Run autoresearch in your training repo, or: git init && git add -A && git commit -m init" });
    return { checks, root: cwd };
  }
  const root = await git.topLevel();
  if (!(await git.hasCommits())) {
    checks.push({ name: "repository", status: "missing", required: true, detail: `${root} has no commits yet`, fix: "git add -A && git commit -m init" });
    return { checks, root };
  }
  const branch = (await git.currentBranch()) ?? "(detached HEAD)";
  const dirty = await git.trackedChanges();
  checks.push(
    dirty.length === 0
      ? { name: "repository", status: "ok", required: true, detail: `${root}, on ${branch}, clean` }
      : { name: "repository", status: "warn", required: true, detail: `${root}, on ${branch}, ${dirty.length} uncommitted change(s)`, fix: "Commit or stash them before `autoresearch run` (git stash)." },
  );
  return { checks, root };
}

/** Which protection the runs would get (see src/sandbox/): a sandbox, or the manifest check. */
function sandboxCheck(executor: string | undefined, os: NodeJS.Platform): Check {
  if (!runsOnThisMachine(executor)) return { name: "sandbox", status: "absent", required: false, detail: `runs on another machine (${executor}) are checked by the manifest, not confined here` };
  const available = sandboxAvailability(os);
  const protection = resolveProtection("auto", available);
  if (protection !== "manifest") return { name: "sandbox", status: "ok", required: false, detail: protectionText(protection) };
  return {
    name: "sandbox",
    status: "warn",
    required: false,
    detail: `${protectionText(protection)}${available.bwrap ? ` (${available.bwrap.why})` : ""}`,
    ...(os === "linux" && { fix: "Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) so runs cannot change your data." }),
  };
}

function writeCheck(root: string): Check {
  const probe = join(root, `.autoresearch-doctor-${process.pid}.tmp`);
  try {
    accessSync(root, constants.W_OK);
    writeFileSync(probe, "");
    rmSync(probe, { force: true });
    return { name: "write access", status: "ok", required: true, detail: `can write in ${root}` };
  } catch (error) {
    return { name: "write access", status: "missing", required: true, detail: `cannot write in ${root} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, fix: "Run in a directory you own, or fix its permissions." };
  }
}

/** `torchNeeded`: the training script imports torch, so a run without it fails. */
function platformChecks(platform: DetectedPlatform, command: string, torchNeeded: boolean): Check[] {
  const checks: Check[] = [];
  if (platform.python === null) {
    checks.push({ name: "python", status: "ok", required: true, detail: `\`${command}\` runs no Python; torch is not needed` });
  } else if (platform.pythonVersion === null) {
    const why = platform.notes.find((n) => n.includes(platform.python as string)) ?? "the probe failed";
    checks.push({ name: "python", status: "missing", required: true, detail: `${platform.python}: ${why}`, fix: `Make sure \`${platform.python}\` runs here (the run uses \`${command}\`), or pass --command.` });
  } else {
    checks.push({ name: "python", status: "ok", required: true, detail: `${platform.python} -> Python ${platform.pythonVersion}` });
  }
  if (platform.python !== null && platform.pythonVersion !== null) {
    checks.push(
      platform.torch
        ? { name: "torch", status: "ok", required: torchNeeded, detail: `torch ${platform.torch} in ${platform.python}, device ${platform.device}` }
        : {
            name: "torch",
            status: torchNeeded ? "missing" : "absent",
            required: torchNeeded,
            detail: `torch is not installed in ${platform.python}${torchNeeded ? " (the training script imports it)" : ""}`,
            fix: platform.python.startsWith("uv ") ? "uv add torch" : `${platform.python} -m pip install torch (see https://pytorch.org/get-started/locally/)`,
          },
    );
  }
  const gpu: Check =
    platform.kind === "cpu"
      ? {
          name: "gpu",
          status: "warn",
          required: false,
          detail: `none usable: CPU (${platform.detail}); runs are 5-10x slower, prefer short budgets`,
          ...(platform.notes.some((n) => /nvidia-smi sees/.test(n)) && { fix: "Install a CUDA build of torch (https://pytorch.org/get-started/locally/)." }),
        }
      : { name: "gpu", status: "ok", required: false, detail: `${platform.label}: ${platform.detail} (found by ${platform.source})` };
  checks.push(gpu);
  return checks;
}

async function nvidiaSmiCheck(exec: Exec, root: string, timeoutMs: number, os: NodeJS.Platform): Promise<Check> {
  if (os === "darwin") return { name: "nvidia-smi", status: "ok", required: false, detail: "not needed on macOS (Apple Silicon uses MPS)" };
  const result = await exec(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], { cwd: root, timeoutMs });
  if (result.error === "ENOENT") return { name: "nvidia-smi", status: "absent", required: false, detail: "not on PATH (needed only with an NVIDIA GPU)", fix: "Install the NVIDIA driver if this machine has an NVIDIA GPU." };
  if (result.timedOut) return { name: "nvidia-smi", status: "warn", required: false, detail: `timed out after ${timeoutMs / 1000}s`, fix: "Check the NVIDIA driver (nvidia-smi hangs)." };
  if (result.code !== 0) return { name: "nvidia-smi", status: "warn", required: false, detail: `failed: ${(result.stderr || result.stdout).trim().split("\n")[0] ?? ""}`, fix: "Check the NVIDIA driver installation." };
  const gpus = parseNvidiaSmi(result.stdout);
  const driver = result.stdout.split(",")[2]?.trim();
  return { name: "nvidia-smi", status: "ok", required: false, detail: `${gpus.map((g) => g.name).join(", ") || "no GPU listed"}${driver ? `, driver ${driver}` : ""}` };
}

/** The training script and command of the repo's current session, when it has one whose records read. */
function currentSessionConfig(root: string): { tag: string; train: string; command: string } | null {
  const paths = locateSession(root);
  const info = paths ? readSessionReadOnly(paths) : null;
  return info?.config ? { tag: info.tag, train: info.config.train, command: info.config.command } : null;
}

export async function runDoctor(options: DoctorOptions): Promise<{ checks: Check[]; platform: DetectedPlatform; command: string }> {
  const { cwd, env } = options;
  const os = options.os ?? process.platform;
  const exec = options.exec ?? execWithTimeout;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const checks: Check[] = [];
  const major = Number(process.versions.node.split(".")[0]);
  const minor = Number(process.versions.node.split(".")[1]);
  checks.push(
    major > 20 || (major === 20 && minor >= 19)
      ? { name: "node", status: "ok", required: true, detail: `node ${process.version}` }
      : { name: "node", status: "missing", required: true, detail: `node ${process.version} is older than 20.19`, fix: "Install Node.js 20.19 or newer." },
  );
  const { checks: gitResults, root } = await gitChecks(cwd, env);
  checks.push(...gitResults);

  // The command the run will use: flag, else config file, else the default for the training script.
  let input: ConfigInput = {};
  try {
    const where = { ...(options.executor && { executor: options.executor }), ...(options.hosts && { hosts: options.hosts }), ...(options.remoteDir && { remoteDir: options.remoteDir }) };
    input = gatherInput({ ...(options.configPath && { config: options.configPath }), ...where }, { root, cwd }).input;
    if (existsSync(join(root, CONFIG_FILE)) || options.configPath) checks.push({ name: "config", status: "ok", required: true, detail: options.configPath ?? CONFIG_FILE });
  } catch (error) {
    checks.push({ name: "config", status: "missing", required: true, detail: (error as Error).message.split("\n")[0] ?? "invalid", fix: `Fix ${options.configPath ?? CONFIG_FILE} (autoresearch init writes a valid one).` });
  }
  // Without a config file or flags, the repo's current session (run with flags) says what it runs: doctor checks
  // that, not the defaults (a session of `node train.js` is not judged by python3 train.py).
  const flagged = options.train !== undefined || options.command !== undefined;
  const session = flagged || existsSync(join(root, CONFIG_FILE)) || options.configPath !== undefined ? null : currentSessionConfig(root);
  if (session) input = { ...input, train: session.train, command: session.command };
  const origin = session ? ` (session ${session.tag}'s)` : "";
  const train = options.train ?? (input.train as string | undefined) ?? "train.py";
  // The training script must be there: run refuses to start without it, and the default command is derived from its name.
  checks.push(
    existsSync(join(root, train))
      ? { name: "train", status: "ok", required: true, detail: `${train}${origin}` }
      : { name: "train", status: "missing", required: true, detail: `${train}${origin} is not in ${root}`, fix: "Pass the training script with --train <path> (or set train in autoresearch.config.json)." },
  );
  const command = options.command ?? (input.command as string | undefined) ?? defaultCommand(root, train, os);
  // Its program must be there (a misspelt interpreter would otherwise fail only at the baseline run).
  const program = commandProgram(command, root, env, os);
  checks.push(
    program && program.found === null
      ? { name: "command", status: "missing", required: true, detail: `${command}: ${/[\\/]/.test(program.program) ? `${program.program} is not an executable file` : `${program.program} is not on PATH`}`, fix: "Install it, or give the command that runs one experiment with --command (or in autoresearch.config.json)." }
      : { name: "command", status: "ok", required: true, detail: `${command}${origin}` },
  );
  const platform = await detectPlatform({ command, root, exec, timeoutMs, os });
  checks.push(...platformChecks(platform, command, usesTorch(readText(join(root, train)))));
  checks.push(await nvidiaSmiCheck(exec, root, timeoutMs, os));

  const keyVars = [...API_KEY_VARS, ...(typeof input.apiKeyEnv === "string" && !API_KEY_VARS.includes(input.apiKeyEnv as never) ? [input.apiKeyEnv] : [])];
  const neededKey = requiredKeyVar(input);
  for (const name of keyVars) {
    // Names only: the value is never read beyond "is it non-empty".
    const set = typeof env[name] === "string" && (env[name] as string).length > 0;
    const required = name === neededKey;
    checks.push(
      set
        ? { name, status: "ok", required, detail: "set" }
        : required
          ? { name, status: "missing", required, detail: `not set, and the config's proposer ${String(input.proposer)} needs it`, fix: `export ${name}=...` }
          : { name, status: "absent", required, detail: "not set (needed only for the matching --proposer)", fix: `export ${name}=... (or pass --api-key-env NAME)` },
    );
  }
  const neededAgent = input.proposer === "agent" && typeof input.agent === "string" ? input.agent : null;
  for (const [cli, install] of Object.entries(AGENT_CLIS)) {
    const path = which(cli, env, os);
    const required = cli === neededAgent;
    checks.push(
      path
        ? { name: `agent ${cli}`, status: "ok", required, detail: path }
        : required
          ? { name: `agent ${cli}`, status: "missing", required, detail: "not on PATH, and the config's proposer uses it", fix: install }
          : { name: `agent ${cli}`, status: "absent", required, detail: "not on PATH (needed only for --proposer agent)", fix: install },
    );
  }
  if (neededAgent && isAgentPreset(neededAgent) && which(neededAgent, env, os)) checks.push(...(await agentChecks(neededAgent, root, env)));
  const endpoint = await llmEndpointCheck(input, env);
  if (endpoint) checks.push(endpoint);
  checks.push(writeCheck(root));
  // The executor's own checks (an executor this build does not have has none: the config line says why).
  const executor = typeof input.executor === "string" ? findExecutor(input.executor) : undefined;
  if (executor?.doctorChecks) checks.push(...(await executor.doctorChecks({ input, root, env, exec, os, timeoutMs, command })));
  checks.push(sandboxCheck(typeof input.executor === "string" ? input.executor : undefined, os));
  return { checks, platform, command };
}

/** A check `run` makes before anything changes, failed: its error as a missing line (what `run` would say, less its "nothing was changed"). */
function checkFailed(name: string, error: unknown): Check {
  if (!(error instanceof AutoresearchError)) throw error;
  return { name, status: "missing", required: true, detail: error.message.replace(/; nothing was changed$/, ""), ...(error.hint && { fix: error.hint.replace(/,? and run again\.$|, then run again\.$/, ".") }) };
}

/**
 * The config's LLM proposer: does its endpoint answer and take the key? The check `run` makes
 * before the baseline (src/proposers/llm/endpoint.ts), made here. Without the key its own line
 * already says what is missing.
 */
async function llmEndpointCheck(input: ConfigInput, env: NodeJS.ProcessEnv): Promise<Check | null> {
  const provider = input.proposer;
  if (typeof provider !== "string" || !LLM_PROPOSERS.includes(provider)) return null;
  const keyVar = requiredKeyVar(input);
  if (keyVar !== undefined && !env[keyVar]) return null;
  const name = "llm endpoint";
  try {
    const options = { provider: provider as LlmProvider, model: typeof input.model === "string" ? input.model : "", env, ...(typeof input.baseUrl === "string" && { baseUrl: input.baseUrl }), ...(typeof input.apiKeyEnv === "string" && { apiKeyEnv: input.apiKeyEnv }) };
    const found = (await createLlmProposer(options).check?.()) ?? {};
    const where = options.baseUrl ?? (provider === "openai-compatible" ? "" : DEFAULT_BASE_URLS[provider as Exclude<LlmProvider, "openai-compatible">]);
    const warning = found.warnings?.[0];
    return warning ? { name, status: "warn", required: true, detail: warning } : { name, status: "ok", required: true, detail: `${providerLabel(provider as LlmProvider)} answers at ${where}` };
  } catch (error) {
    return checkFailed(name, error);
  }
}

/**
 * The config's agent CLI, found on PATH: its release against the supported range and its login,
 * the same checks `run` makes before the baseline (so doctor says what run would refuse).
 */
async function agentChecks(preset: AgentPreset, root: string, env: NodeJS.ProcessEnv): Promise<Check[]> {
  const clean = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const checks: Check[] = [];
  try {
    const version = await presetVersion(preset, root, clean);
    const [oldest, newest] = PRESET_INFO[preset].checked;
    checks.push({ name: `agent ${preset} version`, status: "ok", required: true, detail: `${version ?? "no version printed"} (supported from ${oldest}, checked up to ${newest})` });
  } catch (error) {
    checks.push(checkFailed(`agent ${preset} version`, error));
  }
  const login = await presetLogin(preset, { cwd: root, env });
  const how = PRESET_INFO[preset].login;
  checks.push(
    login.state === "ok"
      ? { name: `agent ${preset} login`, status: "ok", required: true, detail: login.detail }
      : login.state === "missing"
        ? { name: `agent ${preset} login`, status: "missing", required: true, detail: `not logged in: ${login.detail}`, fix: `${how[0]?.toUpperCase()}${how.slice(1)}.` }
        : { name: `agent ${preset} login`, status: "warn", required: true, detail: login.detail },
  );
  return checks;
}

const MARK: Record<CheckStatus, (s: string) => string> = { ok: pc.green, missing: pc.red, absent: pc.dim, warn: pc.yellow };

/** Each check a row: its detail, and its fix under it, continued in their own column when `columns` is too narrow. */
function formatGroup(checks: Check[], width: number, columns: number | undefined): string[] {
  const column = " ".repeat(10 + width);
  return checks.map((c) => {
    const line = fitWidth(`${MARK[c.status](c.status.padEnd(7))} ${c.name.padEnd(width)}  ${c.detail}`, columns, column);
    return c.fix && c.status !== "ok" ? `${line}\n${fitWidth(`${column}${pc.dim(`fix: ${c.fix}`)}`, columns, "     ")}` : line;
  });
}

/** Two groups: what `run` needs here (missing = it will fail), then what only some options need (absent = fine unless you use them). */
export function formatChecks(checks: Check[], columns?: number): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const required = checks.filter((c) => c.required);
  const optional = checks.filter((c) => !c.required);
  return [
    pc.bold("Required (autoresearch run needs these here):"),
    ...formatGroup(required, width, columns),
    "",
    pc.bold("Optional (only some options use these):"),
    ...formatGroup(optional, width, columns),
  ].join("\n");
}

/** "Required: 7 ok, 1 missing. Optional: 3 ok, 6 absent, 1 warning." */
export function summarizeChecks(checks: Check[]): string {
  const count = (required: boolean, status: CheckStatus) => checks.filter((c) => c.required === required && c.status === status).length;
  const part = (required: boolean, statuses: CheckStatus[]) =>
    statuses
      .map((s) => [count(required, s), s] as const)
      .filter(([n, s]) => n > 0 || s === "ok" || (required && s === "missing"))
      .map(([n, s]) => `${n} ${s === "warn" ? (n === 1 ? "warning" : "warnings") : s}`)
      .join(", ");
  return `Required: ${part(true, ["ok", "missing", "warn"])}. Optional: ${part(false, ["ok", "absent", "warn"])}.`;
}

interface DoctorFlags {
  json?: boolean;
  command?: string;
  train?: string;
  config?: string;
  probeTimeout?: string;
  executor?: string;
  hosts?: string;
  remoteDir?: string;
}

export async function doctorCommand(flags: DoctorFlags, out: Writable = process.stdout): Promise<number> {
  let timeoutMs: number | undefined;
  if (flags.probeTimeout !== undefined) {
    const seconds = Number(flags.probeTimeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--probe-timeout ${JSON.stringify(flags.probeTimeout)}: expected a positive number of seconds`);
    timeoutMs = seconds * 1000;
  }
  const { checks, platform, command } = await runDoctor({
    cwd: process.cwd(),
    env: process.env,
    ...(flags.command !== undefined && { command: flags.command }),
    ...(flags.train !== undefined && { train: flags.train }),
    ...(flags.config !== undefined && { configPath: flags.config }),
    ...(timeoutMs !== undefined && { timeoutMs }),
    ...(flags.executor !== undefined && { executor: flags.executor }),
    ...(flags.hosts !== undefined && { hosts: flags.hosts }),
    ...(flags.remoteDir !== undefined && { remoteDir: flags.remoteDir }),
  });
  if (flags.json) {
    out.write(`${JSON.stringify({ checks, command, platform }, null, 2)}\n`);
  } else {
    const columns = columnsOf(out);
    out.write(`${formatChecks(checks, columns)}\n`);
    out.write(`\n${fitWidth(`${summarizeChecks(checks)} Platform: ${platformText(platform)}.`, columns, "  ")}\n`);
  }
  // Scripts (and CI) can rely on it: 1 when `run` would fail here for want of something.
  return checks.some((c) => c.required && c.status === "missing") ? 1 : 0;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("what a run needs and what is missing (git, the repository, the training script, the run's Python and torch), then what is optional (GPU, nvidia-smi, API keys, agent CLIs)")
    .option("--command <cmd>", "the experiment command to check (default: from the config file, else the repo's current session, else the default for the training script)")
    .option("--train <path>", "training script, used to derive the default command (default: from the config file, else the repo's current session, else train.py)")
    .option("--config <file>", `config file to read the command from (default: ${CONFIG_FILE} in the repo)`)
    .option("--executor <kind>", "check where runs will happen: local or ssh (default: from the config file)")
    .option("--hosts <list>", "with --executor ssh: the hosts to check, e.g. gpu1,gpu2:0+1")
    .option("--remote-dir <path>", "with --executor ssh: the folder on the hosts (default: ~/.cache/autoresearch)")
    .option("--probe-timeout <seconds>", "time limit for the Python probe and nvidia-smi (default: 20)")
    .option("--json", "print the checks as JSON")
    .addHelpText(
      "after",
      `
Two groups. Required: what \`autoresearch run\` needs with this repo and config (node, git, the repository, the training script, write access, the command's Python, torch when the training script imports it, the API key or agent CLI the config's proposer uses, that its LLM endpoint answers and takes the key (its model list, GET <base-url>/models: what \`run\` asks before its baseline), and with executor slurm sbatch, squeue, scancel, sinfo and a controller that answers); "missing" there means a run will fail. Optional: what only some options use (GPU, nvidia-smi, other API keys and agent CLIs); "absent" there is fine unless you use them. With --executor ssh (flag or config file) each host is checked too: reachable with \`ssh -o BatchMode=yes\` (no prompt), git and python3 there, the remote dir writable, setsid or perl for the run's process group, and the host's platform as the command's Python sees it there (python, torch, CUDA). Each line that is not ok says how to fix it. API keys are named, never shown. It changes nothing. Exit status: 0 when everything required is there (warnings and absent optional things included), 1 when something required is missing, 2 for bad flags.

Examples:
  $ autoresearch doctor
  $ autoresearch doctor --command "uv run train.py" --json
  $ autoresearch doctor --executor ssh --hosts gpu1,gpu2:0+1`,
    )
    .action(async (flags: DoctorFlags) => {
      process.exitCode = await doctorCommand(flags);
    });
}
