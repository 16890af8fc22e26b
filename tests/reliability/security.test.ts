import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isSecretName, isSecretValue, sanitizeEnv } from "../../src/runner/run-env.js";
import type { ExperimentRecord } from "../../src/types.js";
import { cli, repoSnapshot } from "../helpers/cli.js";
import { createRepo, FAKE_PREPARE, FAKE_TRAIN, fakeProject, git, recordPath } from "../helpers/repo.js";
import { checkInvariants, hashes, readJsonl } from "./helpers.js";

const BASE = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--yes"];

const SECRETS = {
  ANTHROPIC_API_KEY: "sk-ant-secret",
  OPENAI_API_KEY: "sk-openai-secret",
  OPENAI_BASE_URL: "https://gateway.example/v1",
  GITHUB_TOKEN: "ghp_secret",
  GH_TOKEN: "gho_secret",
  HF_TOKEN: "hf_secret",
  AWS_SECRET_ACCESS_KEY: "aws-secret",
  AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
  AWS_SESSION_TOKEN: "aws-session",
  NPM_TOKEN: "npm-secret",
  DB_PASSWORD: "hunter2",
  SSH_AUTH_SOCK: "/tmp/agent.sock",
  MY_SERVICE_APIKEY: "joined-key",
  STRIPE_KEY: "sk_live_x",
  LLM_GATEWAY_CRED: "named-by-api-key-env",
  // Credentials inside values, under names that say nothing of secrets.
  REDIS_URL: "redis://default:s3cr3t-pw@cache.internal:6379/0",
  HTTPS_PROXY: "http://ada:proxy-pw@proxy.internal:3128",
  STORAGE_CONNECTION_STRING: "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5;EndpointSuffix=core.windows.net",
  ANALYTICS_SINK: "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=c2FzLWtleQ==",
  SERVICE_JWT: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl",
  UPSTREAM_CLAIMS: "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJlMg",
  WEB_SESSION_ID: "s%3Aabc123.sig",
  AUTORESEARCH_EXPERIMENT: "stale-from-a-parent-session",
};
const KEPT = { DATA_URL: "https://data.example/shards/", PUBLIC_MIRROR: "https://user@mirror.example/x", TOKENIZERS_PARALLELISM: "false", GIT_AUTHOR_NAME: "Ada", CUDA_VISIBLE_DEVICES: "0", KEYBOARD_LAYOUT_HINT: "us", WANDB_API_KEY: "passed-on-purpose" };

