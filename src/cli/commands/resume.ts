import type { Command } from "commander";
import { addConfigOptions, flagsToInput } from "../../config/cli-options.js";
import { applyOverrides, RESUME_KEYS, resolveOverrides } from "../../config/resolve.js";
import { loadSession, refuseFinished } from "../../loop/resume.js";
import { createProposer } from "../../proposers/index.js";
import { requireRepo } from "../../workspace/git.js";
import { resolveRoot } from "../cli-support.js";
import { runSessionCommand } from "../session-command.js";

interface ResumeFlags extends Record<string, unknown> {
  json?: boolean;
  dir?: string;
  tag?: string;
  dashboard?: boolean;
}

export function registerResume(program: Command): void {
  const command = program.command("resume").description("continue this repo's session after a stop or a crash: nothing lost, nothing run twice");
  // The settings a resumed session may change, declared from the same table as run's flags.
  addConfigOptions(command, RESUME_KEYS, { defaults: false });
  command
    .option("--json", "print NDJSON events instead of the live view")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .option("--tag <tag>", "which session, as `autoresearch sessions` lists it (default: the current one)")
    .option("--dashboard", "serve the live dashboard (on 127.0.0.1) while the session runs, and print its URL")
    .addHelpText(
      "after",
      `
Every other setting stays as confirmed when the session started; the new values are checked as \`run\` checks them (e.g. --stop-when must name the session's metric), and stay the session's for later resumes (--report-every excepted). --max-time counts from this start. A session that has done all its limits allow (its iterations run, its max cost spent, its stop condition met) is refused (exit 2) with the resume that gives it more. The session's records are in <git dir>/autoresearch/<tag>/records; an old-layout session (.autoresearch/ in the checkout) is moved there first. Your checkout is not touched: uncommitted edits and untracked files stay as they are.

Examples:
  $ autoresearch resume --max-iterations 50
  $ autoresearch resume --stop-when "val_bpb <= 0.97" --max-time 8h
  $ autoresearch resume --base-url http://localhost:11434/v1   # the LLM's endpoint mended; it stays the session's`,
    )
    .action(async (flags: ResumeFlags) => {
      // --dir as status, show and report take it: the session's repo from anywhere.
      const cwd = flags.dir === undefined ? process.cwd() : await resolveRoot(process.cwd(), flags.dir);
      const git = await requireRepo(cwd);
      const root = git.cwd;
      const overrides = resolveOverrides(flagsToInput(flags));
      const { info, ledger } = loadSession(root, flags.tag === undefined ? {} : { tag: flags.tag });
      // Refused here, before a proposer is made; research() checks them again for library callers.
      const { config } = applyOverrides(info.config, overrides, root);
      refuseFinished(config, ledger, flags.tag);
      // The proposer as resumed: a new --model or --base-url applies from this invocation on.
      const proposer = await createProposer(config, { root, env: process.env });
      const { exitCode } = await runSessionCommand({ root, git, proposer, mode: { kind: "resume", overrides, ...(flags.tag !== undefined && { tag: flags.tag }) }, json: Boolean(flags.json), dashboard: Boolean(flags.dashboard) });
      process.exitCode = exitCode;
    });
}
