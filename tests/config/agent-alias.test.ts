import { describe, expect, it } from "vitest";
import { AGENT_PRESET_NAMES } from "../../src/config/options.js";
import { agentAlias } from "../../src/config/resolve.js";
import { AGENT_PRESETS } from "../../src/proposers/agent/presets.js";
import { compareVersions } from "../../src/proposers/agent/version.js";

describe("--proposer <agent preset>", () => {
  it("names exactly the agent presets", () => {
    expect([...AGENT_PRESET_NAMES].sort()).toEqual([...AGENT_PRESETS].sort());
  });

  it("stands for --proposer agent --agent <preset>; other proposers are left alone", () => {
    expect(agentAlias({ proposer: "codex" }, "--proposer")).toEqual({ proposer: "agent", agent: "codex" });
    expect(agentAlias({ proposer: "codex", agent: "codex" }, "--proposer")).toEqual({ proposer: "agent", agent: "codex" });
    expect(agentAlias({ proposer: "builtin" }, "--proposer")).toEqual({ proposer: "builtin" });
    expect(() => agentAlias({ proposer: "codex", agent: "claude" }, "--proposer")).toThrow(/names a coding agent, but --agent is "claude"/);
  });
});

describe("agent release numbers", () => {
  it("compare part by part, as numbers", () => {
    expect(compareVersions("2.1.197", "2.1.200")).toBeLessThan(0);
    expect(compareVersions("2.10.0", "2.9.9")).toBeGreaterThan(0);
    expect(compareVersions("1.2", "1.2.0")).toBe(0);
  });
});
