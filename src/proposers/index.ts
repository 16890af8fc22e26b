import { isAbsolute, join } from "node:path";
import type { ResearchConfig } from "../config/options.js";
import type { Proposer } from "../types.js";
import { BuiltinProposer } from "./builtin/index.js";
import { loadPlan, PlanProposer } from "./plan.js";

export interface ProposerDeps {
  root: string;
  env: Record<string, string | undefined>;
}

function inRepo(root: string, path: string): string {
  return isAbsolute(path) ? path : join(root, path);
}

/** The one place a proposer name becomes a Proposer; bad settings fail here, before any change. */
export async function createProposer(config: ResearchConfig, deps: ProposerDeps): Promise<Proposer> {
  switch (config.proposer) {
    case "builtin":
      return new BuiltinProposer({ seed: config.seed });
    case "plan":
      return new PlanProposer(loadPlan(inRepo(deps.root, config.plan as string)));
    case "anthropic":
    case "openai":
    case "openai-compatible": {
      // The AI SDK is loaded only when an LLM proposes.
      const { createLlmProposer } = await import("./llm/index.js");
      return createLlmProposer({
        provider: config.proposer,
        model: config.model as string,
        env: deps.env,
        ...(config.baseUrl !== undefined && { baseUrl: config.baseUrl }),
        ...(config.apiKeyEnv !== undefined && { apiKeyEnv: config.apiKeyEnv }),
        ...(config.openaiApi !== undefined && { openaiApi: config.openaiApi }),
        ...(config.prices !== undefined && { prices: inRepo(deps.root, config.prices) }),
      });
    }
    case "agent": {
      const { createAgentProposer } = await import("./agent/index.js");
      return createAgentProposer({
        command: config.agent as string,
        cwd: deps.root,
        trainPath: config.train,
        protectedPaths: [config.results],
        env: deps.env,
        ...(config.agentTimeoutSec !== undefined && { timeoutSec: config.agentTimeoutSec }),
      });
    }
    default:
      throw new Error(`unknown proposer ${config.proposer}`);
  }
}
