import { isAbsolute, join } from "node:path";
import type { Proposer, ResearchConfig } from "../types.js";
import { BuiltinProposer } from "./builtin/index.js";
import { loadPlan, PlanProposer } from "./plan.js";

export interface ProposerDeps {
  root: string;
  env: Record<string, string | undefined>;
}

/** The one place a proposer name becomes a Proposer; bad settings fail here, before any change. */
export async function createProposer(config: ResearchConfig, deps: ProposerDeps): Promise<Proposer> {
  switch (config.proposer) {
    case "builtin":
      return new BuiltinProposer({ seed: config.seed });
    case "plan": {
      const path = config.plan as string;
      return new PlanProposer(loadPlan(isAbsolute(path) ? path : join(deps.root, path)));
    }
    default:
      throw new Error(`proposer ${config.proposer} is not wired yet`);
  }
}
