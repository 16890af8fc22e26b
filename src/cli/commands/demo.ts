import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import pc from "picocolors";
import { parseDuration } from "../../config/duration.js";
import { flagName, OPTION_DEFS } from "../../config/options.js";
import { resolveChecked, validateFlags } from "../../config/resolve.js";
import { UsageError } from "../../errors.js";
import { packagePath } from "../../package-root.js";
import { DEMO_DIR_PREFIX } from "../../ledger/leftovers.js";
import { detectPlatform } from "../../platform/index.js";
import { createProposer } from "../../proposers/index.js";
import { Git } from "../../workspace/git.js";
import { runSessionCommand } from "../session-command.js";
import { columnsOf, fitWidth } from "../../text.js";

/** The embedded example, shipped in the package next to dist/. */
/** Said before the demo starts: why it keeps on one run when `run` would not. */
export const DEMO_KEEP_RULE =
  "Keep rule: any, one baseline run (the spec's plain loop, to keep the demo short). `autoresearch run` defaults to confirm: changes near the noise floor are re-run beside their parent.";

export const EXAMPLE_DIR = packagePath("examples", "tinylm");

interface DemoFlags {
  dir?: string;
  iterations: string;
  budget: string;
  seed: string;
  json?: boolean;
  dashboard?: boolean;
}

/** Copies the example into a fresh git repo: the demo never touches anything of the user's. */
export async function createDemoRepo(dir: string | undefined): Promise<string> {
  let root: string;
  if (dir) {
    root = resolve(dir);
    if (existsSync(root) && readdirSync(root).length > 0) {
      throw new UsageError(`${root} is not empty`, "Give --dir a new or empty directory, or leave it out to use a temp dir.");
    }
    mkdirSync(root, { recursive: true });
  } else {
    root = mkdtempSync(join(tmpdir(), DEMO_DIR_PREFIX));
  }
  cpSync(EXAMPLE_DIR, root, { recursive: true });
  const git = new Git(root);
  await git.initWithEverything("tinylm: a tiny character-level language model");
  return root;
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("run the whole loop on the embedded example (a tiny JavaScript language model): no GPU, Python or API key")
    .option("--dir <dir>", "where to create the demo repo (default: a new temp dir)")
    .option("--iterations <n>", `experiments after the baseline (run's ${flagName("maxIterations")})`, "6")
    .option(OPTION_DEFS.budget.flag, "training time per run", "3s")
    .option(OPTION_DEFS.seed.flag, OPTION_DEFS.seed.help.replace(/ \(default: .*\)$/, ""), "0")
    .option("--json", "print NDJSON events instead of the live view")
    .option("--dashboard", "watch it in the browser: serve the live dashboard while the demo runs, and print its URL")
    .addHelpText("after", "\nExamples:\n  $ autoresearch demo\n  $ autoresearch demo --dashboard --iterations 20\n  $ autoresearch demo --iterations 12 --budget 5s --dir ./tinylm-demo\n")
    .action(async (flags: DemoFlags) => {
      if (!/^\d+$/.test(flags.iterations)) throw new UsageError(`invalid --iterations ${JSON.stringify(flags.iterations)}`, "Use a whole number of experiments, 0 or more, e.g. --iterations 6.");
      const checked = { ...validateFlags({ budget: flags.budget, seed: flags.seed }), maxIterations: flags.iterations };
      const budgetSec = parseDuration(checked.budget as string) as number;
      const root = await createDemoRepo(flags.dir);
      if (!flags.json) {
        const width = columnsOf(process.stdout);
        process.stdout.write(`${fitWidth(`${pc.bold("Demo repo:")} ${root}`, width, "  ")}\n`);
        process.stdout.write(`${fitWidth(pc.dim(DEMO_KEEP_RULE), width, "  ")}\n`);
      }
      // The embedded example's settings, through the same resolve-and-validate as `run`.
      const resolved = resolveChecked(
        {
          ...checked,
          train: "train.js",
          readonly: ["prepare.js"],
          metric: "val_bpb",
          direction: "min",
          tag: "demo",
          command: "node train.js",
          timeout: Math.max(budgetSec * 2, budgetSec + 10),
          // The spec's plain loop, so the demo stays a half-minute look at the loop: on this toy (a
          // time-budgeted trainer on a shared CPU) the default rule's paired re-runs made the
          // default demo four times as long (29 s against 118 s measured, issue 26). Said when it starts.
          keepRule: "any",
          baselineRuns: 1,
        },
        { root, now: new Date() },
      );
      const { config } = resolved;
      const proposer = await createProposer(config, { root, env: process.env });
      const platform = await detectPlatform({ command: config.command, root });
      const { exitCode } = await runSessionCommand({ root, git: new Git(root), proposer, mode: { kind: "new", checked: resolved, platform }, json: Boolean(flags.json), dashboard: Boolean(flags.dashboard) });
      // The hints above (show, git log, merge) work in the demo's repository, not where it was started.
      if (!flags.json && resolve(process.cwd()) !== root) process.stdout.write(`${fitWidth(`Those commands run in the demo's repository: cd ${root}`, columnsOf(process.stdout), "  ")}\n`);
      process.exitCode = exitCode;
    });
}
