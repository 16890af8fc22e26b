import type { Command } from "commander";
import pc from "picocolors";
import { UsageError } from "../../errors.js";
import { DEFAULT_DASHBOARD_PORT } from "../../dashboard/server.js";
import { resolveRoot } from "../cli-support.js";

interface DashboardFlags {
  port: string;
  host: string;
  token?: string;
  open?: boolean;
  dir?: string;
}

export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new UsageError(`invalid --port ${JSON.stringify(value)}`, "Use a number from 1 to 65535, or 0 for any free port.");
  return Number(value);
}

export function parseToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 16 || /\s/.test(value)) {
    throw new UsageError("--token must be at least 16 characters, without spaces", "Leave --token out to have one generated, or use e.g. `openssl rand -hex 16`.");
  }
  return value;
}

/** Serves the dashboard until Ctrl-C. Prints the URL (with the token when one is needed). */
export async function dashboardCommand(flags: DashboardFlags): Promise<number> {
  const port = parsePort(flags.port);
  const token = parseToken(flags.token);
  const root = await resolveRoot(process.cwd(), flags.dir);
  const { listSessions, openInBrowser, startDashboard } = await import("../../dashboard/index.js");
  if (listSessions(root).length === 0) {
    throw new UsageError(`no autoresearch session in ${root}`, "Run it in the repo where `autoresearch run` ran (or pass --dir), or start one with `autoresearch run --dashboard`.");
  }
  const dashboard = await startDashboard({ root, host: flags.host, port, token });
  process.stdout.write(`${pc.bold("Dashboard:")} ${dashboard.url}\n`);
  if (dashboard.token !== null && flags.token === undefined) {
    process.stdout.write(`${pc.dim("  (listening beyond loopback: every request needs this token; from another machine, use this machine's address)")}\n`);
  }
  process.stdout.write(`${pc.dim("  read-only · Ctrl-C to stop")}\n`);
  if (flags.open && !(await openInBrowser(dashboard.url))) process.stdout.write(`${pc.yellow("!")} could not open a browser; open the URL above yourself\n`);
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
  await dashboard.close();
  return 0;
}

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description("serve a live, read-only dashboard of this repo's research sessions in the browser")
    .option("--port <n>", "port to listen on (0 = any free port)", String(DEFAULT_DASHBOARD_PORT))
    .option("--host <address>", "address to listen on; anything but loopback requires a token", "127.0.0.1")
    .option("--token <token>", "token to require (default: generated when --host is not loopback)")
    .option("--open", "open it in the default browser")
    .option("--dir <path>", "repo of the sessions (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
Shows the current session live (updates within about a second, no reload) and earlier ones (archived when a new session started): progress chart, results table, each experiment's diff and log, the runs in flight. It only reads; all of the page is served from here (no CDN).

Examples:
  $ autoresearch dashboard --open
  $ autoresearch dashboard --host 0.0.0.0 --port 8080   # a URL with ?token=…
  $ autoresearch run --dashboard ...        # serve it while the session runs`,
    )
    .action(async (flags: DashboardFlags) => {
      process.exitCode = await dashboardCommand(flags);
    });
}