describe("security: the run's environment", () => {
  it("holds no secret of the orchestrator, except those passed with --pass-env", () => {
    const root = fakeProject();
    const dump = join(mkdtempSync(join(tmpdir(), "ar-env-")), "env.json");
    // The baseline writes its whole environment out of the repo, then prints its metric.
    writeFileSync(join(root, "dump-env.js"), `require("node:fs").writeFileSync(process.env.AR_DUMP, JSON.stringify(process.env));\n`);
    git(root, "add", "dump-env.js");
    git(root, "commit", "-qm", "dump");
    // The run writes what it got outside its working tree (the sandbox would refuse that; tests/sandbox/ covers it).
    const args = [...BASE, "--command", "node dump-env.js && node train.js", "--max-iterations", "0", "--pass-env", "WANDB_API_KEY", "--api-key-env", "LLM_GATEWAY_CRED", "--sandbox", "off"];
    const result = cli(root, args, { ...SECRETS, ...KEPT, AR_DUMP: dump });
    expect(result.code, result.stderr).toBe(0);
    const env = JSON.parse(readFileSync(dump, "utf8")) as Record<string, string>;
    for (const name of Object.keys(SECRETS)) if (name !== "AUTORESEARCH_EXPERIMENT") expect(env[name], name).toBeUndefined();
    for (const [name, value] of Object.entries(SECRETS)) expect(Object.values(env), name).not.toContain(value);
    expect(env).toMatchObject(KEPT);
    expect(env.AUTORESEARCH_EXPERIMENT).toBe("0");
    expect(env.AUTORESEARCH_TIME_BUDGET).toBe("5");
    expect(env.AUTORESEARCH_RUN_ID).toMatch(/^[0-9a-f-]{36}$/);
    for (const name of ["AUTORESEARCH_DEVICE", "AUTORESEARCH_PLATFORM", "AUTORESEARCH_COMPILE", "AUTORESEARCH_AMP_DTYPE", "AUTORESEARCH_BATCH_SCALE"]) expect(env[name], name).toBeDefined();
    expect(env.PATH).toBe(process.env.PATH);
    // The choice is kept for resume.
    expect(JSON.parse(readFileSync(recordPath(root, "session.json"), "utf8")).config.passEnv).toEqual(["WANDB_API_KEY"]);
  });

  it("classifies names by whole parts, so ordinary variables stay", () => {
    for (const name of ["OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN", "GITHUB_TOKEN", "HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "SSH_AUTH_SOCK", "SLACK_WEBHOOK", "MY_APIKEY", "gitlab-token", "PGPASSWORD", "MYSQL_PWD"]) {
      expect(isSecretName(name), name).toBe(true);
    }
    for (const name of ["PATH", "HOME", "PWD", "TOKENIZERS_PARALLELISM", "GIT_AUTHOR_NAME", "CUDA_VISIBLE_DEVICES", "PYTHONPATH", "OMP_NUM_THREADS", "KEYMAP", "AUTHOR", "LANG"]) {
      expect(isSecretName(name), name).toBe(false);
    }
    expect(sanitizeEnv({ A_TOKEN: "x", B: "y", AUTORESEARCH_X: "z" }, ["A_TOKEN"])).toEqual({ A_TOKEN: "x", B: "y" });
    expect(sanitizeEnv({ MY_LLM: "x", B: "y" }, [], ["MY_LLM"])).toEqual({ B: "y" });
    expect(sanitizeEnv({ DATABASE_MIRROR: "postgres://ro:pw@db/x", B: "y" }, ["DATABASE_MIRROR"])).toEqual({ DATABASE_MIRROR: "postgres://ro:pw@db/x", B: "y" });
  });

  it("recognises credentials by value: URLs with passwords, connection-string keys, JWTs", () => {
    for (const value of ["postgresql://app:pw@db:5432/x", "mongodb+srv://u:p@cluster/db", "AccountName=a;AccountKey=k", "Server=x;Password=p;", "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.sig"]) {
      expect(isSecretValue(value), value).toBe(true);
    }
    for (const value of ["https://example.com/a:b", "ssh://git@github.com/x", "/usr/bin:/bin", "a=b;c=d", "eyJ not a token"]) {
      expect(isSecretValue(value), value).toBe(false);
    }
  });
});

/** Descriptions a model could return: tabs, newlines, pipes, markdown, shell syntax, escapes. */
const HOSTILE = [
  "tab\there | pipe | and\nnewline\r\n# Heading\n```\ncode\n```",
  "$(touch pwned) and `touch pwned2`; echo owned > pwned3 #",
  "\u001b[31mred\u001b[0m \u0007bell | a | b | c |",
  `${"long ".repeat(400)}end`,
];

describe("security: what a proposal can reach", () => {
  it("hostile descriptions cannot break results.tsv, the commit subject or the summary, nor run anything", () => {
    const root = fakeProject();
    const plan = HOSTILE.map((description, i) => JSON.stringify({ description, category: "other", edits: [{ search: "const DROPOUT = 0.1;", replace: `const DROPOUT = 0.1${i + 1};` }] }));
    writeFileSync(join(root, "plan.jsonl"), `${plan.join("\n")}\n`);
    const base = git(root, "rev-parse", "HEAD");
    const guarded = hashes(root, ["prepare.js"]);
    const result = cli(root, [...BASE, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "hostile"]);
    expect(result.code, result.stderr).toBe(0);
    const records = checkInvariants(root, { base, tag: "hostile", guarded, allowUntracked: ["plan.jsonl"] });
    expect(records).toHaveLength(HOSTILE.length + 1);
    expect(records.slice(1).map((r) => r.description)).toEqual(HOSTILE); // kept verbatim in the ledger
    const lines = readFileSync(join(root, "results.tsv"), "utf8").split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines).toHaveLength(HOSTILE.length + 3);
    for (const line of lines.slice(0, -1)) {
      expect(line.split("\t")).toHaveLength(5);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: checking that none is left
      expect(line).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    }
    // One-line commit subjects; nothing from a description was ever run.
    for (const r of records.slice(1)) expect(git(root, "log", "-1", "--format=%B", r.commit).trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(root, "pwned"))).toBe(false);
    expect(existsSync(join(root, "pwned2"))).toBe(false);
    expect(existsSync(join(root, "pwned3"))).toBe(false);

    // The summary's tables keep their shape: every row has as many cells as its header.
    const summary = cli(root, ["report", "--no-chart"]);
    expect(summary.code, summary.stderr).toBe(0);
    const cells = (row: string) => row.replace(/\\\|/g, "").split("|").length;
    let header: number | null = null;
    for (const line of summary.stdout.split("\n")) {
      if (!line.startsWith("|")) {
        header = null;
        continue;
      }
      header ??= cells(line);
      expect(cells(line), line).toBe(header);
    }
  });

  it("edits only ever apply to the training script: a plan aimed at the read-only script is refused", () => {
    const root = fakeProject();
    const steps = [
      { description: "rewrite the evaluation", category: "other", edits: [{ search: "export const TIME_BUDGET = 300;", replace: "export const TIME_BUDGET = 1;" }] },
      { description: "LR up", category: "optimizer", edits: [{ search: "const LEARNING_RATE = 0.01;", replace: "const LEARNING_RATE = 0.02;" }] },
    ];
    writeFileSync(join(root, "plan.jsonl"), `${steps.map((s) => JSON.stringify(s)).join("\n")}\n`);
    const result = cli(root, [...BASE, "--proposer", "plan", "--plan", "plan.jsonl", "--tag", "aim"]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(root, "prepare.js"), "utf8")).toBe(FAKE_PREPARE);
    expect(readFileSync(recordPath(root, "rejected.jsonl"), "utf8")).toMatch(/TIME_BUDGET = 300;.*was not found/);
    expect(readJsonl<ExperimentRecord>(recordPath(root, "experiments.jsonl")).map((r) => r.description)).toEqual(["Baseline — no modifications", "LR up"]);

    // A plan line naming another file is not a valid plan at all.
    writeFileSync(join(root, "plan2.jsonl"), `${JSON.stringify({ description: "x", file: "prepare.js", edits: [{ search: "a", replace: "b" }] })}\n`);
    const bad = cli(root, [...BASE, "--proposer", "plan", "--plan", "plan2.jsonl", "--tag", "aim2"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/plan2\.jsonl:1/);
  });

  const outside: { name: string; setup?: (root: string) => void; args: string[]; message: RegExp }[] = [
    { name: "a training script outside the repo", args: ["--train", "../train.js"], message: /outside the repository/ },
    { name: "a results file outside the repo", args: ["--results", "../results.tsv"], message: /outside the repository/ },
    { name: "a read-only script outside the repo", args: ["--readonly", "/etc/hostname"], message: /outside the repository/ },
    {
      name: "a training script that is a symbolic link out of the repo",
      setup: (root) => {
        const target = join(mkdtempSync(join(tmpdir(), "ar-outside-")), "train.js");
        writeFileSync(target, FAKE_TRAIN);
        symlinkSync(target, join(root, "link.js"));
        git(root, "add", "link.js");
        git(root, "commit", "-qm", "link");
      },
      args: ["--train", "link.js"],
      message: /symbolic link or (resolves|leads) outside/,
    },
    {
      name: "a results file that is a symbolic link",
      setup: (root) => {
        const target = join(mkdtempSync(join(tmpdir(), "ar-outside-")), "results.tsv");
        writeFileSync(target, "");
        symlinkSync(target, join(root, "results.tsv"));
      },
      args: [],
      message: /results\.tsv"? is a symbolic link/,
    },
  ];
  for (const c of outside) {
    it(`refuses ${c.name} (exit 2, nothing changed)`, () => {
      const root = createRepo({ "train.js": FAKE_TRAIN, "prepare.js": FAKE_PREPARE });
      c.setup?.(root);
      const before = repoSnapshot(root);
      const args = [...BASE];
      for (let i = 0; i < c.args.length; i += 2) {
        const at = args.indexOf(c.args[i] as string);
        if (at >= 0) args.splice(at, 2, c.args[i] as string, c.args[i + 1] as string);
        else args.push(c.args[i] as string, c.args[i + 1] as string);
      }
      const result = cli(root, args);
      expect(result.code, result.stdout).toBe(2);
      expect(result.stderr).toMatch(c.message);
      expect(repoSnapshot(root)).toBe(before);
    });
  }
});
