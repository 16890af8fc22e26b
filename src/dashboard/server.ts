import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { extname, join } from "node:path";
import { createGzip, gzipSync } from "node:zlib";
import { RuntimeFailure, UsageError } from "../errors.js";
import { packagePath } from "../package-root.js";
import { generateToken, hasToken, isLoopbackHost, loopbackHostHeader, tokenCookieName } from "./access.js";
import { experimentDetail, logPath, readTail, sessionSnapshot } from "./read.js";
import { findSession, listSessions } from "./sessions.js";
import { SessionStream } from "./stream.js";

export interface DashboardOptions {
  /** The repo whose sessions are served. */
  root: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Required (generated when absent) unless `host` is loopback. */
  token?: string | null;
  /** The built page (index.html, app.js, app.css). */
  assetsDir?: string;
  /** How often the live feed looks at the files. */
  pollMs?: number;
  /** Backpressure on each live feed (see StreamOptions); the defaults suit browsers. */
  feedLimits?: { maxBufferedBytes?: number; stallMs?: number };
}

export interface Dashboard {
  /** The address to open (with the token when one is required). */
  url: string;
  port: number;
  token: string | null;
  /** The live feeds open now and the bytes queued for them (what backpressure bounds). */
  feeds(): { open: number; bufferedBytes: number; dropped: number };
  close(): Promise<void>;
}

/**
 * Nothing is loaded from anywhere but this server; no inline script or style may run, so text
 * from a model or a training script that reached the page as markup still could not execute.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "X-Frame-Options": "DENY",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

const DEFAULT_LOG_TAIL = 64 * 1024;

/** Where `dashboard` and `--dashboard` listen unless told otherwise. */
export const DEFAULT_DASHBOARD_PORT = 8765;

/** The page as built by `npm run build`: the package's dist/web (from the built code and from src/ alike). */
export function defaultAssetsDir(): string {
  return packagePath("dist", "web");
}

