import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { type AgentProposal, createAgentProposer, describeChange, guessCategory, presetCommand, quoteArg } from "../../src/proposers/agent/index.js";
import { ProposalFailed } from "../../src/proposers/errors.js";
import { makeContext, PREPARE_TEXT, TRAIN_TEXT } from "../helpers/fake-providers.js";

/** A node script that behaves like a coding-agent CLI; what it does depends on its first argument. */
const FAKE_AGENT = String.raw`
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
const mode = process.argv[2];
const stdin = readFileSync(0, "utf8");
const promptFile = readFileSync(process.env.AUTORESEARCH_PROMPT_FILE, "utf8");
if (stdin !== promptFile) { console.error("stdin and prompt file differ"); process.exit(9); }
if (!stdin.includes("LR = 0.01")) { console.error("prompt lacks the training script"); process.exit(8); }
const train = process.env.AUTORESEARCH_TRAIN_FILE;
const edit = (from, to) => writeFileSync(train, readFileSync(train, "utf8").replace(from, to));
const propose = (obj) => writeFileSync(process.env.AUTORESEARCH_PROPOSAL_FILE, JSON.stringify(obj));
console.log("fake agent: " + mode);
switch (mode) {
  case "edit":
    edit("LR = 0.01", "LR = 0.02");
    propose({ description: "Double the learning rate", category: "hyperparameters", direction: "learning rate", rationale: "loss still falling" });
    break;
  case "rogue":
    edit("DEPTH = 4", "DEPTH = 6");
    writeFileSync("prepare.py", "def load_data():\n    return []  # cheating\n");
    writeFileSync("stray.txt", "notes\n");
    mkdirSync("notes/deep", { recursive: true });
    writeFileSync("notes/deep/idea.md", "idea\n");
    rmSync("README.md");
    writeFileSync("staged.py", "x = 1\n");
    execFileSync("git", ["add", "staged.py"]);
    appendFileSync("results.tsv", "rogue\trow\n");
    writeFileSync(".autoresearch/agent-was-here", "hi\n");
    writeFileSync("ignored.log", "build output\n");
    propose({ description: "Deeper model", category: "architecture" });
    break;
  case "commit":
    edit("BATCH_SIZE = 64", "BATCH_SIZE = 128");
    writeFileSync("extra.py", "y = 2\n");
    execFileSync("git", ["add", "-A", "train.py", "extra.py"]);
    execFileSync("git", ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "agent commit"]);
    break;
  case "hang": {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    const escaped = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore", detached: true });
    escaped.unref();
    writeFileSync(process.env.PID_FILE, JSON.stringify([process.pid, child.pid, escaped.pid]));
    edit("LR = 0.01", "LR = 0.5");
    setInterval(() => {}, 1000);
    process.on("SIGTERM", () => {}); // ignores SIGTERM: only SIGKILL ends it
    break;
  }
  case "fail":
    edit("LR = 0.01", "LR = 0.03");
    writeFileSync("stray.txt", "x");
    console.error("Error: model overloaded, giving up");
    process.exit(3);
  case "noproposal":
    edit("LR = 0.01", "LR = 0.005");
    edit("BATCH_SIZE = 64", "BATCH_SIZE = 32");
    break;
  case "nochange":
    break;
  case "delete":
    rmSync(train);
    propose({ description: "delete everything" });
    break;
}
`;

let toolsDir: string;
let agentScript: string;
let repo: string;

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8" });
}

function agentCommand(mode: string): string {
  return `${quoteArg(process.execPath)} ${quoteArg(agentScript)} ${mode}`;
}

