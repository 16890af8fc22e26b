import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { fakeProject, git } from "../helpers/repo.js";

const GOOD = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "0", "--yes"];

function without(flag: string, args = GOOD): string[] {
  const i = args.indexOf(flag);
  return [...args.slice(0, i), ...args.slice(i + 2)];
}

function withValue(flag: string, value: string, args = GOOD): string[] {
  const i = args.indexOf(flag);
  return i === -1 ? [...args, flag, value] : [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

describe("autoresearch run refuses bad input with exit 2 and changes nothing", () => {
  const cases: { name: string; args: string[]; setup?: (root: string) => void; message: RegExp; fix: RegExp }[] = [
    {
      // Two checks, "python3" (which passes) and "check.py" (no command): a good change would be discarded for it.
      name: "a check's words given as separate arguments",
      args: [...GOOD, "--check", "python3", "check.py"],
      message: /--check "check\.py" is not a command: each --check argument is one whole command/,
      fix: /fix: Quote each command with its arguments, e\.g\. --check "python3 check\.py"/,
    },
    { name: "missing training script", args: withValue("--train", "nope.js"), message: /--train "nope\.js": no such file/, fix: /--train/ },
    { name: "missing read-only script", args: withValue("--readonly", "data.js"), message: /--readonly "data\.js": no such file/, fix: /--readonly/ },
    { name: "budget abc", args: withValue("--budget", "abc"), message: /--budget "abc": expected a positive duration/, fix: /--help/ },
    { name: "budget -5m", args: withValue("--budget", "-5m"), message: /--budget "-5m"/, fix: /--help/ },
    { name: "budget 0", args: withValue("--budget", "0"), message: /--budget "0"/, fix: /--help/ },
    { name: "unknown proposer", args: withValue("--proposer", "magic"), message: /--proposer "magic"/, fix: /--help/ },
    { name: "bad tag", args: withValue("--tag", "bad tag!"), message: /invalid tag "bad tag!"/, fix: /letters, digits/ },
    { name: "direction up", args: withValue("--direction", "up"), message: /--direction "up"/, fix: /--help/ },
    { name: "missing budget, metric and direction", args: without("--direction", without("--metric", without("--budget"))), message: /--budget[\s\S]*"budget"[\s\S]*--metric[\s\S]*--direction/, fix: /flags or in autoresearch\.config\.json/ },
    { name: "unreadable plan", args: withValue("--plan", "missing.jsonl", withValue("--proposer", "plan")), message: /cannot read plan file/, fix: /--plan/ },
    { name: "malformed plan", args: withValue("--plan", "plan.jsonl", withValue("--proposer", "plan")), setup: (root) => writeFileSync(join(root, "plan.jsonl"), '{"description": "x"}\nnot json\n'), message: /plan\.jsonl:1: edits[\s\S]*plan\.jsonl:2: not valid JSON/, fix: /Each line must be/ },
    { name: "dirty tree", args: GOOD, setup: (root) => writeFileSync(join(root, "train.js"), "// changed\n"), message: /uncommitted changes/, fix: /git stash/ },
    { name: "existing branch", args: withValue("--tag", "taken"), setup: (root) => git(root, "branch", "autoresearch/taken"), message: /branch autoresearch\/taken already exists/, fix: /resume|--tag/ },
    { name: "stop condition on another metric", args: withValue("--stop-when", "val_bpb <= 1"), message: /names val_bpb, but the session optimises val_loss/, fix: /--stop-when "val_loss <= <value>"/ },
    { name: "read-only script not committed", args: withValue("--readonly", "data.js"), setup: (root) => writeFileSync(join(root, "data.js"), "// new\n"), message: /read-only script data\.js is not committed/, fix: /git add data\.js/ },
    { name: "results in a folder that does not exist", args: withValue("--results", "out/results.tsv"), message: /--results "out\/results\.tsv": the folder out does not exist/, fix: /paths are relative/i },
    { name: "results inside the tool's own folder", args: withValue("--results", ".autoresearch/results.tsv"), setup: (root) => mkdirSync(join(root, ".autoresearch")), message: /is inside \.autoresearch\//, fix: /paths are relative/i },
    { name: "results equal to the summary file", args: withValue("--results", "autoresearch-summary.md"), message: /is a file the tool writes itself/, fix: /paths are relative/i },
    {
      name: "a config file whose read-only path normalises to the training script",
      args: [...without("--readonly"), "--config", "cfg.json"],
      setup: (root) => writeFileSync(join(root, "cfg.json"), '{"readonly": ["./sub/../train.js"]}'),
      message: /--readonly "\.\/sub\/\.\.\/train\.js" is the training script train\.js/,
      fix: /paths are relative/i,
    },
    {
      name: "a read-only script that is a symbolic link out of the repo",
      args: withValue("--readonly", "data.js"),
      setup: (root) => {
        const outside = join(mkdtempSync(join(tmpdir(), "ar-outside-")), "data.js");
        writeFileSync(outside, "// outside\n");
        symlinkSync(outside, join(root, "data.js"));
        git(root, "add", "data.js");
        git(root, "commit", "-qm", "link");
      },
      message: /--readonly "data\.js" is a symbolic link or leads outside the repository/,
      fix: /paths are relative/i,
    },
    {
      name: "a read-only script inside a submodule",
      args: withValue("--readonly", "vendor/eval.js"),
      setup: (root) => {
        mkdirSync(join(root, "vendor"));
        git(join(root, "vendor"), "init", "-q");
        writeFileSync(join(root, "vendor", "eval.js"), "// evaluation\n");
      },
      message: /inside the submodule or nested repository vendor\//,
      fix: /paths are relative/i,
    },
    { name: "a metric pattern without a capture group", args: withValue("--metric-pattern", "^val_loss: [0-9.]+"), message: /has no capture group/, fix: /parentheses/ },
    { name: "bad config file key", args: [...GOOD, "--config", "cfg.json"], setup: (root) => writeFileSync(join(root, "cfg.json"), '{"budgett": "5m"}'), message: /unknown key\(s\) "budgett"/, fix: /Keys accepted/ },
    // A value not among a key's choices: listed plainly (zod's own words read `Invalid option: expected one of "any"|"threshold"|"confirm"`).
    { name: "a config value not among its choices", args: [...GOOD, "--config", "cfg.json"], setup: (root) => writeFileSync(join(root, "cfg.json"), '{"keepRule": "bogus"}'), message: /"keepRule": not one of any, threshold, confirm$/m, fix: /Fix the value: `autoresearch run --help`/ },
    // Bounds and types said plainly (zod's read "Too small: expected number to be >0", "Invalid input: expected int, received number").
    { name: "a config number out of bounds", args: [...GOOD, "--config", "cfg.json"], setup: (root) => writeFileSync(join(root, "cfg.json"), '{"workers": 0}'), message: /"workers": must be more than 0$/m, fix: /Fix the value/ },
    { name: "a config number not whole", args: [...GOOD, "--config", "cfg.json"], setup: (root) => writeFileSync(join(root, "cfg.json"), '{"maxIterations": 1.5}'), message: /"maxIterations": must be a whole number, or unlimited$/m, fix: /Fix the value/ },
    // Its fix names a model of that provider (it offered claude-sonnet-4-5 or gpt-5 to a local server's user).
    { name: "an LLM proposer without a model", args: withValue("--proposer", "openai-compatible"), message: /the openai-compatible proposer needs a model id/, fix: /Pass --model\. For example --model qwen2\.5-coder:32b \(the name your server lists\)/ },
    // Once ignored without a word: the table read "builtin (gpt-5)" while the offline search ran.
    { name: "an LLM setting with the builtin search", args: [...GOOD, "--model", "gpt-5"], message: /--model \(config key "model"\) is read by the LLM proposers, but the proposer is builtin/, fix: /--proposer anthropic, openai, openai-compatible, or leave --model out/ },
    { name: "an agent setting with an LLM proposer", args: [...GOOD, "--proposer", "openai", "--model", "gpt-5", "--agent-timeout", "5m"], message: /--agent-timeout \(config key "agentTimeout"\) is read by the agent proposer, but the proposer is openai/, fix: /--proposer agent/ },
    { name: "a flag value not among its choices", args: withValue("--proposer", "bogus"), message: /--proposer "bogus": not one of builtin, plan, anthropic, openai, openai-compatible, agent \(or a coding agent's name: claude, codex, aider, gemini, opencode\)$/m, fix: /--help/ },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const root = fakeProject();
      c.setup?.(root);
      const before = repoSnapshot(root);
      const result = cli(root, c.args);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(c.message);
      expect(result.stderr).toMatch(/fix:|\(run with --help/);
      expect(result.stderr).toMatch(c.fix);
      expect(repoSnapshot(root)).toBe(before);
    });
  }

  it("outside a git repository", () => {
    const dir = mkdtempSync(join(tmpdir(), "ar-norepo-"));
    writeFileSync(join(dir, "train.js"), "console.log('val_loss: 1')\n");
    const result = cli(dir, GOOD);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not a git repository/);
    expect(result.stderr).toMatch(/git init/);
  });

  it("a baseline that crashes ends with exit 1 and says why", () => {
    const root = fakeProject({ "train.js": "console.log('loading');\nprocess.exit(4);\n" });
    const result = cli(root, GOOD);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/baseline run failed \(exit code 4: loading\)/);
    expect(git(root, "branch", "--show-current")).toBe("main");
  });

  it("a baseline with no metric line lists the lines that look like one, and the suggested flags really read it", () => {
    const root = fakeProject({ "train.js": "console.log('step 1 | loss 2.5');\nconsole.log('epoch 1 val_loss 0.5');\nconsole.log('accuracy=0.9');\n" });
    const result = cli(root, withValue("--metric", "val_bpb"));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/baseline run failed \(no metric line in the output\)/);
    expect(result.stderr).toMatch(/line 2: epoch 1 val_loss 0\.5/);
    expect(result.stderr).toMatch(/read it with: --metric accuracy --direction max\n/);
    const suggested = /read it with: --metric val_loss --metric-pattern '([^']+)'/.exec(result.stderr)?.[1];
    expect(suggested, result.stderr).toBeDefined();
    // The same run again with the suggested flags: the runner reads 0.5 as the baseline.
    const again = cli(root, [...withValue("--metric", "val_loss"), "--metric-pattern", suggested as string, "--tag", "again"]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(root, "results.tsv"), "utf8")).toMatch(/\t0\.5(00000)?\t/);
  });

  it("a baseline killed at the hard timeout says how long it ran, the budget and the timeout, and what to pass", () => {
    const root = fakeProject({ "train.js": "setTimeout(() => console.log('val_loss: 1'), 60000);\n" });
    const result = cli(root, [...withValue("--budget", "1s"), "--timeout", "2s"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/It ran 2s and was killed at the hard timeout of 2s \(2x the budget of 1s\)/);
    expect(result.stderr).toMatch(/--timeout 3s/);
    expect(git(root, "branch", "--show-current")).toBe("main");
  });

  it("a training script whose name needs shell quoting runs under the default command", () => {
    const name = "my train's $v2 (copy).js";
    const root = fakeProject();
    git(root, "mv", "train.js", name);
    git(root, "commit", "-qm", "rename");
    const result = cli(root, withValue("--train", name));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Baseline/);
  });

  it("plan and config files may live anywhere: given by absolute path", () => {
    const root = fakeProject();
    const dir = mkdtempSync(join(tmpdir(), "ar-team-"));
    writeFileSync(join(dir, "plan.jsonl"), `${JSON.stringify({ description: "DROPOUT 0.1 -> 0.2", category: "training", edits: [{ search: "const DROPOUT = 0.1;", replace: "const DROPOUT = 0.2;" }] })}\n`);
    writeFileSync(join(dir, "team.json"), JSON.stringify({ proposer: "plan", plan: join(dir, "plan.jsonl"), maxIterations: 1 }));
    const result = cli(root, [...without("--max-iterations"), "--config", join(dir, "team.json")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/DROPOUT 0\.1 -> 0\.2/);
  });

  it("the ending says the checkout was not touched only when its tracked files are as they were", () => {
    const root = fakeProject();
    // Unconfined (--sandbox off), the run appends to the checkout's own training script.
    writeFileSync(join(root, "train.js"), `${readFileSync(join(root, "train.js"), "utf8")}require("node:fs").appendFileSync(${JSON.stringify(join(root, "train.js"))}, "// a run was here\\n");\n`);
    git(root, "commit", "-qam", "a script that writes to the checkout");
    const result = cli(root, [...GOOD, "--sandbox", "off", "--tag", "leaky"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain("was not touched");
    expect(result.stdout).toContain(`Your checkout ${root} changed while the session ran (M train.js): not by the loop`);
    const clean = fakeProject();
    expect(cli(clean, GOOD).stdout).toContain(`(your checkout ${clean} was not touched but for these reports)`);
  });

  it("a plan's step written on the code the step before it left runs (one worker: nothing proposed ahead of it)", () => {
    const root = fakeProject();
    // Each step better than the one before (the fixture's best learning rate is 0.04), so each is kept.
    const step = (from: string, to: string) => JSON.stringify({ description: `LR ${from} -> ${to}`, category: "optimizer", edits: [{ search: `const LEARNING_RATE = ${from};`, replace: `const LEARNING_RATE = ${to};` }] });
    writeFileSync(join(root, ".git", "plan.jsonl"), `${step("0.01", "0.02")}\n${step("0.02", "0.04")}\n`);
    const result = cli(root, [...without("--max-iterations"), "--proposer", "plan", "--plan", join(root, ".git", "plan.jsonl"), "--keep-rule", "any", "--baseline-runs", "1", "--tag", "chained"]);
    expect(result.code, result.stderr).toBe(0);
    // Once proposed ahead, the second step was checked against the baseline, where "DROPOUT = 0.2" is not, and refused.
    expect(result.stdout).not.toMatch(/not run/);
    expect(result.stdout).toMatch(/2 keep .*LR 0\.02 -> 0\.04/);
    expect(git(root, "show", "autoresearch/chained:train.js")).toContain("const LEARNING_RATE = 0.04;");
    expect(result.stdout).toContain("the plan proposer has nothing more to propose");
  });
});
