import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isLoopbackHost } from "../../src/dashboard/access.js";
import { emptyLive, foldLive, type StampedEvent } from "../../src/dashboard/live.js";
import { pooledNoise } from "../../src/dashboard/model.js";
import { openCommand } from "../../src/dashboard/open.js";
import { type Dashboard, startDashboard } from "../../src/dashboard/server.js";
import { listSessions } from "../../src/dashboard/sessions.js";
import { legacyPaths } from "../../src/ledger/paths.js";
import { eventsFileSink } from "../../src/ledger/events-file.js";
import { buildRecords, fakeSha, REALISTIC_SPECS, removeDir, sessionInfo, tempDir, writeSessionFiles } from "../helpers/session-fixture.js";

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTP GET on loopback (no gzip unless asked), the way a browser or curl would. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens the live feed and collects its events until `until` says enough. */
function collectEvents(port: number, path: string, until: (events: { name: string; data: string }[]) => boolean, timeoutMs = 10_000): Promise<{ name: string; data: string }[]> {
  return new Promise((resolve, reject) => {
    const events: { name: string; data: string }[] = [];
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(events)}`));
    }, timeoutMs);
    const req = request({ host: "127.0.0.1", port, path }, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name && data !== undefined) events.push({ name, data });
          end = buffer.indexOf("\n\n");
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve(events);
      });
    });
    req.on("error", () => undefined);
    req.end();
  });
}

/** Reads the live feed as a page does, keeping only each `session` event's message, until `last`. */
function readMessages(port: number, last: string, timeoutMs = 60_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const req = request({ host: "127.0.0.1", port, path: "/api/events?from=0" }, (res) => {
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        let start = 0;
        while (end !== -1) {
          const data = /^data: (.*)$/m.exec(buffer.slice(start, end))?.[1];
          if (data !== undefined) messages.push(String(JSON.parse(data).message));
          start = end + 2;
          end = buffer.indexOf("\n\n", start);
        }
        buffer = buffer.slice(start);
        if (messages.at(-1) === last) {
          clearTimeout(timer);
          req.destroy();
          resolve(messages);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out after ${messages.length} events, the last ${messages.at(-1)}`));
    }, timeoutMs);
    req.on("error", () => undefined);
    req.end();
  });
}

let dirs: string[] = [];
let servers: Dashboard[] = [];
afterEach(async () => {
  for (const s of servers) await s.close();
  for (const d of dirs) removeDir(d);
  servers = [];
  dirs = [];
});

function sessionRoot(): string {
  const root = tempDir("ar-dash-");
  dirs.push(root);
  const records = buildRecords(1.0, REALISTIC_SPECS);
  writeSessionFiles(root, records, sessionInfo());
  const paths = legacyPaths(root);
  mkdirSync(paths.runs, { recursive: true });
  mkdirSync(paths.patches, { recursive: true });
  writeFileSync(paths.runLog(3), `${Array.from({ length: 5000 }, (_, i) => `step ${i} loss ${(5 - i / 1000).toFixed(3)}`).join("\n")}\nval_bpb: 0.982100\n`);
  writeFileSync(paths.patch(3), "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-ACT = 'gelu'\n+ACT = 'relu2'\n");
  return root;
}

async function serve(root: string, options: { host?: string; token?: string | null } = {}): Promise<Dashboard> {
  const dashboard = await startDashboard({ root, host: options.host ?? "127.0.0.1", port: 0, token: options.token, pollMs: 50 });
  servers.push(dashboard);
  return dashboard;
}