/** Whether a process exists and is not a zombie waiting for its (re)parent to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).charAt(0) !== "Z";
  } catch {
    return process.platform !== "linux";
  }
}

beforeAll(() => {
  toolsDir = mkdtempSync(join(tmpdir(), "fake-agent-"));
  agentScript = join(toolsDir, "agent.mjs");
  writeFileSync(agentScript, FAKE_AGENT);
});

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), "agent-repo-"));
  git("init", "-q", "-b", "autoresearch/test");
  writeFileSync(join(repo, "train.py"), TRAIN_TEXT);
  writeFileSync(join(repo, "prepare.py"), PREPARE_TEXT);
  writeFileSync(join(repo, "README.md"), "# Tiny project\n");
  writeFileSync(join(repo, ".gitignore"), "*.log\n");
  git("add", "-A");
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init");
  // Session files: untracked, not ignored, and protected.
  mkdirSync(join(repo, ".autoresearch"));
  writeFileSync(join(repo, ".autoresearch", "experiments.jsonl"), "{}\n");
  writeFileSync(join(repo, "results.tsv"), "commit\tval_bpb\tmem_gb\tstatus\tdescription\n");
});

afterEach(() => {
  rmSync(repo, { recursive: true, force: true });
});

function proposer(mode: string, extra: Partial<Parameters<typeof createAgentProposer>[0]> = {}) {
  return createAgentProposer({
    command: agentCommand(mode),
    cwd: repo,
    trainPath: "train.py",
    protectedPaths: [".autoresearch", "results.tsv"],
    timeoutSec: 30,
    ...extra,
  });
}

describe("agent proposer", () => {
  it("returns the new training script and restores it to HEAD", async () => {
    const p = (await proposer("edit").propose(makeContext())) as AgentProposal;
    expect(p.newText).toBe(TRAIN_TEXT.replace("LR = 0.01", "LR = 0.02"));
    expect(p).toMatchObject({ description: "Double the learning rate", category: "hyperparameters", direction: "learning rate", rationale: "loss still falling", violations: [] });
    expect(p.edits).toBeUndefined();
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
    expect(git("status", "--porcelain")).toBe("?? .autoresearch/\n?? results.tsv\n");
    // The agent's output is kept for audit, the proposal file is consumed.
    expect(readFileSync(join(repo, ".autoresearch", "agent", "agent-1.log"), "utf8")).toContain("fake agent: edit");
    expect(existsSync(join(repo, ".autoresearch", "agent", "proposal.json"))).toBe(false);
  });

  it("restores files it should not have touched and lists the violations, leaving protected paths alone", async () => {
    const p = (await proposer("rogue").propose(makeContext())) as AgentProposal;
    expect(p.newText).toContain("DEPTH = 6");
    expect(p.category).toBe("architecture");
    expect(p.violations).toEqual([
      "deleted README.md (restored)",
      "created notes/deep/idea.md (removed)",
      "modified prepare.py (restored)",
      "created staged.py (removed)",
      "created stray.txt (removed)",
    ]);
    expect(p.rationale).toContain("Restored after the agent: deleted README.md (restored)");
    expect(readFileSync(join(repo, "prepare.py"), "utf8")).toBe(PREPARE_TEXT);
    expect(readFileSync(join(repo, "README.md"), "utf8")).toBe("# Tiny project\n");
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
    expect(existsSync(join(repo, "stray.txt"))).toBe(false);
    expect(existsSync(join(repo, "notes"))).toBe(false);
    expect(existsSync(join(repo, "staged.py"))).toBe(false);
    // Protected and ignored paths are never touched by the restore.
    expect(readFileSync(join(repo, "results.tsv"), "utf8")).toContain("rogue\trow");
    expect(readFileSync(join(repo, ".autoresearch", "agent-was-here"), "utf8")).toBe("hi\n");
    expect(readFileSync(join(repo, ".autoresearch", "experiments.jsonl"), "utf8")).toBe("{}\n");
    expect(existsSync(join(repo, "ignored.log"))).toBe(true);
    expect(git("status", "--porcelain")).toBe("?? .autoresearch/\n?? results.tsv\n");
    expect(git("diff", "--cached", "--name-only")).toBe("");
  });

  it("undoes commits the agent made and keeps only the training script change", async () => {
    const head = git("rev-parse", "HEAD");
    const p = (await proposer("commit").propose(makeContext())) as AgentProposal;
    expect(git("rev-parse", "HEAD")).toBe(head);
    expect(p.newText).toContain("BATCH_SIZE = 128");
    expect(p.violations).toEqual(["made commits (undone; the branch is back where it was)", "created extra.py (removed)"]);
    expect(git("status", "--porcelain")).toBe("?? .autoresearch/\n?? results.tsv\n");
  });

  it("kills a hung agent's whole tree at the timeout", async () => {
    const pidFile = join(toolsDir, `pids-${Date.now()}.json`);
    const started = Date.now();
    const error = await proposer("hang", { timeoutSec: 3, killGraceSec: 0.5, env: { ...process.env, PID_FILE: pidFile } })
      .propose(makeContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProposalFailed);
    expect((error as ProposalFailed).reason).toBe("agent-timeout");
    expect((error as ProposalFailed).message).toContain("did not finish within 3s and was killed");
    expect(Date.now() - started).toBeLessThan(15_000);
    const pids = JSON.parse(readFileSync(pidFile, "utf8")) as number[];
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(alive(pid), `pid ${pid} still alive`).toBe(false);
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
  });

  it("stops the agent and restores the tree when the session is interrupted", async () => {
    const pidFile = join(toolsDir, `pids-abort-${Date.now()}.json`);
    const controller = new AbortController();
    const pending = proposer("hang", { killGraceSec: 0.3, env: { ...process.env, PID_FILE: pidFile } }).propose(makeContext(), controller.signal);
    const waitFor = async () => {
      for (let i = 0; i < 600 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await waitFor();
    controller.abort(new Error("stopped by signal"));
    await expect(pending).rejects.toThrow("stopped by signal");
    for (const pid of JSON.parse(readFileSync(pidFile, "utf8")) as number[]) expect(alive(pid)).toBe(false);
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
  });

  it("fails the attempt when the agent exits non-zero, and cleans up", async () => {
    const error = (await proposer("fail")
      .propose(makeContext())
      .catch((e: unknown) => e)) as ProposalFailed;
    expect(error).toBeInstanceOf(ProposalFailed);
    expect(error.reason).toBe("agent-exit");
    expect(error.message).toContain("exited with code 3");
    expect(error.message).toContain("model overloaded");
    expect(error.violations).toEqual(["created stray.txt (removed)"]);
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
    expect(existsSync(join(repo, "stray.txt"))).toBe(false);
  });

  it("derives the description and category from the diff when there is no proposal file", async () => {
    const p = (await proposer("noproposal").propose(makeContext())) as AgentProposal;
    expect(p.description).toBe("LR 0.01 -> 0.005, BATCH_SIZE 64 -> 32");
    expect(p.category).toBe("hyperparameters");
    expect(p.rationale).toBeUndefined();
  });

  it("fails the attempt when the training script is unchanged or deleted", async () => {
    await expect(proposer("nochange").propose(makeContext())).rejects.toMatchObject({ reason: "agent-no-change" });
    await expect(proposer("delete").propose(makeContext())).rejects.toMatchObject({ reason: "agent-deleted-train" });
    expect(readFileSync(join(repo, "train.py"), "utf8")).toBe(TRAIN_TEXT);
  });

  it("works from a subdirectory of the repository", async () => {
    const sub = join(repo, "exp");
    mkdirSync(sub);
    writeFileSync(join(sub, "train.py"), TRAIN_TEXT);
    writeFileSync(join(sub, "prepare.py"), PREPARE_TEXT);
    writeFileSync(join(sub, "README.md"), "# sub\n");
    git("add", "exp");
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "sub");
    mkdirSync(join(sub, ".autoresearch"));
    const p = (await createAgentProposer({
      command: agentCommand("rogue"),
      cwd: sub,
      trainPath: "train.py",
      protectedPaths: [".autoresearch", "results.tsv"],
    }).propose(makeContext())) as AgentProposal;
    expect(p.newText).toContain("DEPTH = 6");
    expect(p.violations).toEqual([
      "deleted exp/README.md (restored)",
      "created exp/notes/deep/idea.md (removed)",
      "modified exp/prepare.py (restored)",
      "created exp/staged.py (removed)",
      "created exp/stray.txt (removed)",
    ]);
    expect(readFileSync(join(sub, "train.py"), "utf8")).toBe(TRAIN_TEXT);
    expect(readFileSync(join(sub, "prepare.py"), "utf8")).toBe(PREPARE_TEXT);
    expect(existsSync(join(sub, ".autoresearch", "agent-was-here"))).toBe(true);
    expect(existsSync(join(sub, "results.tsv"))).toBe(true);
  });

  it("rejects bad settings at creation", () => {
    const base = { cwd: repo, trainPath: "train.py", protectedPaths: [] };
    expect(() => createAgentProposer(base)).toThrow(UsageError);
    expect(() => createAgentProposer({ ...base, command: "  " })).toThrow(/needs --agent/);
    expect(() => createAgentProposer({ ...base, preset: "cursor" as never })).toThrow(/unknown agent preset/);
    expect(() => createAgentProposer({ ...base, command: "claude", trainPath: "../train.py" })).toThrow(/inside the repository/);
    expect(createAgentProposer({ ...base, command: "claude" }).name).toBe("agent");
  });
});

describe("agent presets", () => {
  const input = {
    trainPath: "train.py",
    promptFile: "/repo/.autoresearch/agent/prompt.md",
    proposalFile: "/repo/.autoresearch/agent/proposal.json",
    scratchDir: "/repo/.autoresearch/agent",
    platform: "linux" as const,
  };
  const pointer =
    "'Follow the instructions given on standard input; they are also in the file /repo/.autoresearch/agent/prompt.md. Edit only train.py, then write your proposal JSON to /repo/.autoresearch/agent/proposal.json.'";

  it("builds each CLI's non-interactive command line", () => {
    expect(presetCommand("claude", input)).toBe("claude -p --tools Read,Edit,Write,Glob,Grep --permission-mode acceptEdits --output-format stream-json --verbose");
    expect(presetCommand("codex", input)).toBe("codex exec --sandbox workspace-write --json -");
    expect(presetCommand("aider", input)).toBe(
      "aider --yes-always --no-git --no-detect-urls --disable-playwright --no-suggest-shell-commands --no-auto-lint --no-check-update --no-show-model-warnings --no-analytics --no-pretty --no-stream --map-tokens 0 --chat-history-file /repo/.autoresearch/agent/aider.chat.history.md --input-history-file /repo/.autoresearch/agent/aider.input.history --message-file /repo/.autoresearch/agent/prompt.md train.py",
    );
    expect(presetCommand("gemini", input)).toBe(`gemini --approval-mode auto_edit --output-format json -p ${pointer}`);
    expect(presetCommand("opencode", input)).toBe(`opencode run --format json --print-logs --log-level ERROR ${pointer}`);
  });

  it("quotes paths for the platform's shell", () => {
    const spaced = { ...input, trainPath: "my dir/train.py", promptFile: "C:\\Users\\me\\repo\\.autoresearch\\agent\\prompt.md", scratchDir: "C:\\Users\\me\\repo\\.autoresearch\\agent" };
    expect(presetCommand("aider", { ...spaced, platform: "win32" })).toContain(
      '--chat-history-file C:\\Users\\me\\repo\\.autoresearch\\agent\\aider.chat.history.md --input-history-file C:\\Users\\me\\repo\\.autoresearch\\agent\\aider.input.history --message-file C:\\Users\\me\\repo\\.autoresearch\\agent\\prompt.md "my dir/train.py"',
    );
    expect(presetCommand("aider", { ...input, trainPath: "it's train.py" })).toMatch(/ 'it'\\''s train\.py'$/);
    expect(quoteArg('say "hi"', "win32")).toBe('"say ""hi"""');
    expect(quoteArg("plain/path.py", "linux")).toBe("plain/path.py");
  });

  it("runs a preset by name through the shell (a stand-in binary on PATH)", async () => {
    const bin = mkdtempSync(join(tmpdir(), "fake-bin-"));
    writeFileSync(join(bin, "codex"), `#!/bin/sh\nexec ${quoteArg(process.execPath)} ${quoteArg(agentScript)} edit\n`, { mode: 0o755 });
    const p = (await createAgentProposer({
      command: "codex",
      cwd: repo,
      trainPath: "train.py",
      protectedPaths: [".autoresearch", "results.tsv"],
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    }).propose(makeContext())) as AgentProposal;
    expect(p.description).toBe("Double the learning rate");
    expect(readFileSync(join(repo, ".autoresearch", "agent", "agent-1.log"), "utf8")).toContain("fake agent: edit");
  });
});

describe("describing a diff", () => {
  it("names changed assignments, else counts lines", () => {
    expect(describeChange("train.py", TRAIN_TEXT, TRAIN_TEXT.replace("LR = 0.01", "LR = 0.02"))).toBe("LR 0.01 -> 0.02");
    expect(describeChange("src/train.py", TRAIN_TEXT, TRAIN_TEXT.replace("    data = load_data()\n", "    import torch\n    torch.manual_seed(0)\n    data = load_data()[:50]\n"))).toBe(
      "data load_data() -> load_data()[:50] (+3 -1 lines in train.py)",
    );
    expect(describeChange("train.py", TRAIN_TEXT, TRAIN_TEXT.replace("main()\n", "if __name__ == '__main__':\n    main()\n"))).toBe("edit train.py: +2 -1 lines");
    expect(describeChange("train.py", TRAIN_TEXT, TRAIN_TEXT.replace('ACTIVATION = "gelu"', 'ACTIVATION = "relu2"  # squared'))).toBe('ACTIVATION "gelu" -> "relu2"');
  });

  it("guesses a category", () => {
    expect(guessCategory(TRAIN_TEXT, TRAIN_TEXT.replace("LR = 0.01", "LR = 0.02"))).toBe("hyperparameters");
    expect(guessCategory("opt = AdamW(lr=1)\n", "opt = Lion(lr=1)\n")).toBe("optimizer");
    expect(guessCategory("x = F.gelu(h)\n", "x = F.relu(h).square()\n")).toBe("architecture");
    expect(guessCategory("for step in range(n):\n", "for step in range(n // 2):\n")).toBe("training");
  });
});
