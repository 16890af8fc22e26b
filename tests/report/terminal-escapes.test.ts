import { mkdirSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { legacyPaths } from "../../src/ledger/paths.js";
import { terminalText } from "../../src/text.js";
import { cli } from "../helpers/cli.js";
import { createGitSession, removeDir, tempDir } from "../helpers/session-fixture.js";

/** What a hostile script or model can put in text the tool prints: each must never reach the terminal. */
const TITLE = "\u001b]0;pwned title\u0007";
const CLIPBOARD = "\u001b]52;c;ZWNobyBwd25lZA==\u0007";
const CLEAR = "\u001b[2J";
const C1_CSI = "\u009b2J";
const HOSTILE = `${TITLE}lr up${CLIPBOARD}${CLEAR}${C1_CSI} now`;

// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting that no control character is left
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe("terminal output carries no control sequences from descriptions, rationales or logs", () => {
  it("show N and compare A B print the text without the sequences", () => {
    const root = tempDir("ar-escapes-");
    dirs.push(root);
    const s = createGitSession(root);
    const records = s.records.map((r) => (r.id === 3 ? { ...r, description: HOSTILE, rationale: `because ${CLIPBOARD}it helps${TITLE}` } : r));
    const paths = legacyPaths(root);
    writeFileSync(paths.experiments, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
    mkdirSync(paths.runs, { recursive: true });
    writeFileSync(paths.runLog(3), `step 1${CLEAR}\n${TITLE}step 2 ${CLIPBOARD}\n\u001b[31mval_bpb: 0.97\u001b[0m ${C1_CSI}\n`);

    const show = cli(root, ["show", "3"]);
    expect(show.code, show.stderr).toBe(0);
    const compare = cli(root, ["compare", "1", "3"]);
    expect(compare.code, compare.stderr).toBe(0);
    for (const out of [show.stdout, compare.stdout]) {
      expect(out).not.toMatch(CONTROLS);
      expect(out).not.toContain("pwned title");
      expect(out).not.toContain("ZWNobyBwd25lZA==");
      // The readable text is still there.
      expect(out).toContain("lr up");
    }
    expect(show.stdout).toContain("Rationale:  because it helps");
    expect(show.stdout).toContain("val_bpb: 0.97");
    expect(show.stdout).toContain("step 2");
  });

  it("terminalText keeps lines and tabs, and shows what a carriage return leaves on its line", () => {
    expect(terminalText(`a${TITLE}b\tc\n${CLEAR}d${C1_CSI}\n10%\r100%\r\nend`)).toBe("ab\tc\nd 2J\n100%\nend");
  });
});

