import { confirm, isCancel, select } from "@clack/prompts";
import type { Command } from "commander";
import { RuntimeFailure, UsageError } from "../../errors.js";
import { join } from "node:path";
import { LEGACY_DIR, locateSession, lockPath } from "../../ledger/paths.js";
import { isInteractive, resolveRoot, sessionOfTag } from "../cli-support.js";
import { formatMetric, formatPercent, oneLine, shortCommit, truncate } from "../../report/format.js";
import { loadReportData } from "../../report/load.js";
import { loopLiveness } from "../../ledger/liveness.js";
import { readSessionReadOnly } from "../../ledger/read.js";
import {
  finalMergeMessage,
  type MergePlan,
  type MergeStrategy,
  assertCleanTree,
  conflictHint,
  executeMerge,
  mergeMessage,
  mergeTargets,
  planMerge,
  pushAdvice,
} from "../../report/merge.js";
import { type SessionData, analyze } from "../../report/model.js";
import { bestStanding, keepsWithinNoise } from "../../report/noise.js";
import { requireRepo } from "../../workspace/git.js";
import { researchBranch } from "../../workspace/branch-names.js";
import { readFinalizeStatus } from "../../ledger/finalize-records.js";
import type { SessionPaths } from "../../ledger/paths.js";

/** The session's latest finalize result, for the --final merge message. */
function finalizedOf(paths: SessionPaths | null) {
  return paths ? (readFinalizeStatus(paths.finalize)?.result ?? null) : null;
}
import { printText } from "../print.js";
import { columnsOf, fitWidth } from "../../text.js";

interface MergeOptions {
  squash?: boolean;
  rebase?: boolean;
  merge?: boolean;
  into?: string;
  branch?: string;
  tag?: string;
  yes?: boolean;
  dir?: string;
  final?: boolean;
}

/** Said before a merge whose best could be luck: within the noise floor of the baseline, or never re-measured. */
function luckWarning(data: SessionData, a: ReturnType<typeof analyze>): string | null {
  const standing = bestStanding(data, a);
  return standing?.within ? `⚠ The best against the baseline: ${standing.text}. \`autoresearch confirm best --runs 3\` re-runs it first.` : null;
}

/**
 * What is about to be merged, each line broken to `width` columns (undefined: whole lines, for a
 * pipe or a log): a labelled line continues under its label's text, a listed commit under its
 * description.
 */
