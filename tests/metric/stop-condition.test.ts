import { describe, expect, it } from "vitest";
import { parseStopCondition, stopConditionMet } from "../../src/metric/stop-condition.js";

describe("stop conditions", () => {
  it.each([
    ["val_bpb <= 0.97", { metric: "val_bpb", op: "<=", value: 0.97 }],
    ["  accuracy>=0.9 ", { metric: "accuracy", op: ">=", value: 0.9 }],
    ["eval/loss < 1e-3", { metric: "eval/loss", op: "<", value: 0.001 }],
    ["reward > -.5", { metric: "reward", op: ">", value: -0.5 }],
    ["top1.acc >= 75", { metric: "top1.acc", op: ">=", value: 75 }],
  ])("parses %s", (text, expected) => expect(parseStopCondition(text)).toEqual(expected));

  it.each(["val_bpb", "val_bpb = 1", "val_bpb <= ", "<= 1", "val_bpb <= 1.2.3", "val_bpb <= abc", "1x <= 2", "val_bpb <= 1e999"])("refuses %j", (text) =>
    expect(parseStopCondition(text)).toBeNull(),
  );

  it("is met by the best value on the right side of the bound", () => {
    const at = (text: string) => parseStopCondition(text) as NonNullable<ReturnType<typeof parseStopCondition>>;
    expect(stopConditionMet(at("m <= 1"), 1)).toBe(true);
    expect(stopConditionMet(at("m < 1"), 1)).toBe(false);
    expect(stopConditionMet(at("m >= 1"), 1)).toBe(true);
    expect(stopConditionMet(at("m > 1"), 1)).toBe(false);
    expect(stopConditionMet(at("m > 1"), 1.5)).toBe(true);
    expect(stopConditionMet(at("m <= 1"), 1.5)).toBe(false);
  });
});
