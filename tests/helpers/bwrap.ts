/**
 * Tests that run real runs in bubblewrap. Outside CI they skip with a visible message where bwrap
 * cannot start a sandbox; in CI (CI=true) they fail instead, so a runner without bubblewrap
 * cannot pass them as skipped (.ci/run installs the `bubblewrap` package).
 */
import { describe, it } from "vitest";
import { probeBwrap } from "../../src/sandbox/probe.js";

const inCi = process.env.CI === "true" || process.env.CI === "1";
export const bwrapState = process.platform === "linux" ? probeBwrap() : { ok: false, why: `not Linux (${process.platform})` };

export function describeBwrap(name: string, body: () => void): void {
  if (bwrapState.ok) {
    describe(name, body);
    return;
  }
  if (inCi) {
    describe(name, () => {
      it("needs bubblewrap in CI", () => {
        throw new Error(`bwrap cannot start a sandbox here (${bwrapState.why}); .ci/run installs the bubblewrap package`);
      });
    });
    return;
  }
  console.warn(`\n[skip] ${name}: bwrap cannot start a sandbox here (${bwrapState.why}). Install it: apt-get install bubblewrap\n`);
  describe.skip(name, body);
}
