import { readFileSync } from "node:fs";
import { z } from "zod";
import { UsageError } from "../errors.js";
import { CATEGORIES, type Proposal, type ProposalContext, type Proposer } from "../types.js";

const planLineSchema = z
  .object({
    description: z.string().min(1),
    category: z.enum(CATEGORIES).default("other"),
    edits: z.array(z.object({ search: z.string().min(1), replace: z.string() })).min(1),
    rationale: z.string().optional(),
    direction: z.string().optional(),
  })
  .strict();

/** Reads plan.jsonl: one proposal per line; every bad line is reported with its number. */
export function loadPlan(path: string): Proposal[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read plan file ${path}`, "Check the path given to --plan.");
  }
  const steps: Proposal[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "" || line.trim().startsWith("//")) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      problems.push(`${path}:${index + 1}: not valid JSON (${(error as Error).message})`);
      return;
    }
    const parsed = planLineSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`${path}:${index + 1}: ${issue?.path.join(".") || "line"}: ${issue?.message}`);
      return;
    }
    steps.push({ ...parsed.data, planStep: steps.length });
  });
  if (problems.length > 0) {
    throw new UsageError(problems.join("\n"), 'Each line must be {"description": "...", "category": "...", "edits": [{"search": "...", "replace": "..."}]}.');
  }
  if (steps.length === 0) throw new UsageError(`plan file ${path} has no steps`, "Add one JSON proposal per line.");
  return steps;
}

/**
 * Runs a plan in order. The position is derived from the session's records (experiments and
 * rejected proposals carry their planStep), so a resumed session continues where it stopped.
 */
export class PlanProposer implements Proposer {
  readonly name = "plan";
  readonly canRetryOom = false;
  readonly inOrder = true;

  constructor(private readonly steps: Proposal[]) {}

  async propose(ctx: ProposalContext): Promise<Proposal | null> {
    // Steps waiting or running count as done: the next proposal is the step after them.
    const done = [...ctx.history, ...ctx.rejected, ...(ctx.inFlight ?? [])]
      .map((entry) => entry.planStep)
      .filter((step): step is number => typeof step === "number");
    const next = done.length === 0 ? 0 : Math.max(...done) + 1;
    return this.steps[next] ?? null;
  }
}