describe("dashboard server (real HTTP on loopback)", () => {
  it("serves the bundled page with a CSP and the session's data; only reads", async () => {
    const root = sessionRoot();
    const before = readFileSync(legacyPaths(root).experiments, "utf8");
    const d = await serve(root);
    expect(d.token).toBeNull();
    expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);

    const page = await get(d.port, "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(page.body).toContain('src="/assets/app.js"');
    const script = await get(d.port, "/assets/app.js");
    expect(script.status).toBe(200);
    expect(script.headers["content-type"]).toContain("text/javascript");
    // Bundled: nothing is fetched from anywhere else.
    expect(script.body).not.toMatch(/https?:\/\/(cdn|unpkg|fonts)\./);

    const snap = JSON.parse((await get(d.port, "/api/session")).body);
    expect(snap.experiments).toHaveLength(REALISTIC_SPECS.length + 1);
    expect(snap.experiments[3]).toMatchObject({ id: 3, status: "keep", description: "ReLU² activation instead of GELU" });
    expect(snap.info.config.metric).toBe("val_bpb");
    expect(snap.info.guardedHashes).toBeUndefined();
    expect(snap.loop.state).toBe("stopped");

    const detail = JSON.parse((await get(d.port, "/api/experiment?s=current&id=3")).body);
    expect(detail.record.commit).toBe(snap.experiments[3].commit);
    expect(detail.patch).toContain("+ACT = 'relu2'");

    const tail = await get(d.port, "/api/log?id=3&tail=1000");
    expect(tail.headers["x-log-truncated"]).toBe("1");
    expect(tail.body.length).toBeLessThanOrEqual(1000);
    expect(tail.body.endsWith("val_bpb: 0.982100\n")).toBe(true);
    expect(tail.body.startsWith("step ")).toBe(true); // cut at a whole line
    const full = await get(d.port, "/api/log?id=3&tail=all");
    expect(full.body).toBe(readFileSync(legacyPaths(root).runLog(3), "utf8"));

    expect((await get(d.port, "/api/experiment?id=999")).status).toBe(404);
    expect((await get(d.port, "/api/log?id=1")).status).toBe(404);
    expect((await get(d.port, "/api/session?s=../../etc")).status).toBe(404);
    expect((await get(d.port, "/assets/../../package.json")).status).toBe(404);
    for (const method of ["POST", "PUT", "DELETE"]) expect((await get(d.port, "/api/session", {}, method)).status).toBe(405);
    expect(readFileSync(legacyPaths(root).experiments, "utf8")).toBe(before);
  });

  it("on loopback, refuses a request whose Host is not a loopback name (DNS rebinding)", async () => {
    const d = await serve(sessionRoot());
    expect((await get(d.port, "/api/session", { Host: "evil.example:80" })).status).toBe(403);
    expect((await get(d.port, "/api/session", { Host: `localhost:${d.port}` })).status).toBe(200);
  });

  it("bound beyond loopback: generates a token and refuses every request without it (401)", async () => {
    const d = await serve(sessionRoot(), { host: "0.0.0.0" });
    expect(d.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(d.url).toContain(`?token=${d.token}`);
    for (const path of ["/", "/assets/app.js", "/api/sessions", "/api/session", "/api/log?id=3", "/api/events", "/nothing"]) {
      const reply = await get(d.port, path);
      expect(reply.status, path).toBe(401);
      expect(reply.body).not.toContain("val_bpb");
    }
    expect((await get(d.port, "/api/session?token=wrong-token-wrong-token")).status).toBe(401);
    expect((await get(d.port, "/api/session", { Authorization: "Bearer nope" })).status).toBe(401);

    const page = await get(d.port, `/?token=${d.token}`);
    expect(page.status).toBe(200);
    const cookie = String(page.headers["set-cookie"]).split(";")[0] as string;
    expect(String(page.headers["set-cookie"])).toContain("HttpOnly");
    expect((await get(d.port, "/assets/app.js", { Cookie: cookie })).status).toBe(200);
    expect((await get(d.port, "/api/session", { Authorization: `Bearer ${d.token}` })).status).toBe(200);
  });

  it("uses the token it is given, on any host", async () => {
    const token = "a-token-of-my-own-choosing";
    const d = await serve(sessionRoot(), { host: "0.0.0.0", token });
    expect(d.token).toBe(token);
    expect((await get(d.port, "/api/sessions")).status).toBe(401);
    expect((await get(d.port, `/api/sessions?token=${token}`)).status).toBe(200);
  });

  it("lists the current and archived sessions, and serves each", async () => {
    const root = sessionRoot();
    const archived = join(legacyPaths(root).dir, "archive", "feb1");
    mkdirSync(archived, { recursive: true });
    writeFileSync(join(archived, "session.json"), JSON.stringify(sessionInfo({ tag: "feb1", branch: "autoresearch/feb1" })));
    writeFileSync(join(archived, "experiments.jsonl"), `${buildRecords(2.0, REALISTIC_SPECS.slice(0, 3)).map((r) => JSON.stringify(r)).join("\n")}\n`);
    expect(listSessions(root).map((s) => [s.id, s.tag, s.archived])).toEqual([
      ["current", "mar8", false],
      ["archive/feb1", "feb1", true],
    ]);
    const d = await serve(root);
    const list = JSON.parse((await get(d.port, "/api/sessions")).body);
    expect(list.sessions.map((s: { id: string }) => s.id)).toEqual(["current", "archive/feb1"]);
    expect(JSON.stringify(list)).not.toContain(root); // no paths of this machine
    const old = JSON.parse((await get(d.port, "/api/session?s=archive%2Ffeb1")).body);
    expect(old.archived).toBe(true);
    expect(old.experiments).toHaveLength(4);
    expect(old.experiments[0].metric).toBe(2.0);
  });

  it("streams new events and the running experiment's log as they are written, and says when the records were replaced", async () => {
    const root = sessionRoot();
    const paths = legacyPaths(root);
    const events = join(paths.dir, "events.jsonl");
    const line = (e: StampedEvent) => `${JSON.stringify(e)}\n`;
    writeFileSync(events, line({ type: "proposal-start", iteration: 21, at: new Date().toISOString() }));
    const d = await serve(root);
    const snap = JSON.parse((await get(d.port, "/api/session")).body);
    expect(snap.live.proposal).toMatchObject({ iteration: 21, description: null });

    const record = { ...buildRecords(1.0, REALISTIC_SPECS)[1], id: 21, description: "a new one" };
    const feed = collectEvents(d.port, `/api/events?from=${snap.eventsOffset}`, (ev) => ev.some((e) => e.name === "log" && e.data.includes("second line")));
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(events, line({ type: "run-start", iteration: 21, description: "a new one", commit: fakeSha("x"), budgetSec: 5, timeoutSec: 10 }));
    writeFileSync(paths.runLog(21), "first line\n");
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(paths.runLog(21), "second line\n");
    appendFileSync(events, line({ type: "experiment", record: record as never, best: record as never, baseline: record as never }));
    const got = await feed;
    const names = got.map((e) => e.name);
    expect(names).toContain("session");
    const sessionEvents = got.filter((e) => e.name === "session").map((e) => JSON.parse(e.data).type);
    expect(sessionEvents.slice(0, 1)).toEqual(["run-start"]);
    const logText = got.filter((e) => e.name === "log").map((e) => JSON.parse(e.data).text).join("");
    expect(logText).toBe("first line\nsecond line\n");
    // Nothing from before the snapshot's offset is sent again.
    expect(sessionEvents).not.toContain("proposal-start");

    // A new session archives the records: the page is told to start over.
    const snap2 = JSON.parse((await get(d.port, "/api/session")).body);
    const reset = collectEvents(d.port, `/api/events?from=${snap2.eventsOffset}`, (ev) => ev.some((e) => e.name === "reset"));
    await new Promise((r) => setTimeout(r, 200));
    renameSync(events, `${events}.old`);
    writeFileSync(events, line({ type: "session-start", session: sessionInfo(), resumed: false }));
    expect((await reset).map((e) => e.name)).toContain("reset");
    // A page that connects with an offset from the old records is told too.
    const late = await collectEvents(d.port, `/api/events?from=${snap2.eventsOffset}`, (ev) => ev.some((e) => e.name === "reset"));
    expect(late.map((e) => e.name)).toEqual(["reset"]);
  });

  it("closing (run --dashboard at the session's end) still delivers what was written since the last poll", async () => {
    const root = sessionRoot();
    const events = join(legacyPaths(root).dir, "events.jsonl");
    writeFileSync(events, "");
    // Polls so rarely that only the final flush can deliver the event.
    const d = await startDashboard({ root, host: "127.0.0.1", port: 0, pollMs: 60_000 });
    const feed = collectEvents(d.port, "/api/events?from=0", () => false);
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(events, `${JSON.stringify({ type: "session-end", reason: "max iterations", experiments: 3, best: null, baseline: null })}\n`);
    await d.close();
    const got = await feed;
    expect(got.map((e) => [e.name, JSON.parse(e.data).type])).toEqual([["session", "session-end"]]);
  });

  it("drops a page that does not read its feed, keeps what is queued for it bounded, and still feeds the others", async () => {
    const root = sessionRoot();
    const events = join(legacyPaths(root).dir, "events.jsonl");
    writeFileSync(events, "");
    const bound = 256 * 1024;
    const d = await startDashboard({ root, host: "127.0.0.1", port: 0, pollMs: 20, feedLimits: { maxBufferedBytes: bound, stallMs: 1000 } });
    servers.push(d);
    // Real sockets that ask for the feed and then never read from it.
    const slow: { socket: Socket; closed: Promise<void>; received: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = connect(d.port, "127.0.0.1");
      const entry = { socket, closed: new Promise<void>((resolve) => socket.on("close", () => resolve())), received: 0 };
      socket.on("error", () => undefined);
      socket.write("GET /api/events?from=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      socket.pause();
      slow.push(entry);
    }
    const fast = readMessages(d.port, "last");
    await new Promise((r) => setTimeout(r, 200));
    expect(d.feeds().open).toBe(4);

    // Write far more than the sockets' kernel buffers hold, until the slow pages are dropped.
    const pad = "x".repeat(4000);
    let written = 0;
    let maxBuffered = 0;
    for (let batch = 0; batch < 64 && d.feeds().dropped < 3; batch++) {
      appendFileSync(events, Array.from({ length: 256 }, (_, i) => `${JSON.stringify({ type: "warning", message: `w${written + i}`, pad })}\n`).join(""));
      written += 256;
      await new Promise((r) => setTimeout(r, 60));
      maxBuffered = Math.max(maxBuffered, d.feeds().bufferedBytes);
    }
    for (let i = 0; i < 50 && d.feeds().dropped < 3; i++) await new Promise((r) => setTimeout(r, 100));
    appendFileSync(events, `${JSON.stringify({ type: "warning", message: "last" })}\n`);
    const messages = await fast;

    expect(d.feeds()).toMatchObject({ open: 1, dropped: 3 });
    // The slow pages, reading at last, find their feed closed after a part of the stream.
    for (const s of slow) {
      s.socket.on("data", (chunk: Buffer) => (s.received += chunk.length));
      s.socket.resume();
      await s.closed;
      expect(s.received).toBeLessThan((written * 4000) / 2);
    }
    // Per page: the bound plus what one poll reads (at most 1 MiB of events); never the whole stream.
    expect(written * 4000).toBeGreaterThan(8 * 1024 * 1024);
    expect(maxBuffered).toBeLessThan(3 * (bound + 1024 * 1024 + 64 * 1024));
    // The page that reads got every event, in order.
    expect(messages.length).toBe(written + 1);
    expect(messages).toEqual([...Array.from({ length: written }, (_, i) => `w${i}`), "last"]);
  }, 90_000);

  it("refuses a port in use with a usage error naming the fix", async () => {
    const d = await serve(sessionRoot());
    await expect(startDashboard({ root: sessionRoot(), host: "127.0.0.1", port: d.port })).rejects.toMatchObject({ exitCode: 2, hint: expect.stringContaining("--port") });
  });
});

describe("events.jsonl reporter", () => {
  it("holds events back until the session starts, then appends each with its time", () => {
    const root = tempDir("ar-events-");
    dirs.push(root);
    const dir = join(root, "records");
    let t = 0;
    const sink = eventsFileSink(() => dir, () => new Date(Date.UTC(2025, 0, 1, 0, 0, t++)));
    sink({ type: "warning", message: "moved the previous session" });
    expect(() => readFileSync(join(dir, "events.jsonl"))).toThrow();
    sink({ type: "session-start", session: sessionInfo(), resumed: false });
    sink({ type: "run-metric", iteration: 1, value: 0.5 });
    sink.close();
    const lines = readFileSync(join(dir, "events.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(["warning", "session-start", "run-metric"]);
    expect(lines.map((l) => l.at)).toEqual(["2025-01-01T00:00:00.000Z", "2025-01-01T00:00:01.000Z", "2025-01-01T00:00:02.000Z"]);
  });
});

describe("live state folded from the event stream", () => {
  it("tracks the proposal in progress, the runs in flight with their last metric, and the end", () => {
    const events: StampedEvent[] = [
      { type: "proposal-start", iteration: 1, at: "t0" },
      { type: "proposal", iteration: 1, proposal: { description: "LR up", category: "optimizer", direction: "learning rate" }, at: "t1" },
      { type: "run-start", iteration: 1, description: "LR up", commit: "abc", budgetSec: 5, timeoutSec: 10, at: "t2" },
      { type: "run-metric", iteration: 1, value: 0.9 },
    ];
    const live = events.reduce(foldLive, emptyLive());
    expect(live.proposal).toBeNull();
    expect(live.direction).toBe("learning rate");
    expect(live.runs).toEqual([
      { iteration: 1, description: "LR up", commit: "abc", budgetSec: 5, timeoutSec: 10, since: "t2", lastMetric: 0.9, worker: null, device: null, host: null, pendingJob: null },
    ]);
    const record = buildRecords(1, [{ description: "LR up", metric: 0.9 }])[1] as never;
    const after = foldLive(live, { type: "experiment", record, best: record, baseline: record });
    expect(after.runs).toEqual([]);
    const ended = foldLive(foldLive(after, { type: "proposal-start", iteration: 2 }), { type: "session-end", reason: "max iterations", experiments: 1, best: null, baseline: null, at: "t9" });
    expect(ended).toMatchObject({ proposal: null, runs: [], ended: { reason: "max iterations", at: "t9" } });
  });

  it("with workers: each run keeps its worker and device, a queued job until output arrives, and the pipeline", () => {
    const events: StampedEvent[] = [
      { type: "run-start", iteration: 3, description: "a", commit: "c3", budgetSec: 5, timeoutSec: 10, worker: 0, device: "0", at: "t1" },
      { type: "run-start", iteration: 4, description: "b", commit: "c4", budgetSec: 5, timeoutSec: 10, worker: 1, device: "1", host: "gpu2", at: "t2" },
      { type: "run-pending", iteration: 4, worker: 1, job: "77" },
      { type: "pipeline", proposing: 1, ready: 0, running: 2, workers: 2 },
    ];
    const live = events.reduce(foldLive, emptyLive());
    expect(live.runs.map((r) => [r.iteration, r.worker, r.device, r.host, r.pendingJob])).toEqual([
      [3, 0, "0", null, null],
      [4, 1, "1", "gpu2", "77"],
    ]);
    expect(live.pipeline).toEqual({ proposing: 1, ready: 0, running: 2, workers: 2 });
    const running = foldLive(live, { type: "run-metric", iteration: 4, value: 0.5, worker: 1 });
    expect(running.runs[1]).toMatchObject({ pendingJob: null, lastMetric: 0.5 });
    const record = { ...(buildRecords(1, [{ description: "a", metric: 0.9 }])[1] as object), id: 3, worker: 0 } as never;
    expect(foldLive(running, { type: "experiment", record, best: record, baseline: record }).runs.map((r) => r.iteration)).toEqual([4]);
    expect(foldLive(running, { type: "session-end", reason: "done", experiments: 4, best: null, baseline: null }).pipeline).toBeNull();
  });

  it("pools the noise over runs of identical code only", () => {
    const records = buildRecords(1.0, [{ description: "a", metric: 0.9 }, { description: "b", metric: 0.8 }]);
    expect(pooledNoise(records)).toBeNull();
    const same = records.map((r, i) => ({ ...r, trainHash: i === 2 ? (records[1]?.trainHash as string) : r.trainHash }));
    // Runs 0.9 and 0.8 of the same code: sd = sqrt(((0.05)^2 * 2) / 1).
    expect(pooledNoise(same)).toBeCloseTo(Math.sqrt(0.005), 10);
  });
});

describe("helpers that differ by platform", () => {
  it("opens the browser with each platform's own opener", () => {
    expect(openCommand("http://127.0.0.1:1/?token=a&b", "darwin")).toEqual({ file: "open", args: ["http://127.0.0.1:1/?token=a&b"] });
    expect(openCommand("http://127.0.0.1:1/?token=a&b", "linux")).toEqual({ file: "xdg-open", args: ["http://127.0.0.1:1/?token=a&b"] });
    expect(openCommand("http://127.0.0.1:1/?token=a&b", "win32")).toEqual({ file: "cmd", args: ["/c", "start", '""', "http://127.0.0.1:1/?token=a^&b"] });
  });

  it("knows which hosts are loopback", () => {
    for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.1.2.3"]) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "example.com", "127.0.0.1.evil.com"]) expect(isLoopbackHost(host), host).toBe(false);
  });
});
