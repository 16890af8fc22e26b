import { confirm, isCancel } from "@clack/prompts";
import type { Command } from "commander";
import { finalizeRefPrefix } from "../../workspace/branch-names.js";
import { UsageError } from "../../errors.js";
import { isInteractive, resolveRoot } from "../cli-support.js";
import { type CleanPlan, executeClean, planClean } from "../../loop/clean.js";
import { requireRepo } from "../../workspace/git.js";
import { printText } from "../print.js";
import { leftoverText } from "../leftovers-text.js";
import { columnsOf, fitWidth } from "../../text.js";

interface CleanOptions {
  tag?: string[];
  allFinished?: boolean;
  leftovers?: boolean;
  yes?: boolean;
  dir?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * What `clean` would remove and keep, one entry a line and its parts indented under it, each line
 * broken to `width` columns (undefined: whole lines) and continued under its own text.
 */
export function renderPlan(plan: CleanPlan, withKeptWork: boolean, now = new Date(), width?: number): string {
  const lines: string[] = [];
  const part = (text: string) => lines.push(fitWidth(`         ${text}`, width, "  "));
  const entry = (text: string) => lines.push(fitWidth(text, width, "         "));
  for (const item of plan.items) {
    const skipped = item.unmergedKept > 0 && !withKeptWork;
    entry(`${skipped ? "keep  " : "remove"} ${item.session.id} (${item.session.state}, ${item.session.experiments} experiments)`);
    if (item.branch) part(`branch ${item.branch}${item.squashedInto ? ` (its work is in ${item.squashedInto}: merged with --squash)` : ""}`);
    for (const branch of item.finalizeBranches ?? []) part(`branch ${branch} (left by finalize)`);
    if (item.refs.length > 0) {
      // Every experiment's commit has a ref there (kept ones too), and finalize's variants under finalize/.
      const finalize = item.refs.filter((r) => r.startsWith(finalizeRefPrefix(item.session.tag))).length;
      const whose = [`${item.refs.length - finalize} experiment commit(s)`, ...(finalize > 0 ? [`${finalize} of finalize's variants`] : [])].join(", ");
      part(`${item.refs.length} ref(s) refs/autoresearch/${item.session.tag}/* (${whose})`);
    }
    for (const dir of item.dirs) part(`folder ${dir} (records, run logs, patches, experiment clone)`);
    if (item.unmergedKept > 0) {
      part(
        `${item.unmergedKept} kept commit(s) on ${item.branch} are in no other branch: this is kept work${skipped ? `; left alone without --yes (merge it first: autoresearch merge --tag ${item.session.tag})` : " and will be lost"}`,
      );
    }
  }
  for (const leftover of plan.leftovers) entry(`remove ${leftoverText(leftover, now)}`);
  for (const refused of plan.refused) entry(`keep   ${refused.id}: ${refused.reason}`);
  return `${lines.join("\n")}\n`;
}

/** `autoresearch clean`: removes finished sessions' branches, refs, clones and records, after showing exactly what. */
export function registerClean(program: Command): void {
  program
    .command("clean")
    .description("remove sessions you no longer want: their research branch, refs/autoresearch/<tag>/*, clone and records; or the leftovers (lists them, asks first)")
    .option("--tag <tag>", "a session to remove, as `autoresearch sessions` lists it (repeatable)", collect)
    .option("--all-finished", "every finished session (and every failed start)")
    .option("--leftovers", "the leftovers `sessions` lists: the demo's repositories in the system temp folder, this repo's failed starts")
    .option("-y, --yes", "do not ask, and also remove sessions whose kept work is in no other branch (required without a terminal)")
    .option("--dir <path>", "repo of the sessions (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
Never removes a running session, nor a session whose branch is checked out, nor a demo repository whose loop is running or that you are in. A session with kept commits that no other branch contains (not merged) is kept work: it is removed only with --yes. Without a terminal and without --yes it prints the plan and exits 2. Your checkout is not touched. The branches finalize left (autoresearch/<tag>-final, autoresearch/<tag>-change-<n>) go with their session.

Examples:
  $ autoresearch clean --all-finished
  $ autoresearch clean --leftovers
  $ autoresearch clean --tag mar5 --tag mar6 --yes`,
    )
    .action(async (options: CleanOptions) => {
      const root = await resolveRoot(process.cwd(), options.dir);
      const git = await requireRepo(root);
      const plan = await planClean(git, root, { tags: options.tag ?? [], allFinished: Boolean(options.allFinished), leftovers: Boolean(options.leftovers) });
      const withKeptWork = Boolean(options.yes);
      const removable = plan.items.filter((i) => withKeptWork || i.unmergedKept === 0);
      printText(renderPlan(plan, withKeptWork, new Date(), columnsOf(process.stdout)));
      if (removable.length === 0 && plan.leftovers.length === 0) {
        if (plan.items.length > 0) throw new UsageError("nothing removed: the sessions asked for hold kept work that no other branch contains", `Merge it first (${plan.items.map((i) => `autoresearch merge --tag ${i.session.tag}`).join("; ")}), or pass --yes to remove it anyway.`);
        throw new UsageError("nothing to remove", plan.refused.length > 0 ? "See why each session is kept above." : options.leftovers ? "No session or leftover matches; `autoresearch sessions` lists them." : "No session matches; `autoresearch sessions` lists them.");
      }
      if (!options.yes) {
        if (!isInteractive()) throw new UsageError("clean asks before it removes anything, but there is no terminal to ask in", "Review the plan above, then run it again with --yes.");
        const what = [...(removable.length > 0 ? [`${removable.length} session(s)`] : []), ...(plan.leftovers.length > 0 ? [`${plan.leftovers.length} leftover(s)`] : [])].join(" and ");
        const ok = await confirm({ message: `Remove ${what} as listed? This cannot be undone.`, initialValue: false });
        if (isCancel(ok) || !ok) {
          printText("Nothing removed.\n");
          return;
        }
      }
      const removed = await executeClean(git, root, plan, withKeptWork);
      printText(`Removed ${removed.join(", ")}.\n`);
    });
}
