import { describe, expect, it } from "vitest";
import { OPTION_DEFS, type OptionKey } from "../../src/config/options.js";
import { planQuestions } from "../../src/config/prompts.js";
import { REQUIRED_KEYS } from "../../src/config/resolve.js";

const KEYS = Object.keys(OPTION_DEFS) as OptionKey[];

describe("init asks from the option table", () => {
  it("every option of the table is either asked by init or marked as not asked, with a reason", () => {
    const { questions, unmarked } = planQuestions(OPTION_DEFS);
    expect(unmarked).toEqual([]);
    const notAsked = KEYS.filter((key) => "notAsked" in OPTION_DEFS[key].ask);
    expect([...questions.map((q) => q.key), ...notAsked].sort()).toEqual([...KEYS].sort());
  });

  it("fails an option that says neither how it is asked nor why not (self-check)", () => {
    const { ask: _ask, ...unmarkedOption } = OPTION_DEFS.seed;
    const withUnmarked = { ...OPTION_DEFS, brandNew: { ...unmarkedOption, ask: undefined } };
    expect(planQuestions(withUnmarked).unmarked).toEqual(["brandNew"]);
    // A reason must say something, and a way of asking must be one the init driver knows.
    expect(planQuestions({ ...OPTION_DEFS, brandNew: { ...OPTION_DEFS.seed, ask: { notAsked: " " } } }).unmarked).toEqual(["brandNew"]);
    const unknownWay = { when: "init", as: "slider", question: "How much?" } as unknown as (typeof OPTION_DEFS)["seed"]["ask"];
    expect(planQuestions({ ...OPTION_DEFS, brandNew: { ...OPTION_DEFS.seed, ask: unknownWay } }).unmarked).toEqual(["brandNew"]);
  });

  it("asks in the table's order: scripts, the command (before the budget: the platform follows from it), budget, metric and direction, then the optional settings", () => {
    expect(planQuestions().questions.map((q) => q.key)).toEqual(["train", "readonly", "command", "budget", "metric", "direction", "maxIterations", "scope", "tag", "results", "baselineRuns", "keepRule", "workers"]);
    // The required settings (no default, never assumed) are asked whenever they are missing, by run too.
    const missing = planQuestions().questions.filter((q) => q.ask.when === "missing").map((q) => q.key);
    expect(missing).toEqual([...REQUIRED_KEYS]);
    expect(missing).toEqual(["budget", "metric", "direction"]);
  });
});