export function overview(plan: MergePlan, strategy: MergeStrategy | null, data: SessionData | null, width?: number): string {
  const lines = [fitWidth(`Merge ${plan.branch} into ${plan.base}${strategy ? ` (${strategy})` : ""}`, width, "  ")];
  const a = data ? analyze(data) : null;
  if (a && data && a.best && a.baseline && a.kept.length > 0) {
    const weak = new Set(keepsWithinNoise(data, a).map((e) => e.iteration));
    lines.push(
      fitWidth(
        `Final metric: ${data.metricName} ${formatMetric(a.bestMetric)} (iteration ${a.best.iteration}, commit ${shortCommit(a.best.commit)}; ${formatPercent(a.improvementPct)} vs baseline ${formatMetric(a.baselineMetric)})`,
        width,
        " ".repeat("Final metric: ".length),
      ),
      `Kept experiments (${a.kept.length}):`,
      ...a.kept.map((e) => {
        const head = `#${String(e.iteration).padEnd(4)} ${shortCommit(e.commit)}  ${formatMetric(e.metric)}  `;
        return fitWidth(`  ${head}${truncate(oneLine(e.description), 90)}${weak.has(e.iteration) ? "  ⚠ within noise" : ""}`, width, " ".repeat(head.length));
      }),
    );
    const warning = luckWarning(data, a);
    if (warning) lines.push(fitWidth(warning, width, "  "));
  }
  lines.push(fitWidth(`${plan.commits.length} commit${plan.commits.length === 1 ? "" : "s"} on ${plan.branch} not on ${plan.base}:`, width, "  "));
  for (const c of plan.commits.slice(0, 30)) lines.push(fitWidth(`  ${shortCommit(c.sha)} ${truncate(oneLine(c.subject), 100)}`, width, " ".repeat(shortCommit(c.sha).length + 1)));
  if (plan.commits.length > 30) lines.push(`  … and ${plan.commits.length - 30} more`);
  if (plan.diverged) {
    lines.push(
      fitWidth(
        plan.conflicts === null
          ? `${plan.base} has moved since the session started; conflicts will be checked during the merge.`
          : plan.conflicts.length === 0
            ? `${plan.base} has moved since the session started; its changes merge cleanly.`
            : `${plan.base} has moved since the session started and conflicts in: ${plan.conflicts.join(", ")}.`,
        width,
        "  ",
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** What a merge did and where it leaves the user, broken to `width` columns (undefined: whole lines). */
export function mergedText(branch: string, base: string, strategy: MergeStrategy, before: string, after: string, push: string, width?: number): string {
  return `${fitWidth(`Merged ${branch} into ${base} (${strategy}): ${shortCommit(before)} -> ${shortCommit(after)}.\nYou are on ${base}. Nothing was pushed; ${branch} is unchanged. ${push}`, width)}\n`;
}

/** `autoresearch merge`: spec 3.2, done locally after confirmation; never pushes. */
export function registerMerge(program: Command): void {
  program
    .command("merge")
    .description("merge the research branch into its base branch, locally, after confirmation (never pushes, never rewrites the research branch)")
    .option("--squash", "one commit on the base that lists the kept experiments (the default with --yes; asked otherwise)")
    .option("--rebase", "replay the kept commits onto the base, then fast-forward it (a copy is rebased; the research branch stays as it is)")
    .option("--merge", "a merge commit (--no-ff) that keeps the branch history")
    .option("--final", "merge autoresearch/<tag>-final instead: the smallest set `autoresearch finalize` measured (or the best when it did not hold)")
    .option("--into <branch>", "branch to merge into (default: the base branch recorded for that research branch's session, else main, or master when only master exists)")
    .option("--tag <tag>", "the session to merge, as `autoresearch sessions` lists it (its branch autoresearch/<tag>)")
    .option("--branch <branch>", "research branch (default: the current autoresearch/* branch, else the recorded session's)")
    .option("-y, --yes", "do not ask for confirmation (required without a terminal)")
    .option("--dir <path>", "repo of the session (default: the git repo of the current directory)")
    .addHelpText(
      "after",
      `
Shows the kept commits and the final metric first. Without a strategy flag it asks squash / rebase / merge, then asks to confirm (--yes skips both and squashes). Refuses (exit 2) when the working tree has uncommitted changes to tracked files, a git merge or rebase is in progress, or the loop is running; when the base branch moved in a way that conflicts it exits 1 and says how to resolve it by hand, with nothing changed. When the base already has every commit it says so and changes nothing. After a merge you are on the base branch; nothing is pushed. With --final it merges the branch \`autoresearch finalize\` left, autoresearch/<tag>-final: only the kept changes that matter (one commit each), into the session's base branch.

Examples:
  $ autoresearch merge                # asks squash / rebase / merge, confirms
  $ autoresearch merge --squash --into main --yes
  $ autoresearch merge --rebase --tag mar8
  $ autoresearch merge --final --yes  # the smallest set, after finalize`,
    )
    .action(async (options: MergeOptions) => {
      const chosen = (["squash", "rebase", "merge"] as const).filter((s) => options[s]);
      if (chosen.length > 1) throw new UsageError(`choose one of --squash, --rebase, --merge (got ${chosen.map((s) => `--${s}`).join(" ")})`);
      if (!options.yes && !isInteractive()) {
        throw new UsageError("merge asks for confirmation, but there is no terminal to ask in", "Pass --yes to merge without asking.");
      }
      if (options.tag !== undefined && options.branch !== undefined) throw new UsageError("--tag and --branch both name the branch to merge", "Pass one of them.");
      const root = await resolveRoot(process.cwd(), options.dir);
      const git = await requireRepo(root);
      // The loop's lock, or an old-layout session's in the checkout.
      const locks = [lockPath(root), join(root, LEGACY_DIR, "lock")].filter((p): p is string => p !== null);
      const loop = locks.map((p) => loopLiveness(p)).find((l) => l.state === "running") ?? null;
      if (loop?.state === "running") {
        throw new UsageError(`the research loop is still running in this repo: ${loop.text}`, `Stop it first (Ctrl-C in its terminal, or kill -INT ${loop.pid}), then merge.`);
      }
      const located = options.tag === undefined ? locateSession(root) : sessionOfTag(root, options.tag);
      const session = located ? readSessionReadOnly(located) : null;
      const current = await git.currentBranch();
      const targets = mergeTargets({
        branch: options.tag !== undefined ? researchBranch(options.tag) : options.branch,
        into: options.into,
        current,
        session,
        hasMain: await git.branchExists("main"),
        hasMaster: await git.branchExists("master"),
      });
      if (!targets.branch) {
        throw new UsageError("no research branch to merge", "Run it on the autoresearch/<tag> branch, or pass --branch autoresearch/<tag>.");
      }
      // --final: the research branch's finalized sibling, into the same base.
      const branch = options.final ? `${targets.branch}-final` : targets.branch;
      const { base } = targets;
      if (options.final && !(await git.branchExists(branch))) {
        throw new UsageError(`${branch} does not exist: the session was not finalized`, `Run \`autoresearch finalize\` first (it measures which kept changes matter and leaves ${branch}), then merge --final.`);
      }

      await assertCleanTree(git);
      const width = columnsOf(process.stdout);
      const plan = await planMerge(git, branch, base);
      let data: SessionData | null = null;
      try {
        // The records of the session merged (--tag names one other than the current).
        data = loadReportData({ root, ...(options.tag !== undefined && { tag: options.tag }) });
        if (data.session && data.session.branch !== targets.branch) data = null; // another session's records
      } catch {
        data = null;
      }
      // The final branch holds only some kept changes: its message lists what it holds, not the session's keeps.
      const final = options.final && session?.branch === targets.branch ? finalizedOf(located) : null;
      if (options.final) data = null;
      if (data && !data.branch) data.branch = branch;

      if (plan.commits.length === 0) {
        printText(`${fitWidth(`Nothing to merge: ${base} already contains every commit of ${branch}.`, width)}\n`);
        return;
      }
      const strategy0 = chosen[0] ?? null;
      printText(overview(plan, strategy0, data, width));
      if (plan.conflicts && plan.conflicts.length > 0) {
        throw new RuntimeFailure(`cannot merge: ${base} and ${branch} conflict in ${plan.conflicts.join(", ")}`, conflictHint(plan, strategy0 ?? "squash", plan.conflicts));
      }

      let strategy: MergeStrategy = strategy0 ?? "squash";
      if (!options.yes) {
        if (!strategy0) {
          const picked = await select<MergeStrategy>({
            message: `How should ${branch} go into ${base}?`,
            options: [
              { value: "squash", label: "squash", hint: "one commit listing the kept experiments" },
              { value: "rebase", label: "rebase", hint: "the kept commits replayed onto the base" },
              { value: "merge", label: "merge", hint: "a merge commit keeping the branch history" },
            ],
            initialValue: "squash",
          });
          if (isCancel(picked)) {
            printText("Not merged.\n");
            return;
          }
          strategy = picked;
        }
        const luck = data ? luckWarning(data, analyze(data)) !== null : false;
        const ok = await confirm({ message: `Merge ${branch} into ${base} (${strategy})${luck ? " although its best could be luck" : ""}? Nothing will be pushed.`, initialValue: false });
        if (isCancel(ok) || !ok) {
          printText(`${fitWidth(`Not merged; ${branch} is kept as it is.`, width)}\n`);
          return;
        }
      }
      const outcome = await executeMerge(git, plan, { strategy, message: final ? finalMergeMessage(plan, strategy, final) : mergeMessage(plan, strategy, data) });
      if (!outcome.merged) {
        printText(`${fitWidth(`Nothing to merge: ${base} already has these changes.`, width)}\n`);
        return;
      }
      printText(mergedText(branch, base, strategy, outcome.baseBefore, outcome.baseAfter, await pushAdvice(git, base), width));
    });
}
