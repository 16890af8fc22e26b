import { describe, expect, it } from "vitest";
import { rebaseChange } from "../../src/search/rebase.js";

const script = (lr: string, width: string, batch: string) => `const LEARNING_RATE = ${lr};\nconst WIDTH = ${width};\nconst BATCH_SIZE = ${batch};\nrun();\n`;

describe("rebaseChange: a change moved onto the current best", () => {
  it("re-applies edits that are the whole change", () => {
    const edits = [{ search: "const WIDTH = 16;", replace: "const WIDTH = 64;" }];
    expect(rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "32"), script("0.04", "16", "32"), { edits })).toEqual({ ok: true, text: script("0.04", "64", "32") });
  });

  it("an out-of-memory retry (edits made on the crashed script) keeps the crashed change too, next to a line the best changed", () => {
    // The retry's edits only halve the batch; the width change came from the crashed experiment.
    const edits = [{ search: "const BATCH_SIZE = 32;", replace: "const BATCH_SIZE = 16;" }];
    const result = rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "16"), script("0.04", "16", "32"), { edits });
    expect(result).toEqual({ ok: true, text: script("0.04", "64", "16") });
  });

  it("a whole-text change whose neighbouring line changed since still applies", () => {
    expect(rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "32"), script("0.04", "16", "32"), {})).toEqual({ ok: true, text: script("0.04", "64", "32") });
  });

  it("does not apply when the best changed the lines it changes", () => {
    const result = rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "32"), script("0.01", "32", "32"), {});
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.reason).toMatch(/changed by the experiment kept since/);
  });

  it("does not guess where a block that occurs twice goes", () => {
    const from = "a = 1\nb = 2\na = 1\n";
    const to = "a = 1\nb = 2\na = 5\n";
    const onto = "a = 1\nb = 3\nc = 0\na = 1\n";
    expect(rebaseChange(from, to, onto, {}).ok).toBe(false);
  });

  it("the same change made on both sides is no conflict: what the best has already is left as it is", () => {
    // The width change is in the best already (another node made it); the batch change is new.
    const result = rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "16"), script("0.04", "64", "32"), {});
    expect(result).toEqual({ ok: true, text: script("0.04", "64", "16") });
    // All of it there already: the best itself.
    expect(rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "32"), script("0.04", "64", "32"), {})).toEqual({ ok: true, text: script("0.04", "64", "32") });
    // Changed differently on the best: still a conflict.
    expect(rebaseChange(script("0.01", "16", "32"), script("0.01", "64", "32"), script("0.04", "128", "32"), {}).ok).toBe(false);
  });
});

