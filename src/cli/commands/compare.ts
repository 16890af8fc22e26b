import type { Command } from "commander";
import { resolveRoot } from "../cli-support.js";
import { compareExperiments, parseExperimentRef, renderComparison } from "../../report/compare.js";
import { requireRepo } from "../../workspace/git.js";
import { printText } from "../print.js";

interface CompareOptions {
  json?: boolean;
  tag?: string;
  dir?: string;
}

/** `autoresearch compare A B`: the script diff and the metrics of two experiments. */
export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("compare two experiments (N, or tag:N for another session): both metrics and the delta, the training-script diff, differing session settings")
    .argument("<a>", "first experiment: N in the current session, or tag:N")
    .argument("<b>", "second experiment, the same way")
    .option("--json", "print one JSON object instead")
    .option("--tag <tag>", "the session a bare N is in, as `autoresearch sessions` lists it (default: the current one)")
    .option("--dir <path>", "repo of the sessions (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
The delta is B - A. The diff is \`git diff\` of the two experiment commits, limited to the training script (every experiment's commit is kept, discarded and crashed ones included, until \`autoresearch clean\` removes its session). Read-only.

Examples:
  $ autoresearch compare 0 7          # the baseline against experiment 7
  $ autoresearch compare mar5:12 mar9:4
  $ autoresearch compare 3 8 --tag mar5`,
    )
    .action(async (a: string, b: string, options: CompareOptions) => {
      // A bare N is in --tag's session when it is given (tag:N names its own).
      const inSession = (ref: ReturnType<typeof parseExperimentRef>) => (ref.tag === undefined && options.tag !== undefined ? { ...ref, tag: options.tag } : ref);
      const left = inSession(parseExperimentRef(a));
      const right = inSession(parseExperimentRef(b));
      const root = await resolveRoot(process.cwd(), options.dir);
      const git = await requireRepo(root);
      const comparison = await compareExperiments(root, left, right, (x, y, paths) => git.diffCommits(x, y, paths));
      if (options.json) process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
      else printText(renderComparison(comparison));
    });
}
