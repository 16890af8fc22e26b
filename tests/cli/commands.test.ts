import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { COMMANDS, commandFor } from "../../src/cli/commands/index.js";
import { BIN, cli } from "../helpers/cli.js";
import { createRepo } from "../helpers/repo.js";

const RECORDER = fileURLToPath(new URL("../helpers/record-modules.mjs", import.meta.url));

/**
 * The CLI runs from its bundle (dist/cli-bundle): a chunk stands for the files bundled into it,
 * which its source map lists (tsc's maps lead from dist/ on to src/); so a loaded chunk is
 * counted as its own URL and theirs.
 */
function withBundledSources(url: string): string[] {
  if (!url.startsWith("file:") || !url.includes("/dist/cli-bundle/")) return [url];
  const map = `${fileURLToPath(url)}.map`;
  if (!existsSync(map)) return [url];
  const { sources } = JSON.parse(readFileSync(map, "utf8")) as { sources: string[] };
  return [url, ...sources.map((source) => pathToFileURL(join(map, "..", source)).href)];
}

/** Runs the built CLI with a loader hook that records every module it loads; returns their URLs (a chunk's with its sources'). */
function loadedModules(cwd: string, args: string[]): { code: number | null; modules: string[]; stdout: string } {
  const log = join(mkdtempSync(join(tmpdir(), "ar-modules-")), "modules.txt");
  writeFileSync(log, "");
  const result = spawnSync(process.execPath, ["--import", RECORDER, BIN, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", AUTORESEARCH_MODULE_LOG: log },
  });
  const modules = readFileSync(log, "utf8").split("\n").filter(Boolean).flatMap(withBundledSources);
  return { code: result.status, modules, stdout: result.stdout };
}

const HEAVY = [/\/node_modules\/zod\//, /\/node_modules\/ai\//, /\/node_modules\/@ai-sdk\//, /\/node_modules\/@resvg\//, /\/node_modules\/@clack\//];
const heavyIn = (modules: string[]) => modules.filter((url) => HEAVY.some((re) => re.test(url)));

describe("commands load only what they use (DESIGN.md: startup budget)", () => {
  const repo = createRepo({
    "results.tsv": "commit\tval_bpb\tmemory_gb\tstatus\tdescription\nabc1234\t1.000000\t0.0\tkeep\tbaseline\nabc1235\t0.990000\t0.0\tkeep\tlower lr\n",
  });

  for (const args of [["--version"], ["status"], ["report", "--help"]]) {
    it(`\`autoresearch ${args.join(" ")}\` loads neither zod, the AI SDK, the prompts nor the renderer`, () => {
      const { code, modules, stdout } = loadedModules(repo, args);
      expect(code).toBe(0);
      expect(stdout.length).toBeGreaterThan(0);
      // The recorder saw the CLI itself, its bundle and what is in it, so an empty list cannot pass for a light one.
      expect(modules.some((url) => url.endsWith("/dist/cli-bundle/main.js"))).toBe(true);
      expect(modules.some((url) => url.endsWith("/src/cli/main.ts"))).toBe(true);
      expect(modules.some((url) => /\/node_modules\/commander\//.test(url))).toBe(true);
      expect(heavyIn(modules)).toEqual([]);
    });
  }

  it("`run` loads zod for its flags but no LLM SDK unless an LLM proposer is used", () => {
    const { code, modules } = loadedModules(repo, ["run", "--help"]);
    expect(code).toBe(0);
    expect(modules.some((url) => /\/node_modules\/zod\//.test(url))).toBe(true);
    expect(modules.filter((url) => /\/node_modules\/(ai|@ai-sdk)\//.test(url))).toEqual([]);
  });
});

describe("the command table", () => {
  it("says of each command what its module registers, so --help from the table is complete", async () => {
    for (const entry of COMMANDS) {
      const program = new Command();
      (await entry.load())(program);
      const command = program.commands.find((c) => c.name() === entry.name);
      expect(command, entry.name).toBeDefined();
      expect(command?.description()).toBe(entry.description);
      const args =
        command?.registeredArguments
          .map((a) => {
            const name = `${a.name()}${a.variadic ? "..." : ""}`;
            return a.required ? `<${name}>` : `[${name}]`;
          })
          .join(" ") ?? "";
      expect(args, entry.name).toBe(entry.args ?? "");
      expect(command?.options.length, entry.name).toBeGreaterThan(0);
    }
  });

  it("finds the command after options and behind `help`", () => {
    expect(commandFor(["status", "--json"])?.name).toBe("status");
    expect(commandFor(["help", "report"])?.name).toBe("report");
    expect(commandFor(["--version"])).toBeUndefined();
    expect(commandFor(["bogus"])).toBeUndefined();
  });

  it("lists every command in --help and still runs `help <command>`", () => {
    const help = cli(process.cwd(), ["--help"]);
    expect(help.code).toBe(0);
    const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    for (const entry of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${entry.name} \\[options\\]${entry.args ? ` ${escapeRe(entry.args)}` : ""}`, "m"));
    const report = cli(process.cwd(), ["help", "report"]);
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/--no-chart/);
    expect(cli(process.cwd(), ["bogus"]).code).toBe(2);
  });
});
