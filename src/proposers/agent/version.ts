import { spawn } from "node:child_process";
import { RuntimeFailure } from "../../errors.js";
import { describeFatal } from "./failures.js";
import { type AgentPreset, PRESET_INFO } from "./presets.js";

/** Generous: Gemini CLI alone takes seconds to start, many times that on a loaded machine. */
const VERSION_TIMEOUT_MS = 60_000;

/**
 * `<cli> --version` for a preset, before the session starts: a missing CLI fails here (exit 1,
 * with how to install it) instead of at the first proposal, and the version goes into
 * session.json. Run directly (so a hung one is killed for sure), through the shell only on
 * Windows, where npm installs CLIs as .cmd shims. Null when the CLI answered but not with a
 * version (or not in time): that is not fatal.
 */
export async function presetVersion(preset: AgentPreset, cwd: string, env: Record<string, string>): Promise<string | null> {
  const cli = PRESET_INFO[preset].cli;
  const { code, output, missing } = await runCli(cli, ["--version"], cwd, env, VERSION_TIMEOUT_MS);
  if (missing || code === 127 || /is not recognized as an internal or external command/.test(output)) {
    const { message, hint } = describeFatal({ kind: "missing", evidence: output.trim().split(/\r?\n/).pop() || `exit code ${code}` }, preset, cli);
    throw new RuntimeFailure(message, hint);
  }
  if (code !== 0) return null;
  const line = output.split(/\r?\n/).find((l) => /\d+\.\d+/.test(l));
  const version = line ? line.trim().slice(0, 120) : null;
  // Older releases lack flags the preset passes: every proposal would fail after the baseline.
  const [oldest] = PRESET_INFO[preset].checked;
  const found = version ? /\d+\.\d+(?:\.\d+)?/.exec(version)?.[0] : undefined;
  if (found && compareVersions(found, oldest) < 0) {
    throw new RuntimeFailure(
      `${cli} ${found} is older than ${oldest}, the oldest release autoresearch supports; nothing was changed`,
      `Update it (${PRESET_INFO[preset].install}), check \`${cli} --version\`, and run again.`,
    );
  }
  return version;
}

/** Dotted release numbers compared part by part (missing parts are 0): <0, 0 or >0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export interface CliAnswer {
  /** Null when it did not start or was killed at the timeout. */
  code: number | null;
  stdout: string;
  /** stdout and stderr as they came, the last 4,000 characters. */
  output: string;
  missing: boolean;
}

/** One short command of an agent CLI (`--version`, `auth status`), killed at the timeout. */
export function runCli(cli: string, args: string[], cwd: string, env: Record<string, string>, timeoutMs: number): Promise<CliAnswer> {
  return new Promise((resolve) => {
    let output = "";
    let stdout = "";
    const child = spawn(cli, args, { cwd, env, shell: process.platform === "win32", windowsHide: true, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const add = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4_000);
    };
    child.stdout.on("data", (chunk: Buffer) => {
      stdout = (stdout + chunk.toString("utf8")).slice(-16_000);
      add(chunk);
    });
    child.stderr.on("data", add);
    child.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, output: `${output}\n${error.message}`, missing: error.code === "ENOENT" });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output, missing: false });
    });
  });
}
