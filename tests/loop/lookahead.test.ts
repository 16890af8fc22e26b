import { describe, expect, it } from "vitest";
import { lookaheadOf } from "../../src/search/scheduler.js";
import type { SessionState } from "../../src/search/session.js";

const session = (workers: number, config: { search?: "tree" | "chain"; lookahead?: number }) => ({ info: { config }, workers: Array.from({ length: workers }, () => ({})) }) as unknown as SessionState;

describe("the lookahead in force", () => {
  it("proposes nothing ahead for an instant proposer with several workers in a tree (a wave chosen blind otherwise)", () => {
    expect(lookaheadOf(session(4, { search: "tree" }), { instant: true })).toBe(0);
    expect(lookaheadOf(session(4, { search: "tree" }), {})).toBe(4);
    expect(lookaheadOf(session(4, { search: "chain" }), { instant: true })).toBe(4);
    expect(lookaheadOf(session(1, { search: "tree" }), { instant: true })).toBe(1);
    expect(lookaheadOf(session(4, { search: "tree", lookahead: 2 }), { instant: true })).toBe(2);
  });

  it("proposes nothing ahead for a plan with one worker (its steps build on each other), unless asked", () => {
    expect(lookaheadOf(session(1, { search: "tree" }), { inOrder: true })).toBe(0);
    expect(lookaheadOf(session(1, { search: "chain" }), { inOrder: true })).toBe(0);
    expect(lookaheadOf(session(1, { search: "tree", lookahead: 1 }), { inOrder: true })).toBe(1);
    expect(lookaheadOf(session(2, { search: "chain" }), { inOrder: true })).toBe(2);
  });
});
