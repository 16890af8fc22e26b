import type { Command } from "commander";
import { parseDuration } from "../../config/duration.js";
import { validateFlags } from "../../config/resolve.js";
import { loadSession, type ResumeOverrides } from "../../loop/resume.js";
import { createProposer } from "../../proposers/index.js";
import { requireRepo } from "../../workspace/git.js";
import { runSessionCommand } from "../session-command.js";

interface ResumeFlags {
  maxIterations?: string;
  maxTime?: string;
  stopWhen?: string;
  maxCost?: string;
  json?: boolean;
  dashboard?: boolean;
}

export function registerResume(program: Command): void {
  program
    .command("resume")
    .description("continue this repo's session after a stop or a crash: nothing lost, nothing run twice")
    .option("--max-iterations <n>", "new limit on experiments after the baseline, or 'unlimited'")
    .option("--max-time <duration>", "stop after this much more wall time, e.g. 8h")
    .option("--stop-when <condition>", "stop when the best metric meets it, e.g. 'val_bpb <= 0.97'")
    .option("--max-cost <usd>", "stop when the proposer has cost this many US dollars")
    .option("--json", "print NDJSON events instead of the live view")
    .option("--dashboard", "serve the live dashboard (on 127.0.0.1) while the session runs, and print its URL")
    .addHelpText("after", "\nExample:\n  $ autoresearch resume --max-iterations 50\n")
    .action(async (flags: ResumeFlags) => {
      const cwd = process.cwd();
      const git = await requireRepo(cwd);
      const root = await git.topLevel();
      validateFlags({ maxIterations: flags.maxIterations, maxTime: flags.maxTime, stopWhen: flags.stopWhen, maxCost: flags.maxCost });
      const { info } = loadSession(root);
      const overrides: ResumeOverrides = {
        ...(flags.maxIterations !== undefined && { maxIterations: flags.maxIterations === "unlimited" ? null : Number(flags.maxIterations) }),
        ...(flags.maxTime !== undefined && { maxTimeSec: parseDuration(flags.maxTime) as number }),
        ...(flags.stopWhen !== undefined && { stopWhen: flags.stopWhen }),
        ...(flags.maxCost !== undefined && { maxCostUsd: Number(flags.maxCost) }),
      };
      const proposer = await createProposer(info.config, { root, env: process.env });
      const { exitCode } = await runSessionCommand({ root, git, proposer, mode: { kind: "resume", overrides }, json: Boolean(flags.json), dashboard: Boolean(flags.dashboard) });
      process.exitCode = exitCode;
    });
}