/** Serves the dashboard until `close()`. Read-only: it only ever answers GET and HEAD. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const loopback = isLoopbackHost(options.host);
  const token = options.token ?? (loopback ? null : generateToken());
  const assetsDir = options.assetsDir ?? defaultAssetsDir();
  const assets = loadAssets(assetsDir);
  const pollMs = options.pollMs ?? 250;
  const sockets = new Set<Socket>();
  const streams = new Set<SessionStream>();
  let dropped = 0;
  let cookieName = "";

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", `internal error: ${(error as Error).message}\n`);
      else res.destroy();
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "read-only: only GET and HEAD\n", { Allow: "GET, HEAD" });
      return;
    }
    if (token !== null) {
      if (!hasToken(req, url, cookieName, token)) {
        send(res, 401, "text/plain; charset=utf-8", "token required: open the URL the dashboard printed (it carries ?token=)\n");
        return;
      }
    } else if (!loopbackHostHeader(req)) {
      send(res, 403, "text/plain; charset=utf-8", "open the dashboard through localhost or 127.0.0.1\n");
      return;
    }
    const path = url.pathname;
    if (path === "/" || path === "/index.html") {
      const extra: Record<string, string> = {};
      if (token !== null && url.searchParams.get("token")) {
        // Remembered for the page's own requests (scripts, styles, the live feed).
        extra["Set-Cookie"] = `${cookieName}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
      }
      const page = assets.get("index.html");
      if (!page) throw new RuntimeFailure("the dashboard page is not built");
      send(res, 200, TYPES[".html"] as string, page, { ...extra, "Cache-Control": "no-store" });
      return;
    }
    if (path.startsWith("/assets/")) {
      const name = path.slice("/assets/".length);
      const body = assets.get(name);
      if (!body || name === "index.html") return notFound(res);
      sendMaybeGzip(req, res, 200, TYPES[extname(name)] ?? "application/octet-stream", body, { "Cache-Control": "no-cache" });
      return;
    }
    if (path === "/api/sessions") return json(req, res, { sessions: listSessions(options.root).map(({ dir: _d, paths: _p, lock: _l, reportDir: _r, ...rest }) => rest) });
    const session = url.searchParams.get("s") ?? "current";
    const location = findSession(options.root, session);
    if (path.startsWith("/api/") && !location) return notFound(res, `no session ${JSON.stringify(session)}`);
    if (!location) return notFound(res);
    if (path === "/api/session") return json(req, res, sessionSnapshot(location));
    if (path === "/api/experiment") {
      const id = experimentId(url);
      const detail = id === null ? null : experimentDetail(location, id);
      if (!detail) return notFound(res, "no such experiment");
      return json(req, res, detail);
    }
    if (path === "/api/log") {
      const id = experimentId(url);
      if (id === null) return notFound(res, "no such experiment");
      const file = logPath(location, id);
      if (!existsSync(file)) return notFound(res, "no log for this experiment");
      const tail = url.searchParams.get("tail");
      if (tail === "all") {
        // Full log on demand, streamed (it can be large).
        const headers = { ...SECURITY_HEADERS, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };
        const gzip = acceptsGzip(req);
        res.writeHead(200, gzip ? { ...headers, "Content-Encoding": "gzip" } : headers);
        if (req.method === "HEAD") return void res.end();
        const stream = createReadStream(file);
        if (gzip) stream.pipe(createGzip({ level: 1 })).pipe(res);
        else stream.pipe(res);
        return;
      }
      const bytes = tail && /^\d+$/.test(tail) ? Math.min(Number(tail), 16 * 1024 * 1024) : DEFAULT_LOG_TAIL;
      const { text, size, truncated } = readTail(file, bytes);
      sendMaybeGzip(req, res, 200, "text/plain; charset=utf-8", Buffer.from(text), {
        "Cache-Control": "no-store",
        "X-Log-Size": String(size),
        "X-Log-Truncated": truncated ? "1" : "0",
      });
      return;
    }
    if (path === "/api/events") {
      const from = Number(url.searchParams.get("from") ?? "0");
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      const stream = new SessionStream(location, res, Number.isFinite(from) ? from : 0, { pollMs, ...options.feedLimits });
      streams.add(stream);
      res.on("close", () => {
        streams.delete(stream);
        if (stream.wasDropped) dropped++;
      });
      stream.start();
      return;
    }
    notFound(res);
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") reject(new UsageError(`port ${options.port} on ${options.host} is in use`, "Pick another with --port, or --port 0 for any free port."));
      else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") reject(new UsageError(`cannot listen on ${options.host}: not an address of this machine`, "Use --host 127.0.0.1 (default), 0.0.0.0 or one of this machine's addresses."));
      else if (error.code === "EACCES") reject(new UsageError(`not allowed to listen on port ${options.port}`, "Use a port above 1023, e.g. --port 8765."));
      else reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(options.port, options.host);
  });
  const port = (server.address() as AddressInfo).port;
  cookieName = tokenCookieName(port);
  const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
  const urlHost = options.host === "0.0.0.0" || options.host === "::" ? "127.0.0.1" : shownHost;
  const url = `http://${urlHost}:${port}/${token === null ? "" : `?token=${encodeURIComponent(token)}`}`;

  return {
    url,
    port,
    token,
    feeds: () => ({ open: streams.size, bufferedBytes: [...streams].reduce((sum, s) => sum + s.bufferedBytes, 0), dropped }),
    close: () => closeServer(server, sockets, streams),
  };
}

function closeServer(server: Server, sockets: Set<Socket>, streams: Set<SessionStream>): Promise<void> {
  // The last events (a session's end, when `run --dashboard` stops) still reach the pages.
  for (const stream of streams) stream.finish();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Live feeds never end by themselves.
    for (const socket of sockets) socket.destroy();
  });
}

function loadAssets(dir: string): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  for (const name of names) if (TYPES[extname(name)]) assets.set(name, readFileSync(join(dir, name)));
  if (!assets.has("index.html") || !assets.has("app.js")) {
    throw new RuntimeFailure(`the dashboard page is not built (no index.html/app.js in ${dir})`, "Run `npm run build` in the autoresearch checkout (it bundles the page into dist/web).");
  }
  return assets;
}

function experimentId(url: URL): number | null {
  const id = url.searchParams.get("id");
  return id !== null && /^\d{1,9}$/.test(id) ? Number(id) : null;
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Content-Length": Buffer.byteLength(body), ...extra });
  res.end(res.req?.method === "HEAD" ? undefined : body);
}

function sendMaybeGzip(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  if (body.length > 1024 && acceptsGzip(req)) {
    send(res, status, type, gzipSync(body, { level: 1 }), { ...extra, "Content-Encoding": "gzip", Vary: "Accept-Encoding" });
  } else {
    send(res, status, type, body, { ...extra, Vary: "Accept-Encoding" });
  }
}

function json(req: IncomingMessage, res: ServerResponse, value: unknown): void {
  sendMaybeGzip(req, res, 200, "application/json; charset=utf-8", Buffer.from(JSON.stringify(value)), { "Cache-Control": "no-store" });
}

function notFound(res: ServerResponse, message = "not found"): void {
  send(res, 404, "text/plain; charset=utf-8", `${message}\n`);
}
