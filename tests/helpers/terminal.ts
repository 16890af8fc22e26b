import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { afterEach } from "vitest";
import { BIN } from "./cli.js";

/**
 * The CLI at a REAL pseudo-terminal: util-linux `script` gives the CLI a pty (so
 * stdin/stdout are TTYs and @clack/prompts runs in raw mode); the test types keys into it.
 */
export const hasScript = process.platform === "linux" && spawnSync("script", ["--version"]).status === 0;

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, "g");
export const strip = (s: string) => s.replace(ANSI, "").replace(/\r/g, "");
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

export const KEY = { enter: "\r", down: "\x1b[B", up: "\x1b[A", ctrlC: "\x03", ctrlU: "\x15", space: " " };

/** `cols`: the terminal's width (140 unless a test is about a narrow one). */
export function terminal(cwd: string, args: string[], extraEnv: Record<string, string> = {}, cols = 140) {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", `stty cols ${cols} rows 60; exec ${quoted}`, "/dev/null"], {
    cwd,
    env: { ...process.env, TERM: "xterm-256color", NO_COLOR: "1", FORCE_COLOR: "0", ...extraEnv },
  });
  children.push(child);
  let screen = "";
  child.stdout?.on("data", (d: Buffer) => (screen += d.toString("utf8")));
  child.stderr?.on("data", (d: Buffer) => (screen += d.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let seen = 0;
  return {
    /** Waits until the text appears in the output after what was already waited for. */
    async waitFor(text: string | RegExp, timeoutMs = 20_000): Promise<void> {
      const started = Date.now();
      for (;;) {
        const rest = strip(screen).slice(seen);
        const index = typeof text === "string" ? rest.indexOf(text) : rest.search(text);
        if (index >= 0) {
          seen += index + 1;
          // Let the prompt finish rendering and start listening.
          await new Promise((r) => setTimeout(r, 150));
          return;
        }
        if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${String(text)}; screen:\n${strip(screen).slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async type(...keys: string[]): Promise<void> {
      for (const key of keys) {
        child.stdin?.write(key);
        await new Promise((r) => setTimeout(r, 40));
      }
    },
    exited,
    screen: () => strip(screen),
  };
}

