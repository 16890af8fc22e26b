import { describe, expect, it } from "vitest";
import { sanitizeEnv } from "../../src/runner/run-env.js";

// sanitizeEnv remembers each name=value verdict (it runs for every git call and every run): a
// variable whose value changes between calls is judged again, by its new value.
describe("sanitizeEnv's remembered verdicts", () => {
  it("a value that becomes a credential is removed, and kept again once it is plain", () => {
    expect(sanitizeEnv({ CACHE_URL: "redis://cache:6379" })).toEqual({ CACHE_URL: "redis://cache:6379" });
    expect(sanitizeEnv({ CACHE_URL: "redis://user:hunter2@cache:6379" })).toEqual({});
    expect(sanitizeEnv({ CACHE_URL: "redis://cache:6379" })).toEqual({ CACHE_URL: "redis://cache:6379" });
  });

  it("the same value under a secret name is removed whatever was remembered for another name", () => {
    expect(sanitizeEnv({ MODE: "abc" })).toEqual({ MODE: "abc" });
    expect(sanitizeEnv({ MY_TOKEN: "abc", MODE: "abc" })).toEqual({ MODE: "abc" });
  });

  it("passEnv and deny still win over a remembered verdict", () => {
    const env = { HF_TOKEN: "hf_x", PLAIN: "1" };
    expect(sanitizeEnv(env)).toEqual({ PLAIN: "1" });
    expect(sanitizeEnv(env, ["HF_TOKEN"])).toEqual({ HF_TOKEN: "hf_x", PLAIN: "1" });
    expect(sanitizeEnv(env, [], ["PLAIN"])).toEqual({});
  });

  it("many distinct values (past the memo's size) are each judged right", () => {
    for (let i = 0; i < 5000; i++) {
      const value = i % 2 === 0 ? `v${i}` : `https://u:p${i}@host`;
      expect(Object.keys(sanitizeEnv({ X: value }))).toEqual(i % 2 === 0 ? ["X"] : []);
    }
  });
});
