import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { redactUrl } from "../../src/config/redact.js";
import { BIN } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";

interface Received {
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A webhook receiver on loopback, answering `status` to every POST. */
async function webhook(status = 200): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => (data += c.toString()));
    req.on("end", () => {
      received.push({ path: req.url ?? "", contentType: req.headers["content-type"], body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(status).end(status === 200 ? "ok" : "no");
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/s3cr3t-token`, received };
}

/** The CLI run asynchronously, so this process's webhook server can answer it. */
function runCli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const step = (description: string, search: string, replace: string) => JSON.stringify({ description, category: "training", edits: [{ search, replace }] });

describe("--notify", () => {
  it("posts a new best, a crash streak and the end as JSON with a Slack-compatible text; the URL never shows", async () => {
    const hook = await webhook();
    const root = fakeProject();
    const plan = [
      step("LEARNING_RATE 0.01 -> 0.04", "const LEARNING_RATE = 0.01;", "const LEARNING_RATE = 0.04;"),
      step("crash 1", "const DROPOUT = 0.1;", 'throw new Error("one");'),
      step("crash 2", "const DROPOUT = 0.1;", 'throw new Error("two");'),
      step("crash 3", "const DROPOUT = 0.1;", 'throw new Error("three");'),
    ];
    const planPath = join(root, "..", `plan-${Date.now()}.jsonl`);
    writeFileSync(planPath, `${plan.join("\n")}\n`);
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min"];
    args.push("--proposer", "plan", "--plan", planPath, "--max-iterations", "4", "--notify", hook.url, "--yes");
    const result = await runCli(root, args);
    expect(result.code, result.stderr).toBe(0);
    const events = hook.received.map((r) => r.body.event);
    expect(events).toEqual(["new-best", "crash-streak", "session-end"]);
    for (const r of hook.received) {
      expect(r.contentType).toBe("application/json");
      expect(r.path).toBe("/services/T0/B0/s3cr3t-token");
      expect(typeof r.body.text).toBe("string");
    }
    expect(hook.received[0]?.body.text).toMatch(/new best val_loss \d\.\d{6}, -\d\.\d{6} vs the previous best, -\d+\.\d{2}% vs baseline — #1 LEARNING_RATE 0\.01 -> 0\.04/);
    expect(hook.received[1]?.body.text).toMatch(/3 crashes in a row, the last #4 crash 3: exit code 1/);
    expect(hook.received[2]?.body.text).toMatch(/ended \(reached max iterations \(4\)\): 4 experiments, best val_loss/);
    // Shown redacted: the config table, and never the secret path part anywhere the user reads.
    expect(result.stdout).toContain(`| Notify `);
    expect(result.stdout).toContain(redactUrl(hook.url));
    expect(result.stdout + result.stderr).not.toContain("s3cr3t-token");
    expect(readFileSync(join(root, "autoresearch-summary.md"), "utf8")).not.toContain("s3cr3t-token");
  }, 120_000);

  it("--json and events.jsonl carry the URL redacted", async () => {
    const hook = await webhook();
    const root = fakeProject();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "0", "--notify", hook.url, "--json", "--yes"];
    const result = await runCli(root, args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"notify":"http://127.0.0.1');
    expect(result.stdout).not.toContain("s3cr3t-token");
    expect(hook.received.map((r) => r.body.event)).toEqual(["session-end"]);
  }, 120_000);

  it("a webhook that fails gives one warning and the session goes on", async () => {
    const hook = await webhook(500);
    const root = fakeProject();
    const args = ["run", "--train", "train.js", "--readonly", "prepare.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--max-iterations", "2", "--notify", hook.url, "--yes"];
    const result = await runCli(root, args);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/--notify http:\/\/127\.0\.0\.1:\d+\/services\/…: HTTP 500/g)).toHaveLength(1);
    expect(hook.received.length).toBeGreaterThan(0);
  }, 120_000);

  it("refuses a URL that is not http(s) (exit 2)", async () => {
    const root = fakeProject();
    const result = await runCli(root, ["run", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--train", "train.js", "--notify", "ftp://x/y", "--yes"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--notify/);
  });
});
