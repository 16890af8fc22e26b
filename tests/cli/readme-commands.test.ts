import { readFileSync } from "node:fs";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { BEGIN_MARKER, commandBlock, commandTable, currentBlock, END_MARKER, fullProgram, replaceBlock } from "../../src/cli/command-table.js";
import { COMMANDS } from "../../src/cli/commands/index.js";

const README = new URL("../../README.md", import.meta.url);

describe("the README's command table", () => {
  it("is exactly what scripts/gen-readme.mjs generates from the commands' options (no drift)", async () => {
    const committed = currentBlock(readFileSync(README, "utf8"));
    expect(committed, "README.md lost its commands:begin/end markers").not.toBeNull();
    expect(committed, "regenerate it: npm run gen:readme").toBe(await commandBlock());
  });

  it("has one row per command, each listing every option the command registers", async () => {
    const program = await fullProgram();
    const table = commandTable(program);
    const rows = table.split("\n").slice(2);
    expect(rows.map((r) => /^\| `autoresearch (\S+?)[ `]/.exec(r)?.[1])).toEqual(COMMANDS.map((c) => c.name));
    for (const cmd of program.commands) {
      const row = rows.find((r) => r.startsWith(`| \`autoresearch ${cmd.name()}`)) as string;
      for (const option of cmd.options) expect(row, `${cmd.name()} ${option.flags}`).toContain(`\`${option.flags.replace(/\|/g, "\\|")}\``);
    }
    // Arguments as --help writes them, pipes escaped so a cell never splits.
    expect(table).toContain("| `autoresearch note <text...>` |");
    expect(table).toContain("| `autoresearch report [results]` |");
    expect(table).toContain("`--direction <min\\|max>`");
  });

  it("a new option shows up in the table", () => {
    const program = new Command("autoresearch");
    program.command("x").description("does x").option("--alpha <n>", "a").option("--beta", "b");
    program.command("y").description("does y | z").argument("<file>");
    expect(commandTable(program)).toBe(
      ["| command | options | what it does |", "|---|---|---|", "| `autoresearch x` | `--alpha <n>` `--beta` | does x |", "| `autoresearch y <file>` | (none) | does y \\| z |"].join("\n"),
    );
  });

  it("replaces only the marked block, and refuses a README without one", () => {
    const text = `# title\n\n${BEGIN_MARKER}\nold\n${END_MARKER}\n\nafter\n`;
    expect(replaceBlock(text, `${BEGIN_MARKER}\nnew\n${END_MARKER}`)).toBe(`# title\n\n${BEGIN_MARKER}\nnew\n${END_MARKER}\n\nafter\n`);
    expect(() => replaceBlock("# no block\n", "x")).toThrow(/no .* block to replace/);
    expect(currentBlock("# no block\n")).toBeNull();
  });
});

describe("the README's Configuration table", () => {
  // Hand-written (each row explains its key), so a test keeps it to the schema's keys: it once
  // named `checks` for the file's `check` and lacked four keys.
  it("names every key of the config file's schema, and no key the schema lacks", async () => {
    const { configJsonSchema } = await import("../../src/config/schema-file.js");
    const keys = Object.keys(configJsonSchema().properties as Record<string, unknown>).filter((k) => k !== "$schema");
    const text = readFileSync(README, "utf8");
    const section = text.slice(text.indexOf("\n## Configuration\n"), text.indexOf("\n## ", text.indexOf("\n## Configuration\n") + 1));
    const rows = section.split("\n").filter((l) => l.startsWith("| `"));
    // A row's first cell: its key(s) in code spans, then the flag(s) after " / ".
    const named = rows.flatMap((r) => (r.split(" | ")[0] as string).split(" / ")[0]?.match(/`[^`]+`/g) ?? []).map((k) => k.slice(1, -1));
    expect(rows.length).toBeGreaterThan(30);
    expect([...named].sort()).toEqual([...keys].sort());
  });
});
