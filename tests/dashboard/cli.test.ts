import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, cli } from "../helpers/cli.js";
import { fakeProject } from "../helpers/repo.js";
import { removeDir } from "../helpers/session-fixture.js";

const RUN = ["run", "--train", "train.js", "--readonly", "prepare.js", "--command", "node train.js", "--budget", "5s", "--metric", "val_loss", "--direction", "min", "--proposer", "builtin", "--max-iterations", "1", "--yes"];

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

function project(): string {
  const root = fakeProject();
  dirs.push(root);
  return root;
}

function eventTypes(path: string): string[] {
  return readFileSync(path, "utf8").trimEnd().split("\n").map((l) => (JSON.parse(l) as { type: string }).type);
}

describe("autoresearch dashboard (the built CLI)", () => {
  it("refuses bad input with exit 2 and the fix", () => {
    const root = project();
    const port = cli(root, ["dashboard", "--port", "http"]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("invalid --port");
    const token = cli(root, ["dashboard", "--token", "short"]);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain("at least 16 characters");
    const none = cli(root, ["dashboard", "--port", "0"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no autoresearch session");
    expect(none.stderr).toContain("run --dashboard");
  });

  it("a session persists its event stream in events.jsonl; a new session's stream starts clean and the old one stays with its records", () => {
    const root = project();
    expect(cli(root, [...RUN, "--tag", "one"]).code).toBe(0);
    const first = eventTypes(join(root, ".git/autoresearch/one/records/events.jsonl"));
    expect(first[0]).toBe("session-start");
    expect(first).toContain("run-start");
    expect(first).toContain("run-metric");
    expect(first.filter((t) => t === "experiment")).toHaveLength(2);
    expect(first.at(-1)).toBe("session-end");

    expect(cli(root, [...RUN, "--tag", "two"], {}).code, "second session").toBe(0);
    expect(eventTypes(join(root, ".git/autoresearch/one/records/events.jsonl"))).toEqual(first);
    const second = readFileSync(join(root, ".git/autoresearch/two/records/events.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    // The warning about the previous session's results is said once the new session has started (it
    // is only true then), and lands in the new session's stream.
    const started = second.findIndex((e) => e.type === "session-start");
    const moved = second.findIndex((e) => e.type === "warning" && String(e.message).includes("one/records"));
    expect(moved).toBeGreaterThan(started);
    expect(second.find((e) => e.type === "session-start")).toMatchObject({ session: { tag: "two" } });
    expect(second.filter((e) => e.type === "session-start")).toHaveLength(1);
  });

  it("bound beyond loopback, prints a URL with a generated token and refuses requests without it; Ctrl-C stops it", async () => {
    const root = project();
    expect(cli(root, [...RUN, "--tag", "tok"]).code).toBe(0);
    const child = spawn(process.execPath, [BIN, "dashboard", "--host", "0.0.0.0", "--port", "0"], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        const found = /Dashboard: (\S+)/.exec(out)?.[1];
        if (found && out.includes("Ctrl-C to stop")) resolve(found);
      });
      child.on("close", (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const exit = new Promise<number | null>((resolve) => child.on("close", resolve));
    const parsed = new URL(url);
    expect(parsed.searchParams.get("token")).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(out).toContain("every request needs this token");
    const bare = `${parsed.origin}/api/session`;
    expect((await fetch(bare)).status).toBe(401);
    const ok = await fetch(`${bare}?token=${parsed.searchParams.get("token")}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { experiments: unknown[] }).experiments).toHaveLength(2);
    child.kill("SIGINT");
    expect(await exit).toBe(0);
  });
});
